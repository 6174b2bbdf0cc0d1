"""`seqlab release` regenerates notebooks/ exactly, never leaks a solution or hidden test."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from seqlab.tools.course import find_leaks
from tests.support import COURSE, REPO, seqlab

LESSONS = COURSE.lessons()


def test_every_lesson_is_released():
    assert [p.parent.name for p in sorted(COURSE.notebooks.glob("*/*.ipynb"))] == LESSONS


@pytest.mark.parametrize("lesson", LESSONS)
def test_student_notebook_has_no_solutions_and_stubs_every_exercise(lesson):
    path = COURSE.release(lesson)
    assert find_leaks(path.read_text(encoding="utf-8")) == []
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "student notebooks ship without outputs"
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, meta["grade_id"]


@pytest.mark.slow
def test_notebooks_equal_a_fresh_release(tmp_path):
    done = seqlab("release", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for lesson in LESSONS:
        fresh = (tmp_path / lesson / f"{lesson}.ipynb").read_bytes()
        assert fresh == COURSE.release(lesson).read_bytes(), f"notebooks/{lesson} is stale: run `make release`"


def _release_modified_copy(tmp_path, modify):
    """Release a copy of lesson 01 whose solution notebook was changed by ``modify(nb)``."""
    course = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / "01_rnn", course / "solutions" / "01_rnn")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    path = course / "solutions" / "01_rnn" / "01_rnn.ipynb"
    nb = nbformat.read(path, as_version=4)
    modify(nb)
    nbformat.write(nb, path)
    return subprocess.run(
        [sys.executable, "-m", "seqlab.tools.cli", "release", "--out", str(tmp_path / "out")],
        cwd=course,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_release_refuses_a_leak_that_nbgrader_lets_through(tmp_path):
    # nbgrader clears solution regions in cell sources but copies cell metadata as it is.
    def leak_in_metadata(nb):
        nb.cells[5].metadata["instructor_note"] = "### BEGIN SOLUTION\nreturn torch.tanh(...)\n### END SOLUTION"

    done = _release_modified_copy(tmp_path, leak_in_metadata)
    assert done.returncode == 2
    assert "would contain BEGIN SOLUTION, END SOLUTION" in done.stderr
    assert not (tmp_path / "out" / "01_rnn" / "01_rnn.ipynb").exists()


@pytest.mark.slow
def test_release_stops_on_a_marker_outside_a_solution_cell(tmp_path):
    def stray_marker(nb):
        nb.cells.insert(2, nbformat.v4.new_markdown_cell("Note: the tests below hide a BEGIN HIDDEN TESTS block."))

    done = _release_modified_copy(tmp_path, stray_marker)
    assert done.returncode == 2
    assert "nbgrader could not release 01_rnn" in done.stderr
    assert not (tmp_path / "out" / "01_rnn" / "01_rnn.ipynb").exists()
