"""``seqlab store-lm``: train lesson 08's quatrain language model and store it in the package (instructor tooling).

The recipe is :data:`seqlab.language_model.QUATRAIN_LM` and its batches :func:`seqlab.language_model.recipe_batches`;
the loss and the training loop are the reference answers of the solution notebook (grade ids ``08-token-nll``,
``08-train-language-model``), so the stored weights are made by the very functions the lesson specifies.  The run
is made on the pinned numerical paths and written to ``helpers/seqlab/stored_runs/quatrain-lstm.{pt,json}`` with
the command that made it.  Re-run it after changing the recipe, those reference answers or the pin, then
``seqlab execute 08_language_model``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from seqlab.tools.course import ToolError
from seqlab.tools.submissions import reference_cells

__all__ = ["SOLUTION_NOTEBOOK", "REFERENCE_IDS", "reference_functions", "store_lm_main"]

#: The solution notebook, relative to the course root, and the grade ids of the reference answers it provides.
SOLUTION_NOTEBOOK = Path("solutions") / "08_language_model" / "08_language_model.ipynb"
REFERENCE_IDS = {
    "token_nll": "08-token-nll",
    "train_language_model": "08-train-language-model",
}


def reference_functions(notebook: Path) -> dict[str, Callable]:
    """The reference ``token_nll`` and ``train_language_model`` of the solution notebook."""
    import torch

    answers = reference_cells(notebook, REFERENCE_IDS.values())
    namespace: dict = {"torch": torch, "math": math}
    for name, grade_id in REFERENCE_IDS.items():
        exec(compile(answers[grade_id], f"<{grade_id}>", "exec"), namespace)
        if not callable(namespace.get(name)):
            raise ToolError(f"the solution cell {grade_id!r} does not define {name}")
    return {name: namespace[name] for name in REFERENCE_IDS}


def store_lm_main(
    solution: str | None, out: str | None, steps: int | None, course_root: Path | None, argv: Sequence[str]
) -> int:
    """Train the recipe with the reference answers; store weights and record; print the validation perplexities."""
    import dataclasses

    import numpy as np
    import torch

    from seqlab import data, numerics
    from seqlab.language_model import QUATRAIN_LM, build_model, make_optimizer, recipe_batches, save_stored_model

    if not numerics.numerics_pinned():
        raise ToolError("the stored model is made on the pinned numerical paths: unset SEQLAB_NUMERICS=native")
    notebook = Path(solution) if solution else (course_root or Path.cwd()) / SOLUTION_NOTEBOOK
    ref = reference_functions(notebook)
    recipe = QUATRAIN_LM if steps is None else dataclasses.replace(QUATRAIN_LM, steps=steps)
    vocab = data.quatrain_vocabulary()
    train_tokens, valid_tokens = data.quatrain_tokens("train"), data.quatrain_tokens("valid")

    def validation_perplexity(model: torch.nn.Module) -> float:
        model.eval()
        with torch.no_grad():
            nll = ref["token_nll"](model(valid_tokens[None, :-1]), valid_tokens[None, 1:])
        model.train()
        return math.exp(nll.item())

    torch.set_num_threads(1)  # one thread: the same sums on every machine and in the notebook's check
    model = build_model(recipe, len(vocab))
    optimizer = make_optimizer(recipe, model)
    rng = np.random.default_rng(recipe.data_seed)
    losses: list[float] = []
    validation: list[tuple[int, float]] = []
    start = time.perf_counter()
    while len(losses) < recipe.steps:
        chunk = min(recipe.evaluate_every, recipe.steps - len(losses))
        batches = recipe_batches(recipe, train_tokens, chunk, rng)
        losses += ref["train_language_model"](model, batches, optimizer, recipe.clip_norm)
        validation.append((len(losses), validation_perplexity(model)))
        print(f"step {len(losses)}: loss {losses[-1]:.3f}, validation perplexity {validation[-1][1]:.1f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    command = "seqlab store-lm" + ("" if not argv else " " + " ".join(argv))
    paths = save_stored_model(model, recipe, losses, validation, command, Path(out) if out else None)
    print(f"stored {paths[0]} and {paths[1]}")
    return 0
