"""Lessons 08 and 09's quatrain language models: their recipes, and the trained weights shipped with seqlab.

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

Lesson 09's GPT is made the same way by ``seqlab store-gpt`` (with the solution notebook's ``DecoderBlock`` too), and
so is its sweep of pre-norm against post-norm blocks at three depths::

    gpt = language_model.build_gpt(language_model.QUATRAIN_GPT, vocab_size, DecoderBlock)
    stored_gpt = language_model.load_stored_gpt(DecoderBlock)   # the student's blocks, the stored weights
    sweep = language_model.load_depth_sweep()                   # losses and gradient norms of every run
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.resources
import io
import json
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.models import GPT, CharLanguageModel

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
    "GPTRecipe",
    "QUATRAIN_GPT",
    "StoredGPT",
    "build_gpt",
    "gpt_optimizer",
    "save_stored_gpt",
    "load_stored_gpt",
    "DepthSweep",
    "DEPTH_SWEEP",
    "DepthRun",
    "save_depth_sweep",
    "load_depth_sweep",
    "warmup_factor",
    "window_batches",
    "STORED_NAME",
    "STORED_GPT_NAME",
    "STORED_SWEEP_NAME",
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


def stored_model_paths(folder: Path | None = None, name: str = STORED_NAME) -> tuple[Path, Path]:
    """(weights ``.pt``, record ``.json``) of a stored model, in ``folder`` or the package's ``stored_runs/``."""
    if folder is None:
        folder = Path(str(importlib.resources.files("seqlab").joinpath("stored_runs")))
    return folder / f"{name}.pt", folder / f"{name}.json"


def _made_by(command: str) -> dict[str, str]:
    return {
        "command": command,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "date": datetime.date.today().isoformat(),
    }


