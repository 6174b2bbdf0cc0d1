"""A grading workspace: nbgrader's grading folders under one directory, and the class gradebook.

The class gradebook (the one the formgrader shows) is ``gradebook.db`` in the workspace by default, or any
database nbgrader's SQLAlchemy gradebook accepts, named by URL: ``--gradebook`` or the environment variable
``SEQLAB_GRADEBOOK_URL`` (e.g. ``postgresql://grader@db.example.edu/seqmodels``), which the course's
``nbgrader_config.py`` reads too.  Students' private gradebooks stay SQLite files in their own folders.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader

__all__ = ["Workspace", "nbgrader_config", "GRADEBOOK_URL_ENV", "check_gradebook_url", "gradebook_lock"]


@dataclass(frozen=True)
class Workspace:
    """nbgrader's grading folders under one directory, and its gradebook (there, or at ``gradebook_url``)."""

    root: Path
    gradebook_url: str | None = None

    @property
    def db_url(self) -> str:
        return self.gradebook_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def db_is_local(self) -> bool:
        """The gradebook is this workspace's own ``gradebook.db`` (not a shared database elsewhere)."""
        return self.gradebook_url is None

    def log(self, student: str) -> Path:
        return self.root / "logs" / f"{student}.log"

    def submitted(self, student: str, lesson: str) -> Path:
        return self.root / "submitted" / student / lesson / f"{lesson}.ipynb"

    def autograded(self, student: str, lesson: str) -> Path:
        return self.root / "autograded" / student / lesson / f"{lesson}.ipynb"

    def feedback(self, student: str, lesson: str) -> Path:
        return self.root / "feedback" / student / lesson / f"{lesson}.html"

    def grades_csv(self, lesson: str) -> Path:
        return self.root / lesson / "grades.csv"

    def template(self, lesson: str) -> Workspace:
        """Where the lesson is prepared once per run: a gradebook (SQLite) with the assignment and no student."""
        return Workspace(self.root / "template" / lesson)

    def own(self, student: str, lesson: str) -> Workspace:
        """The student's private grading folder: a copy of the template gradebook (SQLite) and nbgrader's folders."""
        return Workspace(self.root / "students" / lesson / student)

    def job(self, student: str, lesson: str) -> Path:
        """Where ``seqlab grade`` writes the student's grading job for the worker (:mod:`seqlab.tools.grading.job`)."""
        return self.root / "jobs" / lesson / f"{student}.json"

    @property
    def lock(self) -> Path:
        return self.root / ".seqlab-grade.lock"


def nbgrader_config(course_root: Path, workspace: Workspace, cell_timeout: int) -> Config:
    """The course's nbgrader_config.py with the grading folders moved into ``workspace``."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    overrides = Config()
    overrides.CourseDirectory.root = str(course_root)
    overrides.CourseDirectory.release_directory = str(workspace.root / "release")
    overrides.CourseDirectory.submitted_directory = str(workspace.root / "submitted")
    overrides.CourseDirectory.autograded_directory = str(workspace.root / "autograded")
    overrides.CourseDirectory.feedback_directory = str(workspace.root / "feedback")
    overrides.CourseDirectory.db_url = workspace.db_url
    overrides.Execute.timeout = cell_timeout
    overrides.Execute.interrupt_on_timeout = True
    config.merge(overrides)
    return config


GRADEBOOK_URL_ENV = "SEQLAB_GRADEBOOK_URL"


def check_gradebook_url(url: str) -> str:
    """``url`` if it names a gradebook seqlab can use (SQLite or PostgreSQL); else ValueError saying why."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            f"{url!r} is not a database URL; expected sqlite:////path/gradebook.db or postgresql://user@host/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"gradebook URL {url!r}: use a sqlite:/// or postgresql:// database, not {backend}")
    if backend == "postgresql":
        try:
            parsed.get_dialect().import_dbapi()
        except ImportError:
            raise ValueError("a PostgreSQL gradebook needs the psycopg driver: pip install -e '.[postgres]'") from None
    return url


@contextlib.contextmanager
def gradebook_lock(url: str) -> Iterator[None]:
    """Hold the class gradebook for one writer at a time, across processes and machines.

    Several ``seqlab grade`` runs (several graders, or one run per section) may write into one class gradebook.
    nbgrader's gradebook creates a student or a submission by "find, else insert", which two writers at once
    turn into a duplicate-key error; so writes to a shared gradebook take this lock.  PostgreSQL: a session-level
    advisory lock (released by the server if the process dies); SQLite: an exclusive ``flock`` on a file next to
    the database.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"seqlab gradebook " + url.encode()).digest()[:8], "big", signed=True)
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
        finally:
            engine.dispose()
        return
    database = parsed.database
    if not database or database == ":memory:":
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: one grader at a time
        yield
        return
    with open(database + ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
