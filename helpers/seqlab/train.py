"""A minimal, seeded training loop with a progress bar that stays out of stored outputs.

::

    def loss_on_fresh_batch(step: int) -> torch.Tensor:
        X, Y = data.echo_batch(64, 20, 2, gen)
        return ((model(X) - Y) ** 2).mean()

    losses = fit(loss_on_fresh_batch, params, steps=300, lr=1e-2)

``train_adding_problem`` trains any (B, T, 2) -> (B, 1) model on the adding problem with the course's
shared budget ``ADDING_BUDGET``, so that lessons 02, 03, 04 and 08 compare architectures on the same data
with the same number of steps.

The progress bar is tqdm's notebook widget in JupyterLab; it is hidden while nbgrader grades and
whenever ``SEQLAB_PROGRESS=0`` (``seqlab execute`` and the test suite set it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn

from seqlab.data import adding_problem_batch
from seqlab.session import progress_enabled

__all__ = ["ADDING_BUDGET", "AddingBudget", "AddingRun", "fit", "progress", "train_adding_problem"]

T = TypeVar("T")


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterable[T]:
    """Wrap ``iterable`` in a progress bar (a tqdm object) when running interactively, else an iterator."""
    if not progress_enabled():
        return iter(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


def _as_parameter_list(params: Iterable[torch.Tensor] | nn.Module) -> list[torch.Tensor]:
    tensors = list(params.parameters()) if isinstance(params, nn.Module) else list(params)
    if not tensors:
        raise ValueError("params is empty: pass the tensors (or the nn.Module) to train")
    for index, tensor in enumerate(tensors):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"params[{index}] should be a torch.Tensor, got {type(tensor).__name__}")
        if not (tensor.is_leaf and tensor.requires_grad):
            raise ValueError(
                f"params[{index}] (shape {tuple(tensor.shape)}) must be a leaf tensor with requires_grad=True, "
                "e.g. torch.randn(D, H).mul_(0.1).requires_grad_()"
            )
    return tensors


def fit(
    loss_fn: Callable[[int], torch.Tensor],
    params: Iterable[torch.Tensor] | nn.Module,
    steps: int,
    lr: float = 1e-2,
    desc: str = "training",
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Minimise ``loss_fn`` with Adam for ``steps`` steps.

    Args:
        loss_fn: called as ``loss_fn(step)``; returns a scalar loss, usually on a fresh batch.
        params: the tensors to train (leaf tensors with ``requires_grad=True``) or an ``nn.Module``.
        steps: number of optimisation steps (budgets are in steps, never seconds).
        lr: Adam's learning rate.
        desc: label of the progress bar.
        on_step: called as ``on_step(step)`` after each update, while the step's gradients are still
            in place (e.g. to record gradient norms).

    Returns:
        The loss at every step, as Python floats (``nan``/``inf`` are recorded, not raised).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps should be a non-negative int, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr should be positive, got {lr!r}")
    tensors = _as_parameter_list(params)
    optimizer = torch.optim.Adam(tensors, lr=lr)
    losses: list[float] = []
    bar = progress(range(steps), total=steps, desc=desc)
    for step in bar:
        loss = loss_fn(step)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"loss_fn should return a scalar tensor, got {loss!r}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step is not None:
            on_step(step)
        value = float(loss.detach())
        losses.append(value)
        if hasattr(bar, "set_postfix") and (step % 20 == 0 or not math.isfinite(value)):
            bar.set_postfix(loss=f"{value:.4f}")
    return losses


@dataclass(frozen=True)
class AddingBudget:
    """Everything that makes two adding-problem runs comparable: the data, the steps, the optimiser.

    The training batches come from a generator seeded with ``seed``, the test batch from ``seed + 1``, so
    every model sees exactly the same sequences.  ``hidden_size`` is what the lessons give each model.
    """

    length: int = 100
    steps: int = 2000
    batch_size: int = 32
    hidden_size: int = 32
    lr: float = 1e-2
    test_size: int = 1000
    seed: int = 0


#: The course's adding-problem benchmark: T = 100, 2000 Adam steps of 32 sequences (lessons 02-04, 08).
ADDING_BUDGET = AddingBudget()


@dataclass
class AddingRun:
    """What ``train_adding_problem`` measured.

    Attributes:
        losses: training MSE at every step.
        test_mse: MSE on ``budget.test_size`` fresh sequences after training.
        recorded_steps: the steps at which ``input_grad_norms`` were recorded.
        input_grad_norms: ``(len(recorded_steps), T)``; entry ``[r, t]`` is the batch mean of
            ``||dL/dx_{t+1}||`` at step ``recorded_steps[r]``: how much gradient reaches the input at each
            time step, through every path (empty when nothing was recorded).
    """

    losses: list[float]
    test_mse: float
    recorded_steps: list[int]
    input_grad_norms: torch.Tensor


def train_adding_problem(
    model: nn.Module,
    budget: AddingBudget = ADDING_BUDGET,
    record_every: int = 0,
    desc: str = "adding problem",
) -> AddingRun:
    """Train ``model`` ((B, T, 2) -> (B, 1)) on the adding problem with ``budget``; evaluate on a test batch.

    Args:
        model: the network, e.g. :class:`seqlab.models.RecurrentRegressor`.
        budget: data, steps and learning rate (default: the course's shared ``ADDING_BUDGET``).
        record_every: every this many steps, record how much gradient reaches the input at each time
            step, ``||dL/dx_t||`` (0: never).  Recording does not change the training.
        desc: label of the progress bar.
    """
    if isinstance(record_every, bool) or not isinstance(record_every, int) or record_every < 0:
        raise ValueError(f"record_every should be a non-negative int, got {record_every!r}")
    train_gen = torch.Generator().manual_seed(budget.seed)
    recorded_steps: list[int] = []
    records: list[torch.Tensor] = []
    watched: list[torch.Tensor] = []

    def loss_on_fresh_batch(step: int) -> torch.Tensor:
        X, Y = adding_problem_batch(budget.batch_size, budget.length, train_gen)
        watched.clear()
        if record_every and step % record_every == 0:
            X.requires_grad_()  # a leaf: its .grad is filled by the same backward pass
            watched.append(X)
        return ((model(X) - Y) ** 2).mean()

    def record(step: int) -> None:
        if watched:
            recorded_steps.append(step)
            records.append(watched[0].grad.norm(dim=-1).mean(dim=0))

    losses = fit(loss_on_fresh_batch, model, budget.steps, lr=budget.lr, desc=desc, on_step=record)
    X_test, Y_test = adding_problem_batch(
        budget.test_size, budget.length, torch.Generator().manual_seed(budget.seed + 1)
    )
    with torch.no_grad():
        test_mse = float(((model(X_test) - Y_test) ** 2).mean())
    norms = torch.stack(records) if records else torch.empty(0, budget.length)
    return AddingRun(losses, test_mse, recorded_steps, norms)
