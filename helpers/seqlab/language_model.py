"""Lesson 08's quatrain language model: its recipe, and the trained weights shipped with seqlab.

Writing quatrains in form takes a few thousand training steps, more than a notebook can afford in a minute. The
recipe below is trained once by the instructor command ``seqlab store-lm``, with the reference answers of the
lesson's own exercises (``token_nll`` and ``train_language_model``, read from the solution notebook) on the batches
of :func:`recipe_batches`, and the result is stored in ``seqlab/stored_runs/`` with the command, the torch version
and the date that made it. The notebook re-runs the first steps of the same recipe with the student's loss and loop,
checks that they give the stored losses (so the stored weights come from the code in front of the student), and
samples from the stored weights::

    recipe = language_model.QUATRAIN_LM
    model = language_model.build_model(recipe, vocab_size)      # the recipe's initial weights
    batches = language_model.recipe_batches(recipe, tokens, steps=100)
    stored = language_model.load_stored_model()                  # weights after recipe.steps, and the record
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.resources
import io
import json
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.models import CharLanguageModel

__all__ = [
    "LanguageModelRecipe",
    "QUATRAIN_LM",
    "StoredLanguageModel",
    "build_model",
    "make_optimizer",
    "recipe_batches",
    "load_stored_model",
    "save_stored_model",
    "stored_model_paths",
]

#: File names (without suffix) of the stored model inside ``seqlab/stored_runs/``.
STORED_NAME = "quatrain-lstm"


@dataclass(frozen=True)
class LanguageModelRecipe:
    """How the stored language model is made.

    Attributes:
        kind, embed_dim, hidden_size, dropout: the :class:`seqlab.models.CharLanguageModel`.
        batch_size, block_size: each step's batch of random windows (:func:`recipe_batches`).
        learning_rate: Adam's.
        clip_norm: the global gradient norm the loop clips to.
        steps: optimisation steps of the stored run.
        init_seed: ``torch.manual_seed`` before the model is built (its initial weights; also dropout's draws).
        data_seed: the seed of the NumPy generator the batches' starts are drawn from (:func:`recipe_batches`).
        evaluate_every: the validation perplexity is recorded after every this many steps.
    """

    kind: str = "lstm"
    embed_dim: int = 64
    hidden_size: int = 128
    dropout: float = 0.2
    batch_size: int = 32
    block_size: int = 64
    learning_rate: float = 3e-3
    clip_norm: float = 1.0
    steps: int = 2500
    init_seed: int = 0
    data_seed: int = 1
    evaluate_every: int = 250


QUATRAIN_LM = LanguageModelRecipe()


@dataclass(frozen=True)
class StoredLanguageModel:
    """The stored run: the trained model and what was measured on the way.

    Attributes:
        model: the :class:`CharLanguageModel` after ``recipe.steps`` steps, in eval mode.
        recipe: the recipe that made it.
        losses: the training loss of every step (before the step), ``recipe.steps`` floats.
        validation: ``(step, validation perplexity)`` pairs, every ``recipe.evaluate_every`` steps.
        made_by: the command, torch version, platform and date that made the run.
    """

    model: CharLanguageModel
    recipe: LanguageModelRecipe
    losses: list[float]
    validation: list[tuple[int, float]]
    made_by: dict[str, str]


def build_model(recipe: LanguageModelRecipe, vocab_size: int) -> CharLanguageModel:
    """The recipe's model with its initial weights (``torch.manual_seed(recipe.init_seed)`` first)."""
    torch.manual_seed(recipe.init_seed)
    return CharLanguageModel(vocab_size, recipe.embed_dim, recipe.hidden_size, recipe.kind, recipe.dropout)


def make_optimizer(recipe: LanguageModelRecipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Adam with the recipe's learning rate."""
    return torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)


def recipe_batches(
    recipe: LanguageModelRecipe, tokens: torch.Tensor, steps: int, rng: np.random.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` batches of ``recipe.batch_size`` random windows of ``recipe.block_size + 1`` tokens, as ``(X, Y)``.

    The same windows as lesson 08's ``next_token_batch`` would cut, with the starts drawn by NumPy's generator
    ``np.random.default_rng(recipe.data_seed)`` (or ``rng``, to go on where an earlier call stopped), so that the
    stored run and its re-run in the notebook see the same batches, whichever way a student draws theirs.
    """
    rng = np.random.default_rng(recipe.data_seed) if rng is None else rng
    offsets = torch.arange(recipe.block_size + 1)
    for _ in range(steps):
        starts = torch.from_numpy(rng.integers(0, len(tokens) - recipe.block_size, size=recipe.batch_size))
        windows = tokens[starts.unsqueeze(1) + offsets]  # (B, block_size + 1)
        yield windows[:, :-1], windows[:, 1:]


def stored_model_paths(folder: Path | None = None) -> tuple[Path, Path]:
    """(weights ``.pt``, record ``.json``) of the stored model, in ``folder`` or the package's ``stored_runs/``."""
    if folder is None:
        folder = Path(str(importlib.resources.files("seqlab").joinpath("stored_runs")))
    return folder / f"{STORED_NAME}.pt", folder / f"{STORED_NAME}.json"


def save_stored_model(
    model: CharLanguageModel,
    recipe: LanguageModelRecipe,
    losses: list[float],
    validation: list[tuple[int, float]],
    command: str,
    folder: Path | None = None,
) -> tuple[Path, Path]:
    """Store the weights (float16, to keep the package small) and the record; the two paths."""
    weights_path, record_path = stored_model_paths(folder)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({name: t.detach().to(torch.float16) for name, t in model.state_dict().items()}, buffer)
    weights_path.write_bytes(buffer.getvalue())
    record = {
        "recipe": dataclasses.asdict(recipe),
        "vocab_size": model.vocab_size,
        "losses": [round(x, 6) for x in losses],
        "validation": [[step, round(ppl, 4)] for step, ppl in validation],
        "made_by": {
            "command": command,
            "torch": torch.__version__,
            "platform": platform.platform(),
            "date": datetime.date.today().isoformat(),
        },
    }
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return weights_path, record_path


def load_stored_model(folder: Path | None = None) -> StoredLanguageModel:
    """The stored model (float32 weights from the float16 file, eval mode) and its record."""
    weights_path, record_path = stored_model_paths(folder)
    record: dict[str, Any] = json.loads(record_path.read_text(encoding="utf-8"))
    recipe = LanguageModelRecipe(**record["recipe"])
    model = CharLanguageModel(record["vocab_size"], recipe.embed_dim, recipe.hidden_size, recipe.kind, recipe.dropout)
    state = torch.load(weights_path, weights_only=True)
    model.load_state_dict({name: t.to(torch.float32) for name, t in state.items()})
    model.eval()
    validation = [(int(step), float(ppl)) for step, ppl in record["validation"]]
    return StoredLanguageModel(model, recipe, list(record["losses"]), validation, dict(record["made_by"]))
