"""Training runs too long for a notebook: made once by ``seqlab store-runs``, shipped with seqlab, loaded here.

A notebook must run top to bottom in about a minute; a few of the course's claims need runs of several minutes
(the LSTM on the adding problem at T = 300 needs 3000 steps of about 50-80 ms each).  Such a run is declared
here as a *recipe* (model, seed, budget, when to measure), made by the instructor command
``seqlab store-runs NAME`` on the pinned numerical paths (:mod:`seqlab.numerics`), and stored as JSON in
``seqlab/stored_runs/`` with the command, the torch version and the date that made it.  The notebook loads the
stored run, re-trains its first steps live and checks that they agree (:func:`rerun_prefix`), so the student
sees the stored numbers come from the code in front of them::

    run = stored.load_run("lstm-adding-T300")
    live = stored.rerun_prefix(run, steps=100)   # the same first 100 losses, recomputed here
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.resources
import json
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from seqlab import numerics
from seqlab.models import RecurrentRegressor
from seqlab.session import setup
from seqlab.train import ADDING_BUDGET, AddingBudget, train_adding_problem
from seqlab.validate import check_int

__all__ = [
    "Recipe",
    "StoredRun",
    "RECIPES",
    "load_run",
    "make_run",
    "save_run",
    "rerun_prefix",
    "stored_run_path",
    "STORED_RUNS_FOLDER",
]

#: The folder of stored runs inside the package.
STORED_RUNS_FOLDER = "stored_runs"


@dataclass(frozen=True)
class Recipe:
    """How a stored run is made: a recurrent regressor of ``kind`` on the adding problem.

    Attributes:
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"`` (:class:`seqlab.models.RecurrentRegressor`).
        budget: the adding-problem budget (length, steps, learning rate, data seeds).
        init_seed: ``torch.manual_seed`` before the model is built (its initial weights).
        evaluate_after: step counts after which the test MSE is also measured.
        description: one sentence for the reader: what the run shows and where.
    """

    kind: str
    budget: AddingBudget
    init_seed: int
    evaluate_after: tuple[int, ...]
    description: str

    def model(self) -> RecurrentRegressor:
        torch.manual_seed(self.init_seed)
        return RecurrentRegressor(self.kind, input_size=2, hidden_size=self.budget.hidden_size)


#: Every stored run, by name.
RECIPES: dict[str, Recipe] = {
    "lstm-adding-T300": Recipe(
        kind="lstm",
        budget=replace(ADDING_BUDGET, length=300, steps=3000),
        init_seed=0,
        evaluate_after=(1000, 2000, 2500),
        description="Lesson 04, section 8: the LSTM of section 4 (same seed, batches and learning rate) at T = 300, "
        "trained past the shared 2000-step budget to 3000 steps.",
    ),
}


@dataclass(frozen=True)
class StoredRun:
    """A run made by :func:`make_run`, as stored.

    Attributes:
        name: its key in :data:`RECIPES`.
        recipe: how it was made.
        losses: the training loss at every step (``budget.steps`` floats).
        test_mse_after: step count -> test MSE after that many steps (the evaluations and the final one).
        made_by: provenance: command, torch version, numerical paths, date, seconds.
    """

    name: str
    recipe: Recipe
    losses: list[float]
    test_mse_after: dict[int, float]
    made_by: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        recipe = dataclasses.asdict(self.recipe)
        return {
            "name": self.name,
            "recipe": {**recipe, "evaluate_after": list(self.recipe.evaluate_after)},
            "made_by": self.made_by,
            "test_mse_after": {str(k): v for k, v in self.test_mse_after.items()},
            "losses": self.losses,
        }


def _recipe(name: object) -> Recipe:
    if not isinstance(name, str) or name not in RECIPES:
        raise ValueError(f"no stored run named {name!r}; the stored runs are {sorted(RECIPES)}")
    return RECIPES[name]


def stored_run_path(name: str) -> Path:
    """Where the package keeps the stored run ``name``."""
    _recipe(name)
    return Path(str(importlib.resources.files("seqlab") / STORED_RUNS_FOLDER / f"{name}.json"))


def make_run(name: str, command: str = "", desc: str | None = None) -> StoredRun:
    """Train the recipe ``name`` from scratch (minutes) and return the run, with its provenance."""
    recipe = _recipe(name)
    setup()  # as in the notebook that loads the run: one thread, deterministic algorithms
    started = time.perf_counter()
    run = train_adding_problem(recipe.model(), recipe.budget, desc=desc or name, evaluate_after=recipe.evaluate_after)
    made_by = {
        "command": command,
        "torch": torch.__version__,
        "numerics": numerics.describe(),
        "pinned": numerics.pinned(),
        "machine": platform.machine(),
        "date": datetime.date.today().isoformat(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return StoredRun(name, recipe, run.losses, run.test_mse_after, made_by)


def save_run(run: StoredRun, path: str | Path | None = None) -> Path:
    """Write ``run`` as JSON (default: into the package, where :func:`load_run` finds it)."""
    path = Path(path) if path is not None else stored_run_path(run.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run.to_dict(), indent=1) + "\n", encoding="utf-8")
    return path


def load_run(name: str, path: str | Path | None = None) -> StoredRun:
    """The stored run ``name``.

    Raises:
        ValueError: no such recipe, or the file was made with another recipe (then re-make it with
            ``seqlab store-runs NAME``).
        FileNotFoundError: the run was never stored.
    """
    recipe = _recipe(name)
    path = Path(path) if path is not None else stored_run_path(name)
    data = json.loads(path.read_text(encoding="utf-8"))
    stored = data["recipe"]
    stored_recipe = Recipe(
        kind=stored["kind"],
        budget=AddingBudget(**stored["budget"]),
        init_seed=stored["init_seed"],
        evaluate_after=tuple(stored["evaluate_after"]),
        description=stored["description"],
    )
    if dataclasses.replace(stored_recipe, description="") != dataclasses.replace(recipe, description=""):
        raise ValueError(f"{path} was made with another recipe than {name!r}: run `seqlab store-runs {name}`")
    if len(data["losses"]) != recipe.budget.steps:
        raise ValueError(f"{path}: {len(data['losses'])} losses for a budget of {recipe.budget.steps} steps")
    test_mse_after = {int(k): float(v) for k, v in data["test_mse_after"].items()}
    return StoredRun(name, recipe, [float(v) for v in data["losses"]], test_mse_after, data["made_by"])


def rerun_prefix(run: StoredRun, steps: int, desc: str | None = None) -> list[float]:
    """Train the run's recipe again for its first ``steps`` steps; return those losses (compare: ``run.losses``).

    On the pinned numerical paths they equal the stored ones bit for bit; elsewhere they agree to a few digits.
    """
    last = run.recipe.budget.steps
    check_int("steps", steps, 1, last, expected=f"an int in 1 ... {last}")
    budget = replace(run.recipe.budget, steps=steps, test_size=1)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)  # as make_run (through setup()): another thread count sums in another order
    torch.use_deterministic_algorithms(True)
    try:
        return train_adding_problem(run.recipe.model(), budget, desc=desc or f"{run.name}, first {steps} steps").losses
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
