"""The showdown (lesson 10): RNN, GRU, LSTM and a one-layer Transformer encoder on two long-range tasks.

Every model gets the same recipe, ``SHOWDOWN_BUDGET``: the same number of Adam steps on fresh batches, the same
batch size, the same gradient clipping, and about the same number of parameters.  One *cell* of the showdown is one
(task, kind, length, seed)::

    result = run_showdown_cell("adding", "lstm", 100, seed=0)
    result.metric, result.solved         # test MSE, and whether it is below ADDING_SOLVED_MSE

    result = run_showdown_cell("copy", "transformer", 50, seed=0, copy_memory_batch=copy_memory_batch)
    result.metric                        # accuracy on the answer positions of a held-out batch

The tasks:

- ``"adding"``: the adding problem (``seqlab.data.adding_problem_batch``) with ``T = length`` steps; the metric is
  the test MSE (predicting the mean scores ``ADDING_BASELINE_MSE = 1/6``).
- ``"copy"``: copy-memory with ``budget.n_symbols`` symbols and ``delay = length`` blanks (the batches come from the
  ``copy_memory_batch`` you pass, the lesson's exercise); the metric is the accuracy on the answer positions
  (a model without memory scores ``MEMORY_CHANCE_ACCURACY = 1/8``).

The full sweep (every task, kind, length and seed of the budget) is run by the instructor command
``seqlab showdown`` and stored in this package (``load_showdown_results``); a notebook re-runs a few of its cells
and checks that they agree (``compare_with_stored``).  Training runs on ONE torch thread, so that a re-run on the
same machine repeats the stored run bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import importlib.resources
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqlab.data import (
    ADDING_BASELINE_MSE,
    MEMORY_CHANCE_ACCURACY,
    MEMORY_VOCAB,
    adding_problem_batch,
)
from seqlab.models import (
    RecurrentRegressor,
    RecurrentTagger,
    TransformerRegressor,
    TransformerTagger,
    set_forget_gate_bias,
)
from seqlab.train import fit
from seqlab.validate import check_int

__all__ = [
    "SHOWDOWN_TASKS",
    "SHOWDOWN_KINDS",
    "SHOWDOWN_HIDDEN_SIZES",
    "SHOWDOWN_TRANSFORMER",
    "ADDING_SOLVED_MSE",
    "COPY_SOLVED_ACCURACY",
    "COPY_TOLERANCE",
    "adding_tolerance",
    "ShowdownBudget",
    "SHOWDOWN_BUDGET",
    "FORGET_BIAS_BUDGET",
    "showdown_model",
    "count_parameters",
    "single_thread",
    "ShowdownResult",
    "run_showdown_cell",
    "showdown_cells",
    "ShowdownResults",
    "SHOWDOWN_RESULTS_FILE",
    "FORGET_BIAS_RESULTS_FILE",
    "packaged_results_file",
    "load_showdown_results",
    "save_showdown_results",
    "copy_memory_fingerprint",
    "CopyMemoryBatch",
    "Agreement",
    "compare_with_stored",
    "agreement_table",
    "showdown_table",
    "plot_showdown",
]

#: The two tasks: the adding problem (T = length) and copy-memory (delay = length).
SHOWDOWN_TASKS = ("adding", "copy")
#: The four contestants, in the order of every table and plot.
SHOWDOWN_KINDS = ("rnn", "gru", "lstm", "transformer")
#: Hidden sizes that give the recurrent models about the same number of parameters (see ``count_parameters``):
#: adding 4687 / 4589 / 4641, copy 5818 / 5819 / 5962 for RNN / GRU / LSTM.
SHOWDOWN_HIDDEN_SIZES = {"rnn": 66, "gru": 37, "lstm": 32}
#: The Transformer: ONE post-norm encoder layer, d_model 24, 2 heads, feed-forward 48 (adding 4969, copy 5362
#: parameters).
SHOWDOWN_TRANSFORMER = {"d_model": 24, "num_heads": 2, "d_ff": 48, "num_layers": 1}
#: An adding-problem cell is solved when its test MSE is below this (the baseline is 1/6 ≈ 0.167).
ADDING_SOLVED_MSE = 0.01
#: A copy-memory cell is solved when at least this share of the answer symbols is right (chance is 1/8).
COPY_SOLVED_ACCURACY = 0.9
#: A re-run copy cell agrees with the stored one when the accuracies differ by at most this.
COPY_TOLERANCE = 0.05


def adding_tolerance(stored_mse: float) -> float:
    """How far a re-run adding cell's test MSE may be from the stored one and still agree:
    ``max(0.005, 0.2 * stored_mse)`` (20 %, and never less than half the "solved" threshold)."""
    return max(0.005, 0.2 * stored_mse)


@dataclass(frozen=True)
class ShowdownBudget:
    """The recipe every cell of the showdown follows; budgets are in steps, never seconds.

    Each cell draws a fresh training batch at every step from a generator seeded with the cell's ``seed``, its test
    batch from a generator seeded with ``seed + test_seed_offset``, and initialises its model after
    ``torch.manual_seed(seed)``.  Gradients are clipped to a total norm of ``clip_norm`` before every Adam step.

    Attributes:
        steps: Adam steps, the same for every model.
        batch_size: sequences per step.
        recurrent_lr: Adam's learning rate for the RNN, GRU and LSTM (the course's adding-problem rate).
        transformer_lr: Adam's learning rate for the Transformer (lesson 07's rate).
        clip_norm: gradient clipping, the same for every model.
        n_symbols: symbols to remember in copy-memory (K).
        lengths: the sweep's lengths (adding: T; copy: the delay).
        seeds: the sweep's seeds.
        test_size: held-out sequences per cell.
        test_seed_offset: the test batch's generator is seeded with ``seed + test_seed_offset``.
        lstm_forget_bias: the LSTM's forget-gate bias b_f at initialisation (``models.set_forget_gate_bias``, after
            PyTorch's initialisation, so that every other weight is the same as without it); ``None`` keeps
            PyTorch's default, small random biases around 0.  The other models ignore it.
    """

    steps: int = 2000
    batch_size: int = 32
    recurrent_lr: float = 1e-2
    transformer_lr: float = 3e-3
    clip_norm: float = 1.0
    n_symbols: int = 10
    lengths: tuple[int, ...] = (25, 50, 100, 200, 400)
    seeds: tuple[int, ...] = (0, 1)
    test_size: int = 500
    test_seed_offset: int = 1000
    lstm_forget_bias: float | None = None

    def lr(self, kind: str) -> float:
        """Adam's learning rate for a model of this ``kind``."""
        _check_kind(kind)
        return self.transformer_lr if kind == "transformer" else self.recurrent_lr

    def as_dict(self) -> dict[str, Any]:
        """The budget as plain JSON values (tuples become lists), as stored in a results file."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


#: The course's showdown recipe (see ``ShowdownBudget``).
SHOWDOWN_BUDGET = ShowdownBudget()

#: The same recipe with the LSTM's standard remedy, a forget-gate bias of 1 (lesson 04): its LSTM cells are stored
#: apart from the main sweep (``FORGET_BIAS_RESULTS_FILE``), so both LSTMs can be shown side by side.
FORGET_BIAS_BUDGET = dataclasses.replace(SHOWDOWN_BUDGET, lstm_forget_bias=1.0)


def _check_kind(kind: object) -> str:
    if kind not in SHOWDOWN_KINDS:
        raise ValueError(f"kind should be one of {SHOWDOWN_KINDS}, got {kind!r}")
    return kind  # type: ignore[return-value]


def _check_task(task: object) -> str:
    if task not in SHOWDOWN_TASKS:
        raise ValueError(f"task should be one of {SHOWDOWN_TASKS}, got {task!r}")
    return task  # type: ignore[return-value]


def showdown_model(kind: str, task: str) -> nn.Module:
    """A fresh model of the showdown (initialised from torch's global generator: seed it first).

    - ``task="adding"``: ``(B, T, 2)`` float32 -> ``(B, 1)``, read off the last step: a
      :class:`~seqlab.models.RecurrentRegressor` or :class:`~seqlab.models.TransformerRegressor`.
    - ``task="copy"``: ``(B, T)`` int64 tokens -> ``(B, T, MEMORY_VOCAB)`` logits at every step: a
      :class:`~seqlab.models.RecurrentTagger` or :class:`~seqlab.models.TransformerTagger`.

    Sizes: ``SHOWDOWN_HIDDEN_SIZES`` and ``SHOWDOWN_TRANSFORMER``, chosen so that the four models of a task have
    parameter counts within 15 % of each other.
    """
    _check_kind(kind)
    _check_task(task)
    if task == "adding":
        if kind == "transformer":
            return TransformerRegressor(2, **SHOWDOWN_TRANSFORMER)
        return RecurrentRegressor(kind, 2, SHOWDOWN_HIDDEN_SIZES[kind])
    if kind == "transformer":
        return TransformerTagger(MEMORY_VOCAB, **SHOWDOWN_TRANSFORMER)
    return RecurrentTagger(kind, MEMORY_VOCAB, SHOWDOWN_HIDDEN_SIZES[kind])


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (scalars) of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model should be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run the block on one torch thread with deterministic algorithms; restore both settings afterwards.

    On the same machine, the same computation then gives the same bits in a notebook and in a worker process.
    """
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


@dataclass(frozen=True)
class ShowdownResult:
    """One cell of the showdown.

    Attributes:
        task, kind, length, seed: which cell.
        params: the model's number of parameters.
        metric: adding: test MSE; copy: accuracy on the answer positions of the held-out batch.
        solved: adding: ``metric < ADDING_SOLVED_MSE``; copy: ``metric >= COPY_SOLVED_ACCURACY``.
        seconds: wall time of the training steps (machine- and load-dependent: compare, never assert).
    """

    task: str
    kind: str
    length: int
    seed: int
    params: int
    metric: float
    solved: bool
    seconds: float

    @property
    def key(self) -> tuple[str, str, int, int]:
        """``(task, kind, length, seed)``."""
        return (self.task, self.kind, self.length, self.seed)


def _is_solved(task: str, metric: float) -> bool:
    return metric < ADDING_SOLVED_MSE if task == "adding" else metric >= COPY_SOLVED_ACCURACY


CopyMemoryBatch = Callable[[int, int, int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def _copy_batch(copy_memory_batch: CopyMemoryBatch, batch_size: int, n_symbols: int, delay: int,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    out = copy_memory_batch(batch_size, n_symbols, delay, generator)
    T = 2 * n_symbols + delay + 1
    if (
        not isinstance(out, tuple)
        or len(out) != 2
        or not all(isinstance(t, torch.Tensor) and t.dtype == torch.long and tuple(t.shape) == (batch_size, T)
                   for t in out)
    ):  # fmt: skip
        raise ValueError(
            f"copy_memory_batch({batch_size}, {n_symbols}, {delay}, generator) should return (X, Y), two int64 "
            f"tensors of shape (batch_size, 2 * n_symbols + delay + 1) = {(batch_size, T)}"
        )
    return out


def run_showdown_cell(
    task: str,
    kind: str,
    length: int,
    seed: int,
    budget: ShowdownBudget = SHOWDOWN_BUDGET,
    copy_memory_batch: CopyMemoryBatch | None = None,
) -> ShowdownResult:
    """Train one model of the showdown on one task and length, and test it on a held-out batch.

    The model is ``showdown_model(kind, task)`` initialised after ``torch.manual_seed(seed)`` (torch's global
    generator is left as it was).  Every step draws a fresh batch of ``budget.batch_size`` sequences and takes one
    Adam step at ``budget.lr(kind)`` after clipping the gradients to ``budget.clip_norm``:

    - adding: ``X, Y = adding_problem_batch(B, length, gen)``, ``X`` ``(B, T, 2)``, loss = MSE of ``model(X)``
      ``(B, 1)``;
    - copy: ``X, Y = copy_memory_batch(B, K, length, gen)`` with ``K = budget.n_symbols``, ``X, Y`` ``(B, T)`` int64,
      ``T = 2K + length + 1``; the loss is the cross-entropy of ``model(X)`` ``(B, T, 10)`` on the K answer
      positions only (the last K; every other target is a blank, which is trivial to predict and would only
      dilute the loss).

    Runs on one torch thread (``single_thread``), so that the same cell gives the same bits on the same machine.

    Args:
        task: ``"adding"`` or ``"copy"``.
        kind: ``"rnn"``, ``"gru"``, ``"lstm"`` or ``"transformer"``.
        length: adding: the sequence length T (at least 2); copy: the delay (at least 0).
        seed: seeds the model's initialisation, the training batches (``seed``) and the test batch
            (``seed + budget.test_seed_offset``).
        budget: the recipe (default: the course's ``SHOWDOWN_BUDGET``).
        copy_memory_batch: the copy-memory generator, ``(batch_size, n_symbols, delay, generator) -> (X, Y)``;
            required for ``task="copy"`` (in the lesson: your exercise).

    Returns:
        A :class:`ShowdownResult`.
    """
    _check_task(task)
    _check_kind(kind)
    check_int("length", length, minimum=2 if task == "adding" else 0)
    check_int("seed", seed, minimum=0)
    if not isinstance(budget, ShowdownBudget):
        raise TypeError(f"budget should be a ShowdownBudget, got {type(budget).__name__}")
    if task == "copy" and not callable(copy_memory_batch):
        raise TypeError(
            "the copy task needs copy_memory_batch=...: a function (batch_size, n_symbols, delay, generator) -> "
            f"(X, Y), e.g. the one you wrote in the exercise; got {type(copy_memory_batch).__name__}"
        )
    K, B = budget.n_symbols, budget.batch_size

    def batch(size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if task == "adding":
            return adding_problem_batch(size, length, generator)
        return _copy_batch(copy_memory_batch, size, K, length, generator)  # type: ignore[arg-type]

    def loss_of(model: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        if task == "adding":
            return ((model(X) - Y) ** 2).mean()
        logits = model(X)[:, -K:]  # (B, K, V): the answer positions
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), Y[:, -K:].reshape(-1))

    with single_thread():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = showdown_model(kind, task)
        if kind == "lstm" and budget.lstm_forget_bias is not None:
            set_forget_gate_bias(model.recurrent, budget.lstm_forget_bias)
        train_gen = torch.Generator().manual_seed(seed)
        model.train()
        start = time.perf_counter()
        fit(
            lambda step: loss_of(model, *batch(B, train_gen)),
            model,
            budget.steps,
            lr=budget.lr(kind),
            desc=f"{task} {kind} {length}",
            clip_norm=budget.clip_norm,
        )
        seconds = time.perf_counter() - start
        model.eval()
        X_test, Y_test = batch(budget.test_size, torch.Generator().manual_seed(seed + budget.test_seed_offset))
        with torch.no_grad():
            if task == "adding":
                metric = float(((model(X_test) - Y_test) ** 2).mean())
            else:
                right = 0
                for rows in torch.split(torch.arange(budget.test_size), 100):  # chunks: attention is (B, T, T)
                    guess = model(X_test[rows])[:, -K:].argmax(dim=-1)
                    right += int((guess == Y_test[rows, -K:]).sum())
                metric = right / (budget.test_size * K)
    return ShowdownResult(task, kind, length, seed, count_parameters(model), metric, _is_solved(task, metric), seconds)


def showdown_cells(
    budget: ShowdownBudget = SHOWDOWN_BUDGET,
    tasks: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    lengths: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
) -> list[tuple[str, str, int, int]]:
    """Every ``(task, kind, length, seed)`` of the sweep (default: all tasks and kinds, the budget's lengths and
    seeds), in table order."""
    tasks = SHOWDOWN_TASKS if tasks is None else [_check_task(t) for t in tasks]
    kinds = SHOWDOWN_KINDS if kinds is None else [_check_kind(k) for k in kinds]
    lengths = budget.lengths if lengths is None else lengths
    seeds = budget.seeds if seeds is None else seeds
    return [(t, k, n, s) for t in tasks for k in kinds for n in lengths for s in seeds]


# ---------------------------------------------------------------------------------------------------------------
# Stored results
# ---------------------------------------------------------------------------------------------------------------

#: Name of the packaged results file (inside the ``seqlab`` package).
SHOWDOWN_RESULTS_FILE = "showdown_results.json"
#: Name of the packaged results file of the LSTM cells with ``FORGET_BIAS_BUDGET``.
FORGET_BIAS_RESULTS_FILE = "showdown_forget_bias.json"


@dataclass(frozen=True)
class ShowdownResults:
    """A stored sweep: the cells, the budget that made them and the command that ran it.

    Attributes:
        command: the exact command line, e.g. ``"seqlab showdown --workers 2"``.
        torch_version: ``torch.__version__`` of the run.
        date: when the sweep finished (UTC, ISO 8601).
        platform: ``platform.platform()`` and processor of the machine.
        budget: the ``ShowdownBudget`` as a dict (``ShowdownBudget.as_dict``).
        results: one :class:`ShowdownResult` per cell.
        copy_memory_batch: where the copy-memory generator came from (``"notebook"``, ``"grade_id"``) and
            ``"fingerprint"``, :func:`copy_memory_fingerprint` of it.
    """

    command: str
    torch_version: str
    date: str
    platform: str
    budget: dict[str, Any]
    results: tuple[ShowdownResult, ...]
    copy_memory_batch: dict[str, str] = dataclasses.field(default_factory=dict)

    def get(self, task: str, kind: str, length: int, seed: int) -> ShowdownResult:
        """The stored cell ``(task, kind, length, seed)`` (KeyError if the sweep did not run it)."""
        for result in self.results:
            if result.key == (task, kind, length, seed):
                return result
        raise KeyError(f"no stored cell {(task, kind, length, seed)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, as written to the file."""
        return {
            "command": self.command,
            "torch_version": self.torch_version,
            "date": self.date,
            "platform": self.platform,
            "budget": self.budget,
            "copy_memory_batch": self.copy_memory_batch,
            "results": [dataclasses.asdict(r) for r in self.results],
        }


def packaged_results_file(budget: ShowdownBudget = SHOWDOWN_BUDGET) -> Path:
    """Where this package keeps the stored sweep of ``budget``: ``SHOWDOWN_RESULTS_FILE`` for the course's recipe,
    ``FORGET_BIAS_RESULTS_FILE`` when the LSTM has a forget-gate bias."""
    name = SHOWDOWN_RESULTS_FILE if budget.lstm_forget_bias is None else FORGET_BIAS_RESULTS_FILE
    return Path(str(importlib.resources.files("seqlab") / name))


def copy_memory_fingerprint(copy_memory_batch: CopyMemoryBatch) -> str:
    """SHA-256 (hex) of the batch ``copy_memory_batch(4, 3, 5, torch.Generator().manual_seed(0))``: two generators
    with the same fingerprint make the same batches there (a cheap check that a re-run uses the same data)."""
    X, Y = _copy_batch(copy_memory_batch, 4, 3, 5, torch.Generator().manual_seed(0))
    return hashlib.sha256(X.numpy().tobytes() + Y.numpy().tobytes()).hexdigest()


def save_showdown_results(
    results: Iterable[ShowdownResult],
    path: str | Path,
    command: str,
    budget: ShowdownBudget = SHOWDOWN_BUDGET,
    copy_memory_batch: dict[str, str] | None = None,
) -> ShowdownResults:
    """Write a sweep to ``path`` (JSON, cells in table order) with its command, budget, torch version and date
    (and where its copy-memory generator came from, see ``ShowdownResults``)."""
    results = list(results)
    order = {key: i for i, key in enumerate(showdown_cells(budget, lengths=sorted({r.length for r in results}),
                                                           seeds=sorted({r.seed for r in results})))}  # fmt: skip
    cells = sorted(results, key=lambda r: order.get(r.key, len(order)))
    stored = ShowdownResults(
        command=command,
        torch_version=torch.__version__,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        platform=f"{platform.platform()} {platform.processor()}".strip(),
        budget=budget.as_dict(),
        results=tuple(cells),
        copy_memory_batch=dict(copy_memory_batch or {}),
    )
    Path(path).write_text(json.dumps(stored.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return stored


def load_showdown_results(path: str | Path | None = None, budget: ShowdownBudget = SHOWDOWN_BUDGET) -> ShowdownResults:
    """Read a stored sweep (default: the one this package ships for ``budget``, made by ``seqlab showdown``; see
    ``packaged_results_file``).  A budget field the file does not record was added after the file was made: it
    counts as that field's default, which is what the code did before the field existed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file was made with another budget than ``budget`` (stale results: re-run the sweep).
    """
    file = packaged_results_file(budget) if path is None else Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no stored showdown results (the instructor's `seqlab showdown` makes them)")
    data = json.loads(file.read_text(encoding="utf-8"))
    expected = budget.as_dict()
    found = {**ShowdownBudget().as_dict(), **data.get("budget", {})}
    if found != expected:
        changed = sorted(k for k in set(expected) | set(found) if found.get(k) != expected.get(k))
        raise ValueError(
            f"{file} was made with another budget than the one expected: stored "
            f"{ {k: found.get(k) for k in changed} }, expected { {k: expected.get(k) for k in changed} }; "
            "the results are stale: re-run `seqlab showdown`"
        )
    results = tuple(ShowdownResult(**record) for record in data["results"])
    return ShowdownResults(data["command"], data["torch_version"], data["date"], data["platform"], data["budget"],
                           results, data.get("copy_memory_batch", {}))  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Agreement of a re-run with the stored sweep
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """A re-run cell next to its stored twin.

    ``agree`` is True when both have the same ``solved`` verdict and their metrics differ by at most ``tolerance``
    (copy: ``COPY_TOLERANCE``; adding: ``adding_tolerance(stored)``).
    """

    task: str
    kind: str
    length: int
    seed: int
    stored: float
    rerun: float
    tolerance: float
    agree: bool


def compare_with_stored(results: Iterable[ShowdownResult], stored: ShowdownResults) -> list[Agreement]:
    """Compare re-run cells with the stored sweep, one :class:`Agreement` per re-run cell (in the given order).

    Raises:
        KeyError: a re-run cell is not in the stored sweep.
    """
    rows = []
    for result in results:
        if not isinstance(result, ShowdownResult):
            raise TypeError(f"results should hold ShowdownResult (from run_showdown_cell), got {type(result).__name__}")
        twin = stored.get(*result.key)
        tolerance = COPY_TOLERANCE if result.task == "copy" else adding_tolerance(twin.metric)
        agree = twin.solved == result.solved and abs(twin.metric - result.metric) <= tolerance
        rows.append(Agreement(*result.key, twin.metric, result.metric, tolerance, agree))
    return rows


def _format_metric(task: str, value: float) -> str:
    return f"{value:.4f}" if task == "adding" else f"{value:.3f}"


def agreement_table(rows: Sequence[Agreement]) -> str:
    """A plain-text table of :func:`compare_with_stored`'s rows (metrics rounded for printing)."""
    lines = [f"{'task':<7} {'model':<12} {'length':>6} {'seed':>4} {'stored':>8} {'re-run':>8} {'tolerance':>9}  agree"]
    for r in rows:
        lines.append(
            f"{r.task:<7} {r.kind:<12} {r.length:>6} {r.seed:>4} {_format_metric(r.task, r.stored):>8} "
            f"{_format_metric(r.task, r.rerun):>8} {_format_metric(r.task, r.tolerance):>9}  "
            + ("yes" if r.agree else "NO")
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------------------------------------------

_NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "transformer": "Transformer"}


def _by_cell(stored: ShowdownResults) -> dict[tuple[str, str, int], list[ShowdownResult]]:
    cells: dict[tuple[str, str, int], list[ShowdownResult]] = {}
    for r in stored.results:
        cells.setdefault((r.task, r.kind, r.length), []).append(r)
    return cells


def showdown_table(stored: ShowdownResults, what: str = "metric") -> str:
    """A markdown table of a stored sweep, one block per task: rows = models (with their parameter counts),
    columns = lengths.

    Args:
        stored: e.g. ``load_showdown_results()``.
        what: ``"metric"``: the median over seeds of the test MSE (adding) or answer accuracy (copy), with ``✓``
            when every seed solved the cell and e.g. ``(1/2 ✓)`` when only some did; ``"seconds"``: the median
            training time in seconds (of the stored run: its machine, two workers at once).
    """
    if what not in ("metric", "seconds"):
        raise ValueError(f"what should be 'metric' or 'seconds', got {what!r}")
    cells = _by_cell(stored)
    lines: list[str] = []
    for task in SHOWDOWN_TASKS:
        lengths = sorted({n for (t, _, n) in cells if t == task})
        if not lengths:
            continue
        label = {
            "adding": "adding problem: test MSE (baseline 0.167)",
            "copy": "copy-memory: answer accuracy (chance 0.125)",
        }
        title = label[task] if what == "metric" else f"{task}: training seconds"
        head = "T" if task == "adding" else "delay"
        if lines:
            lines.append("")
        lines.append(f"| {title} | " + " | ".join(f"{head} = {n}" for n in lengths) + " |")
        lines.append("|---|" + "---:|" * len(lengths))
        for kind in SHOWDOWN_KINDS:
            runs = [cells.get((task, kind, n), []) for n in lengths]
            if not any(runs):
                continue
            params = next(r.params for rs in runs for r in rs)
            row = []
            for rs in runs:
                if not rs:
                    row.append("")
                elif what == "seconds":
                    row.append(f"{statistics.median(r.seconds for r in rs):.0f}")
                else:
                    solved = sum(r.solved for r in rs)
                    mark = " ✓" if solved == len(rs) else f" ({solved}/{len(rs)} ✓)" if solved else ""
                    row.append(_format_metric(task, statistics.median(r.metric for r in rs)) + mark)
            lines.append(f"| {_NAMES[kind]} ({params:,} params) | " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot_showdown(stored: ShowdownResults):
    """One figure, two panels: the adding problem's test MSE (log scale, baseline 1/6 dashed) and copy-memory's
    answer accuracy (chance 1/8 dashed) against the length, one line per model through the medians over seeds,
    each seed a dot.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    cells = _by_cell(stored)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, task in zip(axes, SHOWDOWN_TASKS, strict=True):
        for i, kind in enumerate(SHOWDOWN_KINDS):
            lengths = sorted(n for (t, k, n) in cells if t == task and k == kind)
            if not lengths:
                continue
            color = f"C{i}"
            medians = [statistics.median(r.metric for r in cells[(task, kind, n)]) for n in lengths]
            ax.plot(lengths, medians, marker="o", color=color, label=_NAMES[kind])
            xs = [n for n in lengths for _ in cells[(task, kind, n)]]
            ys = [r.metric for n in lengths for r in cells[(task, kind, n)]]
            ax.scatter(xs, ys, color=color, s=12, alpha=0.5)
        ax.set_xscale("log")
        ticks = sorted({n for (t, _, n) in cells if t == task})
        ax.set_xticks(ticks, [str(n) for n in ticks])
        ax.minorticks_off()
        if task == "adding":
            ax.axhline(ADDING_BASELINE_MSE, linestyle="--", color="gray", linewidth=1, label="predict the mean (1/6)")
            ax.axhline(ADDING_SOLVED_MSE, linestyle=":", color="gray", linewidth=1, label="solved (0.01)")
            ax.set_yscale("log")
            ax.set_title("Adding problem")
            ax.set_xlabel("sequence length T")
            ax.set_ylabel("test MSE (lower is better)")
        else:
            ax.axhline(MEMORY_CHANCE_ACCURACY, linestyle="--", color="gray", linewidth=1, label="chance (1/8)")
            ax.axhline(COPY_SOLVED_ACCURACY, linestyle=":", color="gray", linewidth=1, label="solved (0.9)")
            ax.set_ylim(0, 1.05)
            ax.set_title("Copy-memory")
            ax.set_xlabel("delay (blanks between the symbols and the cue)")
            ax.set_ylabel("answer accuracy (higher is better)")
        ax.legend(fontsize=8)
    seeds = sorted({r.seed for r in stored.results})
    fig.suptitle(f"Same steps, about the same parameters: lines = median over seeds {seeds}, dots = each seed")
    fig.tight_layout()
    return fig
