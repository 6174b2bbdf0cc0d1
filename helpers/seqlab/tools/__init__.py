"""Instructor tooling behind the ``seqlab`` command: release, execute, check, grade.

Nothing in the student-facing modules imports this package (a test enforces it).
"""

__all__: list[str] = []
