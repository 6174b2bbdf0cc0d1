"""``seqlab store-runs [NAME ...]``: make the stored training runs that notebooks load (instructor tooling).

Each name is a recipe of :data:`seqlab.stored.RECIPES`; the run is trained from scratch on the pinned numerical
paths and written into the package (``helpers/seqlab/stored_runs/NAME.json``) with the command that made it.
Re-run it after changing a recipe, the training code or the pin, then re-execute the lesson that loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seqlab.tools.course import ToolError

__all__ = ["store_runs_main"]


def store_runs_main(names: Sequence[str], out: str | None, argv: Sequence[str]) -> int:
    """Make and save each named run (all when ``names`` is empty); print where each went and how long it took."""
    from seqlab import numerics, stored

    unknown = [name for name in names if name not in stored.RECIPES]
    if unknown:
        raise ToolError(f"unknown stored runs {unknown}; the recipes are {sorted(stored.RECIPES)}")
    if not numerics.numerics_pinned():
        raise ToolError("stored runs are made on the pinned numerical paths: unset SEQLAB_NUMERICS=native")
    command = "seqlab store-runs" + ("" if not argv else " " + " ".join(argv))
    for name in names or sorted(stored.RECIPES):
        run = stored.make_run(name, command=command)
        path = stored.save_run(run, Path(out) / f"{name}.json" if out else None)
        final = run.test_mse_after[run.recipe.budget.steps]
        print(f"{name}: {run.made_by['seconds']:.0f} s, final test MSE {final:.4f} -> {path}")
    return 0
