"""Build submissions the way a student would: the released notebook with answers typed in.

Used by the grading tests, the mutation checks and the benchmark, and useful to an instructor who
wants to try a grading set-up: ``make_submission(release, reference_answers(solution))`` is a
full-marks submission, and replacing one answer gives a mutant.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from pathlib import Path

import nbformat

from seqlab.tools.course import ToolError

__all__ = ["MARKER_LINE", "reference_answers", "reference_cells", "make_submission"]

MARKER_LINE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def reference_answers(solution_nb: nbformat.NotebookNode) -> dict[str, str]:
    """grade id -> the solution cell's code with the nbgrader solution markers removed."""
    answers = {}
    for cell in solution_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = [line for line in cell.source.splitlines() if not MARKER_LINE.match(line)]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def reference_cells(notebook: Path, grade_ids: Iterable[str], what: str = "the reference answers") -> dict[str, str]:
    """grade id -> reference answer, for each of ``grade_ids``, from the solution notebook at ``notebook``.

    The instructor commands that train with the lesson's own answers (``seqlab store-lm``, ``store-gpt``,
    ``showdown``) read them here.

    Raises:
        ToolError: the notebook does not exist, or has no solution cell with one of the grade ids.
    """
    if not notebook.is_file():
        raise ToolError(f"{notebook}: no such notebook ({what} come from it; see --solution)")
    answers = reference_answers(nbformat.read(notebook, as_version=4))
    for grade_id in grade_ids:
        if grade_id not in answers:
            raise ToolError(f"{notebook} has no solution cell with grade id {grade_id!r}")
    return {grade_id: answers[grade_id] for grade_id in grade_ids}


def make_submission(release_nb: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the student notebook whose solution cells hold ``answers`` (by grade id).

    Raises:
        KeyError: an answer names a grade id that is not a solution cell of the notebook.
    """
    submission = copy.deepcopy(release_nb)
    solution_ids = {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in submission.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    unknown = set(answers) - solution_ids
    if unknown:
        raise KeyError(f"not solution cells of this notebook: {sorted(unknown)}")
    for cell in submission.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return submission
