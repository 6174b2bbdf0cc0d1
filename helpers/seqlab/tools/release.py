"""``seqlab release``: regenerate the student notebooks from the solutions with nbgrader.

nbgrader's ``generate_assignment`` removes solutions and hidden tests, clears outputs and locks
cells.  A throw-away gradebook is used, so releasing never touches grading state.  The result is
deterministic (running it twice changes nothing), and a student notebook that still contains a
solution or hidden-test marker is deleted and reported as an error.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from seqlab.tools.course import Course, ToolError, find_leaks, normalise_notebook, run_nbgrader
from seqlab.tools.grading.gradebooks import create_gradebook

__all__ = ["release_lesson", "release"]


def release_lesson(course: Course, lesson: str, out_dir: Path | None = None) -> Path:
    """Generate the student version of ``lesson`` into ``out_dir`` (default: ``notebooks/``).

    Returns:
        The path of the released notebook.

    Raises:
        ToolError: nbgrader failed, or the release leaks a solution or hidden test.
    """
    release_root = (out_dir or course.notebooks).resolve()
    with tempfile.TemporaryDirectory(prefix="seqlab-release-") as scratch:
        gradebook = f"sqlite:///{Path(scratch) / 'gradebook.db'}"
        create_gradebook(gradebook)  # here, not by nbgrader: it would start an `alembic` process for the version
        result = run_nbgrader(
            course,
            [
                "generate_assignment",
                lesson,
                "--force",
                f"--CourseDirectory.release_directory={release_root}",
                f"--CourseDirectory.db_url={gradebook}",
            ],
        )
    released = release_root / lesson / f"{lesson}.ipynb"
    if result.returncode != 0 or not released.is_file():
        raise ToolError(f"nbgrader could not release {lesson}:\n{result.stdout}{result.stderr}")
    normalise_notebook(released)
    leaks = find_leaks(released.read_text(encoding="utf-8"))
    if leaks:
        shutil.rmtree(released.parent)
        raise ToolError(f"{lesson}: the student notebook would contain {', '.join(leaks)}; nothing was released")
    return released


def release(course: Course, lessons: list[str], out_dir: Path | None = None) -> list[Path]:
    """Release each lesson; see :func:`release_lesson`."""
    return [release_lesson(course, lesson, out_dir) for lesson in lessons]
