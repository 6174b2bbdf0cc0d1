"""One student's grading result on disk, and how results reach the class gradebook and folders.

Every submission is graded in a folder of its own (``<workspace>/students/<id>/``: a copy of the
prepared gradebook, nbgrader's submitted/autograded/feedback folders, a log) and ends with a
``result.json`` written atomically.  The result records the SHA-256 of the submitted file and
the grading settings, so an interrupted run started again reuses exactly the results that are
complete and current (:func:`load_current`) and grades the rest.  The parent process then
copies scores into the class gradebook (:func:`merge_into_gradebook`, for the formgrader) and
publishes the autograded notebook and the feedback into the class folders (:func:`publish`),
both atomically and idempotently.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqlab.tools.course import COURSE_ID
from seqlab.tools.grading.workspace import Workspace, gradebook_lock

__all__ = [
    "RESULT_FILE",
    "StudentResult",
    "sha256_of",
    "write_atomically",
    "EXCHANGE_FILES",
    "copy_atomically",
    "save",
    "load_current",
    "publish",
    "merge_into_gradebook",
    "reset_folder",
    "load",
    "discard",
    "last_line",
]

RESULT_FILE = "result.json"


@dataclass
class StudentResult:
    """One row of grades.csv, and what is recorded per student.

    ``status`` is ``graded`` (nothing to look at), ``flagged`` (graded, but the instructor should
    look: a kernel death, tampering, a test cell needing manual grading), ``invalid`` (not a
    gradable notebook) or ``error`` (grading itself failed).
    """

    student: str
    source: str
    status: str = "graded"
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sha256: str = ""
    settings: dict = field(default_factory=dict)
    feedback: bool = False
    #: Scores and comments graded by hand in the formgrader (grade id -> points; comment name -> text), as last
    #: written into this student's feedback by :func:`seqlab.tools.grading.gradebooks.apply_manual_grades`.
    manual: dict = field(default_factory=dict)
    #: Seconds each grading stage took: ``setup`` (folder, copies, scan), ``kernel`` (kernels started, the guard's
    #: imports), ``cells``, ``nbgrader`` (the rest of its autograde), ``feedback``, ``finish`` (clean-up, scores).
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def needs_attention(self) -> bool:
        return self.status != "graded"

    def flag(self, note: str) -> None:
        """Add a note that needs the instructor's attention."""
        if self.status == "graded":
            self.status = "flagged"
        self.notes.append(note)

    def fail(self, status: str, note: str) -> None:
        self.status = status
        self.notes.append(note)


def last_line(text: str) -> str:
    """The last non-blank line of a process's error output (at most 300 characters), for a result's notes."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no details"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The file is private to its owner (0600) unless ``mode`` says otherwise.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            if mode is not None:
                os.fchmod(out.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: The files `nbgrader submit` puts beside a notebook, which the feedback needs for `nbgrader release_feedback`.
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def copy_atomically(source: Path, target: Path, mode: int | None = None) -> None:
    write_atomically(target, source.read_bytes(), mode)


def save(result: StudentResult, folder: Path) -> None:
    write_atomically(folder / RESULT_FILE, json.dumps(asdict(result), indent=1).encode("utf-8"))


def load(folder: Path) -> StudentResult | None:
    """The result recorded in ``folder`` (what a worker leaves: its only answer), or None."""
    try:
        return StudentResult(**json.loads((folder / RESULT_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def load_current(folder: Path, sha256: str, settings: dict) -> StudentResult | None:
    """The recorded result in ``folder`` if it is for this exact file and these settings."""
    result = load(folder)
    if result is None or result.sha256 != sha256 or result.settings != settings:
        return None
    return result


def discard(folder: Path) -> None:
    """Forget the result recorded in ``folder`` (before a new attempt, whose result is then the only one read)."""
    (folder / RESULT_FILE).unlink(missing_ok=True)


def publish(own: Workspace, workspace: Workspace, student: str, lesson: str) -> None:
    """Copy the student's autograded notebook and feedback into the class folders, atomically.

    A submission collected from nbgrader's exchange also has its ``timestamp.txt`` and ``submission_secret.txt``
    copied beside the feedback, so that ``nbgrader release_feedback`` can hand it back to the student.
    """
    for step in (Workspace.autograded, Workspace.feedback):
        source, target = step(own, student, lesson), step(workspace, student, lesson)
        if source.is_file():
            # `nbgrader release_feedback` copies the feedback into the exchange with its mode, where the student's
            # own account must read it: readable by all (the grading folder around it stays private).
            copy_atomically(source, target, 0o644 if step is Workspace.feedback else None)
        else:
            target.unlink(missing_ok=True)
        if step is Workspace.feedback:
            for name in EXCHANGE_FILES:
                beside = source.parent / name
                if source.is_file() and beside.is_file():
                    copy_atomically(beside, target.parent / name)
                else:
                    (target.parent / name).unlink(missing_ok=True)


def merge_into_gradebook(own: Workspace, workspace: Workspace, lesson: str, student: str) -> None:
    """Copy the student's automatic scores and comments into the class gradebook.

    Manual scores an instructor already gave in the class gradebook are kept.  Idempotent, and safe while other
    grading runs write into the same class gradebook (:func:`~seqlab.tools.grading.workspace.gradebook_lock`).
    """
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with (
        warnings.catch_warnings(),
        gradebook_lock(workspace.db_url),
        Gradebook(own.db_url, course_id=COURSE_ID) as mine,
        Gradebook(workspace.db_url, course_id=COURSE_ID) as gb,
    ):
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own update_or_create_submission
        try:
            submitted = mine.find_submission(lesson, student)
        except MissingEntry:
            return
        gb.update_or_create_student(student)
        target = gb.update_or_create_submission(lesson, student, timestamp=submitted.timestamp)
        for notebook in submitted.notebooks:
            other = gb.find_submission_notebook(notebook.name, lesson, student)
            other.flagged = notebook.flagged
            for grade in notebook.grades:
                theirs = gb.find_grade(grade.name, notebook.name, lesson, student)
                theirs.auto_score = grade.auto_score
                if theirs.manual_score is None:
                    theirs.needs_manual_grade = grade.needs_manual_grade
            for comment in notebook.comments:
                theirs = gb.find_comment(comment.name, notebook.name, lesson, student)
                theirs.auto_comment = comment.auto_comment
        target.timestamp = submitted.timestamp
        gb.db.commit()


def reset_folder(folder: Path) -> None:
    """Empty a student's grading folder (a previous, incomplete attempt) and create it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.chmod(folder, 0o700)
