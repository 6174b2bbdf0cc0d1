"""``seqlab store-gpt``: train lesson 09's GPT and its pre-/post-norm depth sweep, and store them (instructor tooling).

Everything the runs execute is the lesson's own reference code, read from the solution notebook
``solutions/09_gpt/09_gpt.ipynb``: ``CausalSelfAttention`` and ``DecoderBlock`` (grade ids ``09-causal-self-attention``,
``09-decoder-block``), lesson 08's ``token_nll`` and ``train_language_model`` as the notebook's cell
``09-from-lesson-08`` holds them, and the notebook's ``PostNormBlock``.  The recipes are
:data:`seqlab.language_model.QUATRAIN_GPT` and :data:`seqlab.language_model.DEPTH_SWEEP`; the results go to
``helpers/seqlab/stored_runs/quatrain-gpt.{pt,json}`` and ``norm-depth-sweep.json``.  Re-run after changing a recipe,
that code or the numerical pin, then ``seqlab execute 09_gpt``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

from seqlab.tools.course import ToolError
from seqlab.tools.submissions import reference_cells

__all__ = ["SOLUTION_NOTEBOOK", "REFERENCE_IDS", "NAMES", "reference_namespace", "store_gpt_main"]

#: The solution notebook, relative to the course root, and the grade ids of the reference code it provides.
SOLUTION_NOTEBOOK = Path("solutions") / "09_gpt" / "09_gpt.ipynb"
REFERENCE_IDS = ("09-from-lesson-08", "09-causal-self-attention", "09-decoder-block")
NAMES = ("token_nll", "train_language_model", "CausalSelfAttention", "DecoderBlock", "PostNormBlock")


def reference_namespace(notebook: Path) -> dict[str, Any]:
    """The solution notebook's reference code, executed: a namespace holding :data:`NAMES`."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    answers = reference_cells(notebook, REFERENCE_IDS, "the reference code")
    namespace: dict[str, Any] = {"torch": torch, "nn": nn, "F": F, "math": math}
    for grade_id, source in answers.items():
        exec(compile(source, f"<{grade_id}>", "exec"), namespace)
    solution = nbformat.read(notebook, as_version=4)
    post_norm = [c.source for c in solution.cells if c.cell_type == "code" and "class PostNormBlock(" in c.source]
    if len(post_norm) != 1:
        raise ToolError(f"{notebook} should have one code cell defining PostNormBlock, found {len(post_norm)}")
    exec(compile(post_norm[0], "<PostNormBlock>", "exec"), namespace)
    missing = [name for name in NAMES if not callable(namespace.get(name))]
    if missing:
        raise ToolError(f"the reference code of {notebook} does not define {', '.join(missing)}")
    return namespace


def store_gpt_main(
    solution: str | None, out: str | None, steps: int | None, part: str, course_root: Path | None, argv: Sequence[str]
) -> int:
    """Train what ``part`` names (``gpt``, ``sweep`` or ``all``) with the reference code; store it; print progress."""
    import dataclasses

    import numpy as np
    import torch

    from seqlab import data, numerics
    from seqlab import language_model as lm

    if not numerics.numerics_pinned():
        raise ToolError("the stored runs are made on the pinned numerical paths: unset SEQLAB_NUMERICS=native")
    notebook = Path(solution) if solution else (course_root or Path.cwd()) / SOLUTION_NOTEBOOK
    ref = reference_namespace(notebook)
    vocab_size = len(data.quatrain_vocabulary())
    train_tokens, valid_tokens = data.quatrain_tokens("train"), data.quatrain_tokens("valid")
    command = "seqlab store-gpt" + ("" if not argv else " " + " ".join(argv))
    folder = Path(out) if out else None
    torch.set_num_threads(1)  # one thread: the same sums on every machine and in the notebook's checks

    def validation_loss(model: torch.nn.Module, block_size: int) -> float:
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for X, Y in lm.window_batches(valid_tokens, block_size):
                total += ref["token_nll"](model(X), Y).item() * Y.numel()
                count += Y.numel()
        model.train()
        return total / count

    if part in ("gpt", "all"):
        recipe = lm.QUATRAIN_GPT if steps is None else dataclasses.replace(lm.QUATRAIN_GPT, steps=steps)
        model = lm.build_gpt(recipe, vocab_size, ref["DecoderBlock"])
        optimizer = lm.gpt_optimizer(recipe, model)
        rng = np.random.default_rng(recipe.data_seed)
        losses: list[float] = []
        validation: list[tuple[int, float]] = []
        seconds = 0.0
        while len(losses) < recipe.steps:
            chunk = min(recipe.evaluate_every, recipe.steps - len(losses))
            start = time.perf_counter()
            losses += ref["train_language_model"](model, lm.recipe_batches(recipe, train_tokens, chunk, rng),
                                                  optimizer, recipe.clip_norm)  # fmt: skip
            seconds += time.perf_counter() - start
            validation.append((len(losses), math.exp(validation_loss(model, recipe.block_size))))
            print(f"gpt step {len(losses)}: loss {losses[-1]:.3f}, validation perplexity {validation[-1][1]:.1f} "
                  f"({seconds:.0f} s training)", flush=True)  # fmt: skip
        paths = lm.save_stored_gpt(model, recipe, losses, validation, seconds, command, folder)
        print(f"stored {paths[0]} and {paths[1]}")

    if part in ("sweep", "all"):
        sweep = lm.DEPTH_SWEEP if steps is None else dataclasses.replace(lm.DEPTH_SWEEP, steps=steps)
        blocks = {"pre": ref["DecoderBlock"], "post": ref["PostNormBlock"]}
        runs = []
        for norm, num_layers, warmup in sweep.runs:
            start = time.perf_counter()
            model = sweep.build(blocks[norm], vocab_size, num_layers)
            batches = list(lm.recipe_batches(sweep.batch_recipe(), train_tokens, sweep.steps))
            X, Y = batches[0]
            ref["token_nll"](model(X), Y).backward()
            gradient_norms = [
                math.sqrt(sum(float(p.grad.pow(2).sum()) for p in block.parameters())) for block in model.blocks
            ]
            model.zero_grad(set_to_none=True)
            optimizer = torch.optim.Adam(model.parameters(), lr=sweep.learning_rate)
            losses = []
            for i, batch in enumerate(batches):
                for group in optimizer.param_groups:
                    group["lr"] = sweep.learning_rate * lm.warmup_factor(i, warmup)
                losses += ref["train_language_model"](model, [batch], optimizer, sweep.clip_norm)
            run = lm.DepthRun(norm, num_layers, warmup, losses, validation_loss(model, sweep.block_size),
                              gradient_norms)  # fmt: skip
            runs.append(run)
            print(f"sweep {norm}-norm, {num_layers} blocks, warm-up {warmup}: last loss {losses[-1]:.3f}, validation "
                  f"loss {run.validation_loss:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        print(f"stored {lm.save_depth_sweep(sweep, runs, command, folder)}")
    return 0
