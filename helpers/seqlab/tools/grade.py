"""``seqlab grade SUBMISSIONS --lesson L``: autograde a whole class with nbgrader.

SUBMISSIONS is a folder or a zip of notebooks, one per student, named by student id
(``alice.ipynb``).  Each is copied into nbgrader's layout inside the grading workspace (the
originals are never touched) and autograded in a worker process of its own
(:mod:`seqlab.tools.grade_worker`), so one broken
submission (invalid JSON, a crash, an infinite loop, deleted cells) costs only that student.
The workspace then holds ``grades.csv`` (one row per student, one column per graded cell) and
nbgrader's HTML feedback per student.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from seqlab.tools.course import Course, ToolError, ensure_scripts_on_path
from seqlab.tools.workspace import Workspace, nbgrader_config

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: Limit for one student's whole autograde process (per-cell limits are tighter).
SUBMISSION_TIMEOUT = int(os.environ.get("SEQLAB_SUBMISSION_TIMEOUT", "900"))


@dataclass
class StudentResult:
    """One row of grades.csv."""

    student: str
    source: str
    status: str = "graded"  # graded | invalid | error
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.scores.values())


def collect_submissions(source: Path, scratch: Path) -> list[tuple[str, Path]]:
    """(student id, notebook path) pairs from a folder or a zip; names that are not ids are refused.

    Raises:
        ToolError: ``source`` does not exist, holds no notebooks, a name is not a student id, or a zip
            holds two notebooks of the same name.
    """
    if not source.exists():
        raise ToolError(f"{source}: no such folder or zip")
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise ToolError(f"{source}: not a folder and not a zip file")
        with zipfile.ZipFile(source) as archive:
            for member in archive.infolist():
                name = Path(member.filename).name
                if member.is_dir() or not name.endswith(".ipynb") or name.startswith("."):
                    continue
                if (scratch / name).exists():
                    raise ToolError(f"{source}: {name} appears twice in the zip; one notebook per student")
                (scratch / name).write_bytes(archive.read(member))
        folder = scratch
    else:
        folder = source
    pairs = []
    for path in sorted(folder.glob("*.ipynb")):
        student = path.stem
        if not STUDENT_ID.match(student):
            raise ToolError(f"{path.name}: the file name must be the student id (letters, digits, '_', '.', '@', '-')")
        pairs.append((student, path))
    if not pairs:
        raise ToolError(f"{source}: no .ipynb submissions found (expected one notebook per student, named by id)")
    return pairs


#: Causes of a failed autograde, recognised in the worker's log, in the words an instructor needs.
DIAGNOSES = (
    ("CellTimeoutError", "a cell ran past its time limit and could not be interrupted"),
    ("DeadKernelError", "the kernel died (crash, os._exit or memory exhausted)"),
    ("UnresponsiveKernelError", "the kernel stopped responding"),
)


def _diagnose(log: str, error: str) -> str:
    for marker, meaning in DIAGNOSES:
        if marker in log or marker in error:
            return meaning
    return _last_line(error)


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no details"


def _notes_from_autograded(path: Path) -> list[str]:
    if not path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    notes = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                notes.append(f"cell {index} timed out")
    return notes


def _read_scores(workspace: Workspace, lesson: str, results: list[StudentResult]) -> list[tuple[str, float]]:
    """Fill ``scores`` from the gradebook; return (grade cell id, max points) in notebook order."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(workspace.db_url, course_id="seqmodels") as gradebook:
        assignment = gradebook.find_assignment(lesson)
        notebook = assignment.notebooks[0]
        cells = [(cell.name, cell.max_score) for cell in notebook.grade_cells]
        for result in results:
            result.scores = {name: 0.0 for name, _ in cells}
            if result.status != "graded":
                continue
            try:
                submission = gradebook.find_submission_notebook(notebook.name, lesson, result.student)
            except MissingEntry:
                result.status = "error"
                result.notes.append("no grades were recorded")
                continue
            for grade in submission.grades:
                result.scores[grade.name] = float(grade.score or 0.0)
                if grade.needs_manual_grade:
                    result.notes.append(f"{grade.name} needs manual grading")
    return [(name, float(max_score)) for name, max_score in cells]


