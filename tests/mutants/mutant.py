"""The record type of a mutation catalogue entry."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    """One alternative answer for one exercise.

    Attributes:
        grade_id: the solution cell it replaces, e.g. ``"01-rnn-cell"``.
        name: what it does, in a few words (shown in the results table).
        kind: ``"bug"`` (must lose the exercise's points) or ``"correct"`` (must keep full marks).
        source: the whole cell, as a student would type it.
    """

    grade_id: str
    name: str
    kind: str
    source: str

    def __post_init__(self) -> None:
        if self.kind not in ("bug", "correct"):
            raise ValueError(f"kind must be 'bug' or 'correct', got {self.kind!r}")

    @property
    def tests_id(self) -> str:
        return f"{self.grade_id}-tests"


class Edits:
    """Mutants written as changes of a lesson's reference answers: ``old`` text -> ``new`` text, each found once.

    ``edits = Edits(REFERENCE)`` (grade id -> the reference answer as a student would type it), then
    ``edits.bug(grade_id, name, (old, new), ...)`` or ``edits.correct(...)``: a reader sees the change in one line.
    """

    def __init__(self, reference: dict[str, str]) -> None:
        self.reference = reference

    def change(self, grade_id: str, *edits: tuple[str, str]) -> str:
        """The reference answer of ``grade_id`` with each ``old`` (found exactly once) replaced by ``new``."""
        source = self.reference[grade_id]
        for old, new in edits:
            assert source.count(old) == 1, f"{grade_id}: {old!r} should occur once in the reference"
            source = source.replace(old, new)
        return source

    def bug(self, grade_id: str, name: str, *edits: tuple[str, str]) -> Mutant:
        return Mutant(grade_id, name, "bug", self.change(grade_id, *edits))

    def correct(self, grade_id: str, name: str, *edits: tuple[str, str]) -> Mutant:
        return Mutant(grade_id, name, "correct", self.change(grade_id, *edits))