def _write_weights(model: torch.nn.Module, path: Path) -> None:
    """The state dict in float16 (to keep the package small)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({name: t.detach().to(torch.float16) for name, t in model.state_dict().items()}, buffer)
    path.write_bytes(buffer.getvalue())


def _read_weights(model: torch.nn.Module, path: Path) -> None:
    """Load the float16 state dict into ``model`` (float32), by parameter name, and put it in eval mode.

    Every stored tensor must find its place and every parameter of ``model`` must be stored; buffers the model has
    and the file does not (a student's registered mask, say) keep their values.
    """
    state = torch.load(path, weights_only=True)
    _, unexpected = model.load_state_dict({name: t.to(torch.float32) for name, t in state.items()}, strict=False)
    loaded = {id(t) for name, t in model.state_dict(keep_vars=True).items() if name in state}  # aliases count once
    missing_parameters = [name for name, p in model.named_parameters() if id(p) not in loaded]
    if unexpected or missing_parameters:
        raise ValueError(
            f"the stored weights {path.name} do not fit this model: parameters missing from the file "
            f"{missing_parameters}, stored tensors the model has no place for {unexpected}. Check the attribute "
            "names of your modules (W_q, W_k, W_v, W_o; attn, norm1, norm2, ff1, ff2) and that they add no parameters"
        )
    model.eval()


def save_stored_model(
    model: CharLanguageModel,
    recipe: LanguageModelRecipe,
    losses: list[float],
    validation: list[tuple[int, float]],
    command: str,
    folder: Path | None = None,
) -> tuple[Path, Path]:
    """Store the weights (float16, to keep the package small) and the record; the two paths."""
    return _save_run(STORED_NAME, model, recipe, losses, validation, command, folder)


def _save_run(
    name: str, model: torch.nn.Module, recipe: Any, losses: list[float], validation: list[tuple[int, float]],
    command: str, folder: Path | None, **extra: float,
) -> tuple[Path, Path]:  # fmt: skip
    """Weights (float16) and record (recipe, losses, validation, ``extra``, who made it) of a stored run."""
    weights_path, record_path = stored_model_paths(folder, name)
    _write_weights(model, weights_path)
    record = {
        "recipe": dataclasses.asdict(recipe),
        "vocab_size": model.vocab_size,
        "losses": [round(x, 6) for x in losses],
        "validation": [[step, round(ppl, 4)] for step, ppl in validation],
        **extra,
        "made_by": _made_by(command),
    }
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return weights_path, record_path


def _read_record(name: str, folder: Path | None) -> tuple[dict[str, Any], Path, list[tuple[int, float]]]:
    """A stored run's record, its weights' path, and its validation pairs."""
    weights_path, record_path = stored_model_paths(folder, name)
    record: dict[str, Any] = json.loads(record_path.read_text(encoding="utf-8"))
    validation = [(int(step), float(ppl)) for step, ppl in record["validation"]]
    return record, weights_path, validation


def load_stored_model(folder: Path | None = None) -> StoredLanguageModel:
    """The stored model (float32 weights from the float16 file, eval mode) and its record."""
    record, weights_path, validation = _read_record(STORED_NAME, folder)
    recipe = LanguageModelRecipe(**record["recipe"])
    model = CharLanguageModel(record["vocab_size"], recipe.embed_dim, recipe.hidden_size, recipe.kind, recipe.dropout)
    _read_weights(model, weights_path)
    return StoredLanguageModel(model, recipe, list(record["losses"]), validation, dict(record["made_by"]))


# ---------------------------------------------------------------------------------------------------------------
# Lesson 09: the GPT and the depth sweep
# ---------------------------------------------------------------------------------------------------------------

#: File names (without suffix) of lesson 09's stored model and sweep inside ``seqlab/stored_runs/``.
STORED_GPT_NAME = "quatrain-gpt"
STORED_SWEEP_NAME = "norm-depth-sweep"


@dataclass(frozen=True)
class GPTRecipe:
    """How the stored GPT is made: :class:`seqlab.models.GPT` with the student's ``DecoderBlock``.

    Attributes:
        d_model, num_heads, d_ff, num_layers, dropout: the model (``max_len`` is ``block_size``; dropout on the
            embeddings and on each block's update of the residual stream, see :class:`seqlab.models.GPT`).
        weight_decay: AdamW's decoupled weight decay of the weight matrices and embeddings (not of biases and
            LayerNorms), as GPT-2 is trained.
        batch_size, block_size, learning_rate, clip_norm, steps, init_seed, data_seed, evaluate_every: as in
            :class:`LanguageModelRecipe` (the same batches as lesson 08's LSTM: the same data seed and sizes).
    """

    d_model: int = 128
    num_heads: int = 4
    d_ff: int = 384
    num_layers: int = 2
    dropout: float = 0.2
    batch_size: int = 32
    block_size: int = 64
    learning_rate: float = 3e-3
    weight_decay: float = 0.1
    clip_norm: float = 1.0
    steps: int = 2500
    init_seed: int = 0
    data_seed: int = 1
    evaluate_every: int = 250


QUATRAIN_GPT = GPTRecipe()


@dataclass(frozen=True)
class StoredGPT:
    """The stored GPT run: the model (with the blocks it was loaded into), its recipe, losses and record.

    ``validation`` holds ``(step, perplexity)`` on the validation stream cut into windows of ``block_size`` tokens
    (:func:`window_batches`).
    """

    model: GPT
    recipe: GPTRecipe
    losses: list[float]
    validation: list[tuple[int, float]]
    seconds: float
    made_by: dict[str, str]


def build_gpt(recipe: GPTRecipe, vocab_size: int, block: Callable[[int, int, int], torch.nn.Module]) -> GPT:
    """The recipe's GPT with ``block`` as its decoder block and its initial weights (``torch.manual_seed`` first)."""
    torch.manual_seed(recipe.init_seed)
    return GPT(block, vocab_size, recipe.block_size, recipe.d_model, recipe.num_heads, recipe.d_ff,
               recipe.num_layers, recipe.dropout)  # fmt: skip


def gpt_optimizer(recipe: GPTRecipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    """AdamW with the recipe's learning rate; weight decay on parameters of two or more dimensions only."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": matrices, "weight_decay": recipe.weight_decay}, {"params": vectors, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=recipe.learning_rate)


def window_batches(
    tokens: torch.Tensor, block_size: int, batch_size: int = 64
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A stream cut into consecutive, non-overlapping windows: ``(X, Y)`` batches of at most ``batch_size`` rows.

    Window ``i`` is ``X = tokens[i*b : (i+1)*b]`` and ``Y`` the same shifted by one (``b = block_size``); the tokens
    that do not fill a last window are left out.  Every model of lessons 08 and 09 is scored on the same windows.
    """
    n = (len(tokens) - 1) // block_size
    X = tokens[: n * block_size].view(n, block_size)
    Y = tokens[1 : n * block_size + 1].view(n, block_size)
    return [(X[i : i + batch_size], Y[i : i + batch_size]) for i in range(0, n, batch_size)]


def save_stored_gpt(
    model: GPT, recipe: GPTRecipe, losses: list[float], validation: list[tuple[int, float]], seconds: float,
    command: str, folder: Path | None = None,
) -> tuple[Path, Path]:  # fmt: skip
    """Store the GPT's weights (float16) and its record, with the seconds its training took; the two paths."""
    return _save_run(STORED_GPT_NAME, model, recipe, losses, validation, command, folder, seconds=round(seconds, 1))


def load_stored_gpt(block: Callable[[int, int, int], torch.nn.Module], folder: Path | None = None) -> StoredGPT:
    """The stored GPT with ``block`` (the student's ``DecoderBlock``) as its blocks, float32, eval mode.

    The weights are copied by parameter name (``blocks.0.attn.W_q.weight``, ``blocks.0.norm1.bias``, …), so any block
    with lesson 09's attribute names loads them, whatever order it creates its submodules in.
    """
    record, weights_path, validation = _read_record(STORED_GPT_NAME, folder)
    recipe = GPTRecipe(**record["recipe"])
    model = build_gpt(recipe, record["vocab_size"], block)
    _read_weights(model, weights_path)
    return StoredGPT(model, recipe, list(record["losses"]), validation, float(record["seconds"]),
                     dict(record["made_by"]))  # fmt: skip


@dataclass(frozen=True)
class DepthSweep:
    """Pre-norm against post-norm blocks as depth grows, on the quatrains, the same steps for every run.

    Every run is a :class:`seqlab.models.GPT` of ``num_layers`` blocks (``d_model``, ``num_heads``, ``d_ff``, no
    dropout) trained for ``steps`` Adam steps at ``learning_rate`` on the batches of
    ``recipe_batches`` with ``batch_size`` windows of ``block_size`` (data seed ``data_seed``), gradients clipped to
    ``clip_norm``; ``runs`` lists ``(norm, num_layers, warmup_steps)``: ``norm`` is ``"pre"`` or ``"post"``, and a
    positive ``warmup_steps`` raises the learning rate linearly from 0 over that many steps (:func:`warmup_factor`).
    """

    d_model: int = 64
    num_heads: int = 4
    d_ff: int = 256
    batch_size: int = 16
    block_size: int = 32
    learning_rate: float = 1e-3
    clip_norm: float = 1.0
    steps: int = 600
    init_seed: int = 0
    data_seed: int = 2
    runs: tuple[tuple[str, int, int], ...] = (
        ("pre", 2, 0), ("post", 2, 0), ("pre", 6, 0), ("post", 6, 0), ("pre", 12, 0), ("post", 12, 0),
        ("post", 12, 100),
    )  # fmt: skip

    def batch_recipe(self) -> LanguageModelRecipe:
        """The batch sizes and data seed as a :class:`LanguageModelRecipe`, for :func:`recipe_batches`."""
        return dataclasses.replace(QUATRAIN_LM, batch_size=self.batch_size, block_size=self.block_size,
                                   data_seed=self.data_seed)  # fmt: skip

    def build(self, block: Callable[[int, int, int], torch.nn.Module], vocab_size: int, num_layers: int) -> GPT:
        """A run's model with its initial weights (``torch.manual_seed(init_seed)`` first)."""
        torch.manual_seed(self.init_seed)
        return GPT(block, vocab_size, self.block_size, self.d_model, self.num_heads, self.d_ff, num_layers)


DEPTH_SWEEP = DepthSweep()


def warmup_factor(step: int, warmup_steps: int) -> float:
    """The learning rate's multiplier at ``step`` (0-based): ``(step + 1) / warmup_steps`` during warm-up, then 1."""
    return 1.0 if warmup_steps <= 0 else min(1.0, (step + 1) / warmup_steps)


@dataclass(frozen=True)
class DepthRun:
    """One run of the sweep: what it was, its losses, validation loss at the end, gradient norms at step 0.

    ``gradient_norms[i]`` is the norm of the gradient of all parameters of block ``i`` (0 = next to the embeddings,
    last = next to the output) for the first batch, before any step.
    """

    norm: str
    num_layers: int
    warmup_steps: int
    losses: list[float]
    validation_loss: float
    gradient_norms: list[float]


def save_depth_sweep(sweep: DepthSweep, runs: list[DepthRun], command: str, folder: Path | None = None) -> Path:
    """Store the sweep's record (JSON, no weights); its path."""
    _, path = stored_model_paths(folder, STORED_SWEEP_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "sweep": dataclasses.asdict(sweep),
        "runs": [
            {**dataclasses.asdict(run), "losses": [round(x, 6) for x in run.losses],
             "validation_loss": round(run.validation_loss, 6),
             "gradient_norms": [round(g, 6) for g in run.gradient_norms]}
            for run in runs
        ],
        "made_by": _made_by(command),
    }  # fmt: skip
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return path


def load_depth_sweep(folder: Path | None = None) -> tuple[DepthSweep, list[DepthRun], dict[str, str]]:
    """The stored sweep: its recipe, its runs in order, and the record of what made it."""
    _, path = stored_model_paths(folder, STORED_SWEEP_NAME)
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    fields = dict(record["sweep"])
    fields["runs"] = tuple(tuple(run) for run in fields["runs"])
    runs = [DepthRun(**run) for run in record["runs"]]
    return DepthSweep(**fields), runs, dict(record["made_by"])
