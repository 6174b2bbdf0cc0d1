"""A grading workspace: nbgrader's grading folders and gradebook under one directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader


@dataclass(frozen=True)
class Workspace:
    """nbgrader's grading folders and gradebook, all under one directory."""

    root: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

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
        """Where the lesson is prepared once per run: a gradebook with the assignment and no student."""
        return Workspace(self.root / "template" / lesson)

    def own(self, student: str, lesson: str) -> Workspace:
        """The student's private grading folder: a copy of the template gradebook and nbgrader's folders."""
        return Workspace(self.root / "students" / lesson / student)

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
