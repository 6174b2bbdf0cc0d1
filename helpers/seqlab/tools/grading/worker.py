"""Grade one student's submission in a process of its own, inside the student's own folder.

``seqlab grade`` writes a :class:`~seqlab.tools.grading.job.GradingJob` per submission and starts one of
these for it (``python -m seqlab.tools.grading.worker JOB.json``, or forked: :mod:`seqlab.tools.grading.pool`),
several at a time with ``--workers``.  The worker

1. empties the student's folder (``<workspace>/students/<lesson>/<id>/``) and puts a copy of the
   prepared template gradebook and of the submitted file there, so concurrent workers never
   share a gradebook (no SQLite lock contention) and the original file is never touched;
2. autogrades with nbgrader, its Execute step replaced by
   :class:`~seqlab.tools.grading.executor.ResilientExecute`, which starts every kernel in the
   :class:`~seqlab.tools.grading.sandbox.KernelSandbox` it is given, with the run's limits; before that, a static
   scan of the student's code cells (:mod:`seqlab.tools.grading.scan`) flags what could subvert grading, naming the
   cell: a flag and a note, never a change of points;
3. generates the feedback (hidden tests stripped: :mod:`seqlab.tools.grading.feedback`), reads the
   scores back from its gradebook, and writes ``result.json`` atomically, the last thing it does:
   a folder without it holds an unfinished attempt.

That file is the worker's only answer.  Whatever the student's code does costs only that
student: the worker outlives its kernels, and kills whatever they left running.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

import nbformat

from seqlab.tools.course import COURSE_ID, kernel_environment
from seqlab.tools.grading.executor import FLAGGED_EVENTS
from seqlab.tools.grading.feedback import configure_feedback, warm_up
from seqlab.tools.grading.job import GradingJob
from seqlab.tools.grading.limits import Limits
from seqlab.tools.grading.records import EXCHANGE_FILES, StudentResult, last_line, reset_folder, save
from seqlab.tools.grading.sandbox import KernelSandbox
from seqlab.tools.grading.workspace import Workspace, nbgrader_config

__all__ = [
    "autograde_config",
    "copy_submission",
    "generate_feedback",
    "grade",
    "main",
    "preload",
    "DIAGNOSES",
    "EVENTS_FILE",
    "GENERIC",
    "EXCEPTION_LINE",
    "diagnose",
    "cell_notes",
    "read_grades",
    "scan_notes",
]

#: Causes of a failed autograde, recognised in nbgrader's log, in the words an instructor needs.
DIAGNOSES = (
    ("CellTimeoutError", "a cell ran past its time limit and could not be interrupted"),
    ("DeadKernelError", "the kernel died (crash, os._exit or memory exhausted)"),
    ("UnresponsiveKernelError", "the kernel stopped responding"),
)
EVENTS_FILE = "events.json"


GENERIC = ("NbGraderException", "Please see the", "There was an error processing")
EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")


def diagnose(log: str, error: str) -> str:
    """The cause of a failed autograde in plain words: a known cause, else nbgrader's first specific error."""
    for marker, meaning in DIAGNOSES:
        if marker in log or marker in error:
            return meaning
    for line in (log + "\n" + (error or "")).splitlines():
        match = EXCEPTION_LINE.match(line)
        if match and not any(generic in line for generic in GENERIC):
            return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"[:300]
    return last_line(error)


def preload() -> None:
    """Import what grading needs and compile the feedback page's templates, so that workers forked from this
    process start ready."""
    import nbgrader.apps  # noqa: F401

    import seqlab.tools.grading.executor  # noqa: F401

    warm_up()


