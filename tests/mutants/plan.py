"""Pack a lesson's mutants into as few graded submissions as honesty allows.

Grading one submission costs seconds of fixed overhead (a kernel, torch, nbgrader, the feedback page)
whatever is in it, and each exercise is scored by its own test cell.  So one submission can carry one
mutant per exercise, as long as a mutant in one exercise cannot change the score of another:

- **Bugs** share a submission only across *independent* exercises.  Exercise A depends on B when A's
  reference answer, test cell or any of A's mutants names a function or class that B's reference
  answer defines (``rnn_forward`` calling ``rnn_cell``).  A buggy ``rnn_cell`` next to a buggy
  ``rnn_forward`` could make ``rnn_forward`` lose points it would otherwise keep: a false catch.
  Bug submissions keep only the cells the autograder needs (markdown, the setup cell, solution and
  test cells): the demonstrations between exercises cannot change a test cell's score, and the
  *control* submission (every reference answer, the same cells dropped) proves it by scoring full marks.
- **Correct alternatives** are all meant to be right, so any of them may share a submission: the whole
  notebook, demos included, must keep full marks, which also shows that an alternative does not break
  a later exercise that calls it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat

from tests.mutants.mutant import Mutant

DEFINITION = re.compile(r"^(?:def|class)\s+(\w+)", re.MULTILINE)
CONTROL = "control"


@dataclass
class PlannedSubmission:
    """One notebook to grade: the reference answers with ``mutants`` typed in over them."""

    name: str
    kind: str  # "bug", "correct" or "control"
    mutants: list[Mutant] = field(default_factory=list)
    only_graded_cells: bool = True

    @property
    def answers(self) -> dict[str, str]:
        """grade id -> replacement source (the reference answer stays in every other solution cell)."""
        return {mutant.grade_id: mutant.source for mutant in self.mutants}


def defined_names(source: str) -> set[str]:
    """Top-level ``def``/``class`` names in a cell's source."""
    return set(DEFINITION.findall(source))


def dependencies(reference: dict[str, str], tests: dict[str, str], mutants: list[Mutant]) -> dict[str, set[str]]:
    """grade id -> the other exercises (grade ids) whose names its answer, tests or mutants use."""
    names = {grade_id: defined_names(source) for grade_id, source in reference.items()}
    depends: dict[str, set[str]] = {}
    for grade_id in reference:
        text = "\n".join(
            [reference[grade_id], tests.get(grade_id, "")] + [m.source for m in mutants if m.grade_id == grade_id]
        )
        depends[grade_id] = {
            other
            for other, defined in names.items()
            if other != grade_id and any(re.search(rf"\b{re.escape(name)}\b", text) for name in defined)
        }
    return depends


def conflicts(depends: dict[str, set[str]]) -> dict[str, set[str]]:
    """The dependency relation made symmetric: exercises whose bugs must never share a submission."""
    pairs = {grade_id: set(others) for grade_id, others in depends.items()}
    for grade_id, others in depends.items():
        for other in others:
            pairs.setdefault(other, set()).add(grade_id)
    return pairs


def plan(reference: dict[str, str], tests: dict[str, str], mutants: list[Mutant]) -> list[PlannedSubmission]:
    """The control, the bug submissions and the correct submissions for one lesson.

    Every mutant appears in exactly one submission; no submission holds two mutants of one exercise,
    nor bugs of two conflicting exercises.  Exercises with the most bugs are placed first (greedy
    packing), which keeps the count near its lower bound, the largest total of a conflicting group.
    """
    unknown = {m.grade_id for m in mutants} - set(reference)
    if unknown:
        raise KeyError(f"mutants for cells that are not exercises: {sorted(unknown)}")
    apart = conflicts(dependencies(reference, tests, mutants))
    planned = [PlannedSubmission(CONTROL, "control")]

    pending = {grade_id: [m for m in mutants if m.grade_id == grade_id and m.kind == "bug"] for grade_id in reference}
    bug_groups: list[list[Mutant]] = []
    while any(pending.values()):
        group: list[Mutant] = []
        for grade_id in sorted(pending, key=lambda g: (-len(pending[g]), g)):
            if pending[grade_id] and not any(m.grade_id in apart.get(grade_id, set()) for m in group):
                group.append(pending[grade_id].pop(0))
        bug_groups.append(group)
    planned += [PlannedSubmission(f"bugs{index:02d}", "bug", group) for index, group in enumerate(bug_groups)]

    correct = {
        grade_id: [m for m in mutants if m.grade_id == grade_id and m.kind == "correct"] for grade_id in reference
    }
    rounds = max((len(c) for c in correct.values()), default=0)
    for index in range(rounds):
        group = [c[index] for c in correct.values() if index < len(c)]
        planned.append(PlannedSubmission(f"correct{index:02d}", "correct", group, only_graded_cells=False))
    return planned


def keep_graded_cells(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without its ungraded code cells (the demonstrations); markdown and nbgrader cells stay."""
    nb = nbformat.from_dict(nb)
    nb.cells = [
        cell for cell in nb.cells if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade_id")
    ]
    return nb
