"""Build submissions the way a student would: the released notebook with answers typed in.

Used by the grading tests, the mutation checks and the benchmark, and useful to an instructor who
wants to try a grading set-up: ``make_submission(release, reference_answers(solution))`` is a
full-marks submission, and replacing one answer gives a mutant.
"""

from __future__ import annotations

import copy
import re

import nbformat

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