def copy_submission(source: Path, release: Path, target: Path) -> list[str]:
    """Copy the submitted notebook for nbgrader with the grader's own nbgrader metadata; return notes.

    Students can edit any metadata.  nbgrader restores the source of locked cells, but stops
    grading the whole notebook when a cell's nbgrader metadata is malformed, and is confused by
    duplicated cell ids.  Here every cell whose grade id the lesson knows gets the released
    notebook's metadata back (the first such cell; later copies lose it), other nbgrader metadata
    is dropped, and duplicated cell ids are renumbered.  The original file is only read.
    """
    nb = nbformat.read(source, as_version=4)
    released = {
        cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]
        for cell in nbformat.read(release, as_version=4).cells
        if "grade_id" in cell.metadata.get("nbgrader", {})
    }
    notes, seen = [], set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if grade_id in released and grade_id not in seen:
            seen.add(grade_id)
            cell.metadata["nbgrader"] = json.loads(json.dumps(released[grade_id]))
            continue
        del cell.metadata["nbgrader"]
        why = "a copy of an earlier cell" if grade_id in seen else "not a cell of this lesson"
        notes.append(f"cell {index}: its nbgrader metadata (grade id {grade_id!r}) was ignored: {why}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning says what the repair does: renumber duplicated ids
        nbformat.validate(nb)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return notes


def autograde_config(course: Path, own: Workspace, limits: Limits, sandbox: KernelSandbox):
    """nbgrader's configuration for this student: own gradebook and folders, resilient execution in ``sandbox``,
    safe feedback."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from seqlab.tools.grading.executor import ResilientExecute

    config = nbgrader_config(course, own, limits.timeout)
    config.Autograde.autograde_preprocessors = [
        ResilientExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    configure_feedback(config)  # what the student receives never shows a hidden test, whatever the course's
    # nbgrader_config.py says
    config.ResilientExecute.events_file = str(own.root / EVENTS_FILE)
    config.ResilientExecute.max_output_bytes = limits.output
    config.ResilientExecute.sandbox = sandbox
    config.Execute.interrupt_on_timeout = True
    return config


def cell_notes(notebook: Path, lesson: str, timeout: int) -> list[str]:
    """Notes on time-outs and memory errors in the autograded notebook, naming each cell."""
    from seqlab.tools.grading.executor import describe_cell

    if not notebook.is_file():
        return []
    nb = nbformat.read(notebook, as_version=4)
    notes = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            text = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            where = f"{lesson}.ipynb {describe_cell(index, cell)}"
            if output.get("ename") == "CellTimeoutError":
                notes.append(f"{where} timed out after {timeout} s")
            elif "MemoryError" in text or "can't allocate memory" in text or "bad_alloc" in text:
                notes.append(f"{where} ran out of memory")
    return notes


def generate_feedback(api, lesson: str, student: str) -> dict:
    """Write the student's feedback from their own gradebook and autograded notebook (nbgrader's result dict).

    The one place feedback is written: after autograding here, and again by ``seqlab grade`` when scores graded
    by hand in the formgrader arrive (:func:`seqlab.tools.grading.gradebooks.apply_manual_grades`).
    """
    return api.generate_feedback(lesson, student, force=True)


def read_grades(own: Workspace, lesson: str, student: str, result: StudentResult) -> None:
    """Scores from the student's gradebook; flag autograded cells that now need a human."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(own.db_url, course_id=COURSE_ID) as gradebook:
        notebook = gradebook.find_assignment(lesson).notebooks[0]
        written = {cell.name for cell in notebook.solution_cells}  # answers graded by hand anyway
        try:
            submission = gradebook.find_submission_notebook(notebook.name, lesson, student)
        except MissingEntry:
            result.fail("error", "no grades were recorded")
            return
        for grade in submission.grades:
            result.scores[grade.name] = float(grade.score or 0.0)
            if grade.needs_manual_grade and grade.name in written:  # an answered written question: expected
                result.notes.append(f"{grade.name} needs manual grading (written answer)")
            elif grade.needs_manual_grade:
                result.flag(f"{lesson}.ipynb [{grade.name}] needs manual grading (test cell deleted or changed)")


