"""``seqlab execute``: run solution notebooks top to bottom in a fresh kernel and store the outputs.

Stored outputs are what nbval checks, so they must come from a clean run: one new kernel per
notebook, working directory = the notebook's folder, progress bars off, no timing metadata,
execution counts 1..n, and consecutive prints of a cell stored as one output (how the kernel happened
to flush them must not show in a diff).  A cell that raises stops the run and nothing is written.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from seqlab.tools.course import ToolError, kernel_environment, normalise_notebook

__all__ = ["CELL_TIMEOUT", "coalesce_streams", "execute_notebook"]


#: Generous per-cell limit; the course's budget for a whole notebook is 90 s.
CELL_TIMEOUT = 600


def coalesce_streams(cell: nbformat.NotebookNode) -> None:
    """Merge consecutive stdout (or stderr) outputs of a code cell into one, in place."""
    merged: list = []
    for output in cell.get("outputs", []):
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    if "outputs" in cell:
        cell.outputs = merged


def execute_notebook(path: Path) -> float:
    """Execute ``path`` in place; return the wall time in seconds.

    Raises:
        ToolError: a cell raised or timed out (the file is left unchanged).
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    try:
        with kernel_environment(SEQLAB_PROGRESS="0", NBGRADER_EXECUTION=None):
            client.execute()
    except CellExecutionError as error:
        raise ToolError(f"{path}: a cell failed, outputs not stored\n{error}") from error
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        coalesce_streams(cell)
    nbformat.write(nb, path)
    normalise_notebook(path)
    return elapsed
