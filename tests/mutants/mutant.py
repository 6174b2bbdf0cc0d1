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