def _write_csv(
    path: Path, lesson: str, columns: list[tuple[str, float]], results: list[StudentResult], max_total: float
) -> None:
    """One row per student, one column per graded cell (headed "grade_id (max points)"); atomic."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    headers = [f"{name} ({max_score:g})" for name, max_score in columns]
    writer.writerow(["student_id", "lesson", "status", "score", "max_score", *headers, "notes", "submission"])
    for r in results:
        writer.writerow(
            [
                r.student,
                lesson,
                r.status,
                f"{r.total:g}",
                f"{max_total:g}",
                *(f"{v:g}" for v in r.scores.values()),
                "; ".join(r.notes),
                r.source,
            ]
        )
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temporary, path)


def prepare_gradebook(course: Course, lesson: str, workspace: Workspace, cell_timeout: int) -> None:
    """Register the lesson (cells, points, hidden tests) in the workspace's gradebook.

    nbgrader needs the *source* of every test cell in its gradebook: at grading time it restores
    test cells (with their hidden tests) from there, whatever the student did to them.
    """
    from nbgrader.apps import NbGraderAPI

    ensure_scripts_on_path()
    workspace.root.mkdir(parents=True, exist_ok=True)
    api = NbGraderAPI(config=nbgrader_config(course.root, workspace, cell_timeout))
    prepared = api.generate_assignment(lesson, force=True, create=True)
    if not prepared["success"]:
        raise ToolError(f"nbgrader could not prepare {lesson} for grading:\n{prepared.get('log', '')}")


def grade_one(course: Course, lesson: str, workspace: Workspace, result: StudentResult, cell_timeout: int) -> None:
    """Autograde one copied submission in its own process and record the outcome in ``result``."""
    command = [
        sys.executable,
        "-m",
        "seqlab.tools.grade_worker",
        "--course",
        str(course.root),
        "--workspace",
        str(workspace.root),
        "--lesson",
        lesson,
        "--student",
        result.student,
        "--timeout",
        str(cell_timeout),
    ]
    try:
        # On time-out the worker is killed; its kernel exits by itself when its parent is gone
        # (ipykernel watches JPY_PARENT_PID), which tests/test_grading.py checks.
        done = subprocess.run(command, cwd=course.root, capture_output=True, text=True, timeout=SUBMISSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        result.status = "error"
        result.notes.append(f"autograding took longer than {SUBMISSION_TIMEOUT} s and was stopped")
        return
    try:
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result.status = "error"
        result.notes.append(f"the grading process failed (exit {done.returncode}): {_last_line(done.stderr)}")
        return
    if not outcome["autograde"] or not workspace.autograded(result.student, lesson).is_file():
        result.status = "error"
        log_path = workspace.log(result.student)
        log = log_path.read_text(encoding="utf-8") if log_path.is_file() else ""
        result.notes.append(f"autograde failed: {_diagnose(log, outcome['error'])} (log: {log_path})")
        return
    result.notes += _notes_from_autograded(workspace.autograded(result.student, lesson))
    if not outcome["feedback"]:
        result.notes.append(f"feedback could not be generated: {_last_line(outcome['error'])}")


def grade(
    course: Course,
    submissions: Path,
    lesson: str,
    workspace: Workspace,
    cell_timeout: int = 60,
    log: Callable[[str], None] = print,
) -> tuple[Path, list[StudentResult]]:
    """Autograde every submission; write grades.csv and feedback.  Returns (csv path, results)."""
    course.resolve_lessons([lesson])
    results: list[StudentResult] = []
    with tempfile.TemporaryDirectory(prefix="seqlab-submissions-") as scratch:
        pairs = collect_submissions(submissions, Path(scratch))  # bad input fails before any work
        prepare_gradebook(course, lesson, workspace, cell_timeout)
        log(f"Grading {len(pairs)} submission(s) of {lesson} in {workspace.root}")
        for student, path in pairs:
            result = StudentResult(student, path.name)
            results.append(result)
            for step in ("submitted", "autograded", "feedback"):
                shutil.rmtree(workspace.root / step / student / lesson, ignore_errors=True)
            try:
                nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
            except Exception as error:
                reason = str(error).splitlines()[0][:200] if str(error) else repr(error)
                result.status = "invalid"
                result.notes.append(f"not a valid notebook: {reason}")
                continue
            target = workspace.submitted(student, lesson)
            target.parent.mkdir(parents=True)
            shutil.copyfile(path, target)
            grade_one(course, lesson, workspace, result, cell_timeout)

    columns = _read_scores(workspace, lesson, results)
    max_total = sum(max_score for _, max_score in columns)
    csv_path = workspace.grades_csv(lesson)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    _write_csv(csv_path, lesson, columns, results, max_total)
    for r in results:
        notes = f"  ({'; '.join(r.notes)})" if r.notes else ""
        log(f"  {r.student:<20} {r.status:<8} {r.total:g}/{max_total:g}{notes}")
    log(f"Grades: {csv_path}\nFeedback: {workspace.feedback('<student>', lesson)}")
    return csv_path, results
