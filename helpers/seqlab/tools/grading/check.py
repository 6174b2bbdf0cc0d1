"""``seqlab check NOTEBOOK``: what a student runs before submitting.

It executes a copy of the notebook the way the grader does, with the grader's own executor
(:func:`seqlab.tools.grading.executor.run_notebook`: a fresh kernel in a sandbox of the same kind, demos
shrunk, a time limit per cell, errors do not stop the run, the interpreter restored and the checks probed
before every test cell, a test cell scored by its errors only) and prints one row per graded test cell: points and
the first failure's type and message, as the feedback shows it (no traceback, no code:
:mod:`seqlab.tools.grading.feedback`).  Unlike ``nbgrader validate`` it exits non-zero when anything fails.
Hidden tests are not in a student's notebook, so passing here is necessary, not sufficient.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from seqlab.tools.course import VALIDATE_CELL_TIMEOUT, ToolError, find_course, kernel_environment
from seqlab.tools.grading.executor import FLAGGED_EVENTS, run_notebook
from seqlab.tools.grading.feedback import first_failure
from seqlab.tools.grading.kernel_server import KernelServer
from seqlab.tools.grading.limits import Limits, probe
from seqlab.tools.grading.sandbox import KernelSandbox, hidden_folders

__all__ = ["GradedCell", "all_passed", "check_notebook", "format_table"]


@dataclass
class GradedCell:
    """The outcome of one graded cell."""

    grade_id: str
    points: float
    earned: float
    message: str
    manual: bool = False


def _first_error(cell: nbformat.NotebookNode) -> str | None:
    """The first failure's type and message, as the feedback shows it (never a traceback: see tools.feedback)."""
    failure = first_failure(cell)
    return failure.summary() if failure else None


def _grade_cells(nb: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    return [
        (index, cell.metadata["nbgrader"])
        for index, cell in enumerate(nb.cells)
        if cell.metadata.get("nbgrader", {}).get("grade")
    ]


def _hidden(folder: Path) -> list[str]:
    """The folders a student's kernel must not see when ``seqlab check`` runs here."""
    try:
        course = find_course()
    except ToolError:  # a student's machine: no course repository around
        return hidden_folders(None, folder)
    return hidden_folders(course, folder, course.root / "_grading")


def check_notebook(
    path: Path, limits: Limits | None = None, kernels: KernelServer | None = None
) -> tuple[list[GradedCell], str | None]:
    """Execute ``path`` like the grader and score its test cells.

    The kernel runs in a sandbox of the grader's kind with ``limits`` (default: the grader's, with
    :data:`VALIDATE_CELL_TIMEOUT` seconds per cell) and does not see the notebook's folder nor, when run inside the
    course repository, its solutions, git history and grading folders.  With ``kernels`` (a kernel server, see
    :func:`~seqlab.tools.grading.sandbox.warm_kernel_server`) each kernel is forked from it, as the grader's are;
    else each starts cold.

    Returns:
        The per-cell results and a note on what stopped cells from running as written (a kernel that died, checks
        that were tampered with), or None.
    """
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # invalid JSON, not a notebook, unreadable
        raise ToolError(f"{path}: not a readable notebook ({error})") from error
    limits = limits or Limits(timeout=VALIDATE_CELL_TIMEOUT)
    folder = path.parent.resolve()
    server = kernels.wait() if kernels else ""
    sandbox = KernelSandbox(limits, probe(), [Path(p) for p in _hidden(folder)], label="check", server=server)
    try:
        with kernel_environment(NBGRADER_EXECUTION="validate"):
            events = run_notebook(nb, str(folder), limits.timeout, sandbox, limits.output)
    finally:
        sandbox.close()
    note = "; ".join(e["message"] for e in events if e["kind"] in FLAGGED_EVENTS) or None

    results = []
    for index, meta in _grade_cells(nb):
        cell = nb.cells[index]
        points = float(meta.get("points", 0))
        grade_id = meta.get("grade_id", f"cell {index}")
        if cell.cell_type != "code" or meta.get("solution"):
            results.append(GradedCell(grade_id, points, 0.0, "graded by hand", manual=True))
            continue
        ran = cell.get("execution_count") is not None
        error = _first_error(cell) or (None if ran else "did not run")
        results.append(GradedCell(grade_id, points, 0.0 if error else points, error or ""))
    return results, note


def format_table(path: Path, results: list[GradedCell], note: str | None) -> str:
    """A plain-text table: one row per graded cell, then the total."""
    auto = [r for r in results if not r.manual]
    earned = sum(r.earned for r in auto)
    total = sum(r.points for r in auto)
    width = max([len("test cell"), *(len(r.grade_id) for r in results)])
    lines = [f"{path.name}: {earned:g} / {total:g} points from automatic tests", ""]
    lines.append(f"{'test cell':<{width}}  points   result  first failure")
    for r in results:
        status = "manual" if r.manual else ("pass" if r.earned == r.points else "FAIL")
        points = f"-/{r.points:g}" if r.manual else f"{r.earned:g}/{r.points:g}"
        lines.append(f"{r.grade_id:<{width}}  {points:<7}  {status:<6}  {'' if status == 'pass' else r.message}")
    if note:
        lines += ["", f"Note: {note}"]
    lines += ["", "Hidden tests run only when your submission is graded: passing here is necessary, not sufficient."]
    return "\n".join(lines)


def all_passed(results: list[GradedCell], note: str | None) -> bool:
    return note is None and all(r.earned == r.points for r in results if not r.manual)
