"""``seqlab showdown``: run lesson 10's full sweep and store it in the package (instructor tooling).

Every (task, kind, length, seed) cell of ``seqlab.showdown.SHOWDOWN_BUDGET`` runs in a pool of worker processes,
each on one torch thread (``run_showdown_cell`` sees to that), longest cells first.  The copy-memory batches come
from the reference answer of the solution notebook (grade id ``10-copy-memory-batch``), executed with ``torch`` and
the ``MEMORY_*`` constants in its namespace, so the stored results are made by the very function the lesson
specifies.  The results file records the exact command line.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from seqlab import data
from seqlab.showdown import (
    SHOWDOWN_BUDGET,
    ShowdownBudget,
    ShowdownResult,
    ShowdownResults,
    copy_memory_fingerprint,
    packaged_results_file,
    run_showdown_cell,
    save_showdown_results,
    showdown_cells,
)
from seqlab.tools.course import ToolError
from seqlab.tools.submissions import reference_cells

__all__ = [
    "COPY_MEMORY_GRADE_ID",
    "SOLUTION_NOTEBOOK",
    "reference_source",
    "compile_reference",
    "run_sweep",
    "showdown_main",
]

#: The solution notebook's grade id of the copy-memory exercise.
COPY_MEMORY_GRADE_ID = "10-copy-memory-batch"
#: The solution notebook, relative to the course root.
SOLUTION_NOTEBOOK = Path("solutions") / "10_showdown" / "10_showdown.ipynb"


def reference_source(notebook: Path) -> str:
    """The reference ``copy_memory_batch`` (its solution cell without the solution markers)."""
    return reference_cells(notebook, [COPY_MEMORY_GRADE_ID], "the copy-memory reference")[COPY_MEMORY_GRADE_ID]


def compile_reference(source: str) -> Callable:
    """Execute the reference cell with ``torch`` and the ``MEMORY_*`` constants; return its ``copy_memory_batch``."""
    import torch

    namespace = {"torch": torch, **{name: getattr(data, name) for name in data.__all__ if name.startswith("MEMORY_")}}
    exec(compile(source, f"<{COPY_MEMORY_GRADE_ID}>", "exec"), namespace)
    function = namespace.get("copy_memory_batch")
    if not callable(function):
        raise ToolError(f"the solution cell {COPY_MEMORY_GRADE_ID!r} does not define copy_memory_batch")
    return function


_WORKER_FUNCTION: dict[str, Callable] = {}


def _run_cell(source: str, budget: ShowdownBudget, cell: tuple[str, str, int, int]) -> ShowdownResult:
    """Worker: one cell, with the reference compiled once per process."""
    if source not in _WORKER_FUNCTION:
        _WORKER_FUNCTION.clear()
        _WORKER_FUNCTION[source] = compile_reference(source)
    return run_showdown_cell(*cell, budget=budget, copy_memory_batch=_WORKER_FUNCTION[source])


def _cost(cell: tuple[str, str, int, int]) -> float:
    """Rough relative cost of a cell, to start the longest first."""
    task, kind, length, _ = cell
    per_step = {"rnn": 1.0, "gru": 2.3, "lstm": 0.6, "transformer": 2.5}[kind]
    return per_step * (length + (21 if task == "copy" else 0))


def run_sweep(
    budget: ShowdownBudget,
    cells: Sequence[tuple[str, str, int, int]],
    source: str,
    workers: int,
    log: Callable[[str], None] = print,
) -> list[ShowdownResult]:
    """Run ``cells`` with ``workers`` processes (1: in this process); log each cell as it finishes."""
    results: list[ShowdownResult] = []
    order = sorted(cells, key=_cost, reverse=True)
    start = time.perf_counter()

    def done(result: ShowdownResult) -> None:
        results.append(result)
        log(
            f"[{len(results)}/{len(cells)} {time.perf_counter() - start:6.0f} s] {result.task} {result.kind} "
            f"{result.length} seed {result.seed}: metric {result.metric:.4f} solved {result.solved} "
            f"({result.seconds:.1f} s)"
        )

    if workers == 1:
        for cell in order:
            done(_run_cell(source, budget, cell))
        return results
    context = multiprocessing.get_context("spawn")  # a fresh interpreter per worker: no forked thread pools
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_run_cell, source, budget, cell) for cell in order]
        for future in concurrent.futures.as_completed(futures):
            done(future.result())
    return results


def showdown_main(args, argv: Sequence[str], course_root: Path | None) -> int:
    """``seqlab showdown`` (see ``seqlab showdown --help``)."""
    if args.workers < 1:
        raise ToolError("--workers must be positive")
    budget = SHOWDOWN_BUDGET
    overrides = {name: value for name, value in (("steps", args.steps), ("lengths", args.lengths),
                                                 ("seeds", args.seeds), ("lstm_forget_bias", args.lstm_forget_bias))
                 if value is not None}  # fmt: skip
    if overrides:
        overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        budget = dataclasses.replace(budget, **overrides)
    if budget.steps < 1 or any(n < 2 for n in budget.lengths) or any(s < 0 for s in budget.seeds):
        raise ToolError("--steps must be positive, --lengths at least 2 and --seeds non-negative")
    if args.solution is not None:
        notebook = Path(args.solution)
    elif course_root is not None:
        notebook = course_root / SOLUTION_NOTEBOOK
    else:
        raise ToolError("no course found here: pass --solution NOTEBOOK")
    source = reference_source(notebook)
    function = compile_reference(source)
    out = Path(args.out) if args.out is not None else packaged_results_file(budget)
    cells = showdown_cells(budget, tasks=args.tasks, kinds=args.kinds)
    command = "seqlab showdown" + ("" if not argv else " " + " ".join(argv))
    print(f"{command}: {len(cells)} cells, {args.workers} worker(s), budget {budget}", flush=True)
    results = run_sweep(budget, cells, source, args.workers, log=lambda line: print(line, flush=True))
    provenance = {
        "notebook": str(SOLUTION_NOTEBOOK) if args.solution is None else str(args.solution),
        "grade_id": COPY_MEMORY_GRADE_ID,
        "fingerprint": copy_memory_fingerprint(function),
    }
    stored: ShowdownResults = save_showdown_results(results, out, command, budget, provenance)
    print(f"wrote {len(stored.results)} cells to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run it as: seqlab showdown")
