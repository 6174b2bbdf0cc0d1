"""Where the course lives on disk: the repository root, its lessons and their notebooks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = [
    "COURSE_ID",
    "VALIDATE_CELL_TIMEOUT",
    "KERNEL_STARTUP_TIMEOUT",
    "LESSON_PATTERN",
    "LEAK_MARKERS",
    "ToolError",
    "Course",
    "find_course",
    "run_nbgrader",
    "python_module",
    "ensure_scripts_on_path",
    "kernel_environment",
    "find_leaks",
    "normalise_notebook",
]

#: nbgrader's course id: the gradebooks' course, the exchange's folder, the hub's formgrader service and its group.
#: The nbgrader and JupyterHub config files repeat it as a literal (loading them must not import seqlab, which
#: imports torch); tests/test_deployment.py checks that they agree with this.
COURSE_ID = "seqmodels"
#: Seconds a cell may run while a student validates.  More than the grader's 60: a shared hub or a busy laptop
#: can be several times slower than the grading machine, and validation must not fail for that.
VALIDATE_CELL_TIMEOUT = 180
#: Seconds to wait for a kernel to start (nbclient's default, 60, is too short on a loaded machine:
#: starting Python and importing torch then takes longer).  nbgrader_config.py gives Validate the same two.
KERNEL_STARTUP_TIMEOUT = 300

LESSON_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


class ToolError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback and exits non-zero."""


@dataclass(frozen=True)
class Course:
    """The course repository: ``solutions/`` (nbgrader source) and ``notebooks/`` (release)."""

    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    def lessons(self) -> list[str]:
        """Lesson ids (folder names) that have a solution notebook, in course order."""
        return sorted(
            p.name for p in self.solutions.iterdir() if LESSON_PATTERN.match(p.name) and self.solution(p.name).is_file()
        )

    def solution(self, lesson: str) -> Path:
        return self.solutions / lesson / f"{lesson}.ipynb"

    def release(self, lesson: str) -> Path:
        return self.notebooks / lesson / f"{lesson}.ipynb"

    def resolve_lessons(self, requested: list[str] | None) -> list[str]:
        """Check requested lesson ids (all lessons if none) and return them in course order."""
        available = self.lessons()
        if not requested:
            return available
        unknown = [lesson for lesson in requested if lesson not in available]
        if unknown:
            raise ToolError(f"unknown lesson(s) {', '.join(unknown)}; available: {', '.join(available)}")
        return [lesson for lesson in available if lesson in requested]


def find_course(start: Path | None = None) -> Course:
    """The nearest directory at or above ``start`` (default: cwd) holding nbgrader_config.py and solutions/."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "nbgrader_config.py").is_file() and (candidate / "solutions").is_dir():
            return Course(candidate)
    raise ToolError(f"no course found at or above {here}: run seqlab inside the course repository")


def run_nbgrader(
    course: Course, args: list[str], *, timeout: float | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` from the course root (so nbgrader_config.py applies) and capture its log."""
    ensure_scripts_on_path()
    return subprocess.run(
        [*python_module("nbgrader"), *args],
        cwd=course.root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def python_module(module: str) -> list[str]:
    """The command line that runs ``python -m MODULE`` in a new Python, without jsonschema's "iri" format.

    nbformat imports jsonschema, which imports ``rfc3987_syntax`` when installed and builds its grammars there: about
    a second per process, for a format no notebook schema uses (python-jsonschema/jsonschema#1428).  The ``seqlab``
    command goes without it too (:mod:`seqlab.tools.cli`).
    """
    run = (
        "import runpy, sys; sys.modules['rfc3987_syntax'] = None; "
        "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"
    )
    return [sys.executable, "-c", run, module]


def ensure_scripts_on_path() -> None:
    """Put this Python's scripts folder first on PATH: nbgrader shells out to the `alembic` script."""
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


@contextmanager
def kernel_environment(**overrides: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables for kernels started inside the block.

    Kernels inherit this process's environment.  MPLBACKEND is always removed so that figures use
    the notebook's inline backend and become outputs.
    """
    overrides = {"MPLBACKEND": None, **overrides}
    saved = {name: os.environ.get(name) for name in overrides}
    try:
        _set_environment(overrides)
        yield
    finally:
        _set_environment(saved)


def _set_environment(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def find_leaks(notebook_text: str) -> list[str]:
    """Markers of solutions or hidden tests found in a (student) notebook's text."""
    return [marker for marker in LEAK_MARKERS if marker in notebook_text]


def normalise_notebook(path: Path) -> None:
    """Drop metadata that would make releases differ between machines or runs."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
    nbformat.write(nb, path)
