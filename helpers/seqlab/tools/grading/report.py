"""The class's grades as a CSV file: one row per student, one column per graded cell, safe for spreadsheets."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from seqlab.tools.grading.gradebooks import Column
from seqlab.tools.grading.records import StudentResult, write_atomically

__all__ = ["spreadsheet_safe", "write_csv"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def write_csv(path: Path, lesson: str, columns: list, results: list[StudentResult], max_total: float) -> None:
    """One row per student, one column per graded cell (headed "grade_id (max points)"); atomic.

    ``columns`` holds (grade id, max points) pairs or :class:`Column` objects.
    """
    columns = [(c.name, c.points) if isinstance(c, Column) else c for c in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    headers = [f"{name} ({max_score:g})" for name, max_score in columns]
    header = ["student_id", "lesson", "status", "score", "max_score", *headers, "notes", "submission"]
    writer.writerow([spreadsheet_safe(cell) for cell in header])
    for r in results:
        row = [
            r.student,
            lesson,
            r.status,
            f"{r.total:g}",
            f"{max_total:g}",
            *(f"{r.scores.get(name, 0.0):g}" for name, _ in columns),
            "; ".join(r.notes),
            r.source,
        ]
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    write_atomically(path, buffer.getvalue().encode("utf-8"))


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula: every cell of the CSV goes through here.

    Student-controlled text reaches many cells (a refused file's name is its row's id, notes quote
    error messages).  A number such as ``-1`` or ``1e-05`` stays a number.
    """
    if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") and not _NUMBER.match(text):
        return "'" + text
    return text
