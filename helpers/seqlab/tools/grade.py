"""``seqlab grade SUBMISSIONS --lesson L``: autograde a whole class with nbgrader.

SUBMISSIONS is a folder or a zip of notebooks, one per student, named by student id
(``alice.ipynb``).  Each is copied into nbgrader's layout inside the grading workspace (the
originals are never touched) and autograded in its own ``nbgrader`` process, so one broken
submission (invalid JSON, a crash, an infinite loop, deleted cells) costs only that student.
The workspace then holds ``grades.csv`` (one row per student, one column per graded cell) and
nbgrader's HTML feedback per student.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from seqlab.tools.course import Course, ToolError, run_nbgrader

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
#: Limit for one student's whole autograde process (per-cell limits are tighter).
SUBMISSION_TIMEOUT = 900


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


@dataclass(frozen=True)
class Workspace:
    """nbgrader's grading folders and gradebook, all under one directory."""

    root: Path

    def nbgrader_args(self) -> list[str]:
        return [
            f"--CourseDirectory.release_directory={self.root / 'release'}",
            f"--CourseDirectory.submitted_directory={self.root / 'submitted'}",
            f"--CourseDirectory.autograded_directory={self.root / 'autograded'}",
            f"--CourseDirectory.feedback_directory={self.root / 'feedback'}",
            f"--CourseDirectory.db_url={self.db_url}",
        ]

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def submitted(self, student: str, lesson: str) -> Path:
        return self.root / "submitted" / student / lesson / f"{lesson}.ipynb"

    def autograded(self, student: str, lesson: str) -> Path:
        return self.root / "autograded" / student / lesson / f"{lesson}.ipynb"

    def feedback(self, student: str, lesson: str) -> Path:
        return self.root / "feedback" / student / lesson / f"{lesson}.html"

    def grades_csv(self, lesson: str) -> Path:
        return self.root / lesson / "grades.csv"


def collect_submissions(source: Path, scratch: Path) -> list[tuple[str, Path]]:
    """(student id, notebook path) pairs from a folder or a zip; names that are not ids are refused.

    Raises:
        ToolError: ``source`` does not exist, holds no notebooks, or two files map to one student.
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
                (scratch / name).write_bytes(archive.read(member))
        folder = scratch
    else:
        folder = source
    pairs = []
    for path in sorted(folder.glob("*.ipynb")):
        student = path.stem
        if not STUDENT_ID.match(student):
            raise ToolError(
                f"{path.name}: the file name must be the student id (letters, digits, '_', '.', '@', '-')"
            )
        pairs.append((student, path))
    if not pairs:
        raise ToolError(f"{source}: no .ipynb submissions found (expected one notebook per student, named by id)")
    return pairs


def _last_error_line(log: str) -> str:
    lines = [line for line in log.splitlines() if "[ERROR]" in line or "Error" in line]
    return (lines[-1] if lines else log.strip().splitlines()[-1] if log.strip() else "no output")[:300]


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


def _read_scores(course: Course, workspace: Workspace, lesson: str, results: list[StudentResult]) -> list[str]:
    """Fill ``scores`` from the gradebook; return the grade cell ids with their max points."""
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
    return [f"{name} ({max_score:g})" for name, max_score in cells]


def _write_csv(path: Path, lesson: str, columns: list[str], results: list[StudentResult], max_total: float) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", "lesson", "status", "score", "max_score", *columns, "notes", "submission"])
    for r in results:
        writer.writerow(
            [r.student, lesson, r.status, f"{r.total:g}", f"{max_total:g}", *(f"{v:g}" for v in r.scores.values()),
             "; ".join(r.notes), r.source]
        )
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temporary, path)


def grade(
    course: Course,
    submissions: Path,
    lesson: str,
    workspace: Workspace,
    cell_timeout: int = 60,
    log=print,
) -> tuple[Path, list[StudentResult]]:
    """Autograde every submission; write grades CSV and feedback.  Returns (csv path, results)."""
    course.resolve_lessons([lesson])
    workspace.root.mkdir(parents=True, exist_ok=True)
    prepared = run_nbgrader(course, ["generate_assignment", lesson, "--force", *workspace.nbgrader_args()])
    if prepared.returncode != 0:
        raise ToolError(f"nbgrader could not prepare {lesson} for grading:\n{prepared.stdout}{prepared.stderr}")

    results: list[StudentResult] = []
    with tempfile.TemporaryDirectory(prefix="seqlab-submissions-") as scratch:
        pairs = collect_submissions(submissions, Path(scratch))
        log(f"Grading {len(pairs)} submission(s) of {lesson} in {workspace.root}")
        for student, path in pairs:
            result = StudentResult(student, str(path.name))
            results.append(result)
            for step in ("submitted", "autograded", "feedback"):
                shutil.rmtree(workspace.root / step / student / lesson, ignore_errors=True)
            try:
                nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
            except Exception as error:
                result.status = "invalid"
                result.notes.append(f"not a valid notebook: {str(error).splitlines()[0][:200]}")
                log(f"  {student}: {path.name} is not a valid notebook: scored 0")
                continue
            target = workspace.submitted(student, lesson)
            target.parent.mkdir(parents=True)
            shutil.copyfile(path, target)
            args = ["autograde", lesson, "--student", student, "--force", f"--Execute.timeout={cell_timeout}"]
            try:
                done = run_nbgrader(course, args + workspace.nbgrader_args(), timeout=SUBMISSION_TIMEOUT)
            except subprocess.TimeoutExpired:
                result.status = "error"
                result.notes.append(f"autograding took longer than {SUBMISSION_TIMEOUT} s and was stopped")
                continue
            if done.returncode != 0 or not workspace.autograded(student, lesson).is_file():
                result.status = "error"
                result.notes.append("autograde failed: " + _last_error_line(done.stdout + done.stderr))
                continue
            result.notes += _notes_from_autograded(workspace.autograded(student, lesson))
            feedback = run_nbgrader(
                course, ["generate_feedback", lesson, "--student", student, "--force", *workspace.nbgrader_args()]
            )
            if feedback.returncode != 0:
                result.notes.append("feedback could not be generated: " + _last_error_line(feedback.stderr))

    columns = _read_scores(course, workspace, lesson, results)
    max_total = sum(float(c.rsplit("(", 1)[1].rstrip(")")) for c in columns)
    csv_path = workspace.grades_csv(lesson)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    _write_csv(csv_path, lesson, columns, results, max_total)
    for r in results:
        notes = f"  ({'; '.join(r.notes)})" if r.notes else ""
        log(f"  {r.student:<20} {r.status:<8} {r.total:g}/{max_total:g}{notes}")
    log(f"Grades: {csv_path}\nFeedback: {workspace.root / 'feedback'}/<student>/{lesson}/{lesson}.html")
    return csv_path, results