def scan_notes(notebook: Path) -> list[str]:
    """The static scan's findings in the student's code cells (:mod:`seqlab.tools.grading.scan`), one note per cell
    and kind."""
    from seqlab.tools.grading.scan import describe_findings, scan_notebook

    nb = nbformat.read(notebook, as_version=4)
    return describe_findings(nb, scan_notebook(nb))


def grade(job: GradingJob) -> StudentResult:
    """Grade the job's submission in its student's folder (see the module docstring); the result, not yet saved."""
    from nbgrader.apps import NbGraderAPI

    lesson, student, own = job.lesson, job.student, job.own
    result = StudentResult(student, job.source, sha256=job.sha256, settings=job.settings)
    clock = time.perf_counter()
    reset_folder(job.folder)
    shutil.copyfile(job.template, job.folder / "gradebook.db")
    submitted = own.submitted(student, lesson)
    notes = copy_submission(job.submission, job.release, submitted)
    # From `nbgrader collect`: when the student submitted, and the secret that names their feedback in the
    # exchange. nbgrader carries them into the feedback folder, where `nbgrader release_feedback` reads them.
    for name in EXCHANGE_FILES:
        beside = job.submission.parent / name
        if beside.is_file() and beside.stat().st_size < 1000:
            shutil.copyfile(beside, submitted.parent / name)
    result.notes += [f"{lesson}.ipynb {note}" for note in notes]
    for note in scan_notes(submitted):  # a reason to look: no points change
        result.flag(f"{lesson}.ipynb {note}")

    sandbox = KernelSandbox(job.limits, job.capabilities, [Path(p) for p in job.hide], student, job.kernel_server)
    try:
        api = NbGraderAPI(config=autograde_config(job.course, own, job.limits, sandbox))
        clock = _lap(result, "setup", clock)
        with kernel_environment():
            graded = api.autograde(lesson, student, force=True, create=True)
        clock = _lap(result, "nbgrader", clock)
        log = graded.get("log", "")
        if graded["success"]:
            feedback = generate_feedback(api, lesson, student)
            clock = _lap(result, "feedback", clock)
            log += feedback.get("log", "")
            result.feedback = bool(feedback["success"])
            if not result.feedback:
                result.flag(f"feedback could not be generated: {last_line(feedback.get('error', ''))}")
    finally:
        sandbox.close()
    log_path = job.folder / "grading.log"
    log_path.write_text(log + "\n" + (graded.get("error") or ""), encoding="utf-8")

    autograded = own.autograded(student, lesson)
    if not graded["success"] or not autograded.is_file():
        result.fail("error", f"autograde failed: {diagnose(log, graded.get('error', ''))} (log: {log_path})")
        return result
    events_path = job.folder / EVENTS_FILE
    executed = json.loads(events_path.read_text(encoding="utf-8")) if events_path.is_file() else {}
    for stage, seconds in executed.get("seconds", {}).items():  # the executor's part of nbgrader's time
        result.seconds[stage] = round(seconds, 3)
        result.seconds["nbgrader"] = round(result.seconds["nbgrader"] - seconds, 3)
    for event in executed.get("events", []):
        note = f"{lesson}.ipynb {event['message']}"
        if event["kind"] in FLAGGED_EVENTS:
            result.flag(note)
        else:
            result.notes.append(note)
    result.notes += cell_notes(autograded, lesson, job.limits.timeout)
    read_grades(own, lesson, student, result)
    _lap(result, "finish", clock)
    return result


def _lap(result: StudentResult, stage: str, since: float) -> float:
    """Record the seconds since ``since`` as ``stage``'s; return now."""
    now = time.perf_counter()
    result.seconds[stage] = round(now - since, 3)
    return now


def main(argv: list[str] | None = None) -> int:
    """``python -m seqlab.tools.grading.worker JOB.json``: grade the job and write its ``result.json``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m seqlab.tools.grading.worker JOB.json", file=sys.stderr)
        return 2
    job = GradingJob.read(Path(argv[0]))
    save(grade(job), job.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
