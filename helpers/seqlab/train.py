"""A minimal, seeded training loop with a progress bar that stays out of stored outputs.

::

    def loss_on_fresh_batch(step: int) -> torch.Tensor:
        X, Y = data.echo_batch(64, 20, 2, gen)
        return ((model(X) - Y) ** 2).mean()

    losses = fit(loss_on_fresh_batch, params, steps=300, lr=1e-2)

The progress bar is tqdm's notebook widget in JupyterLab; it is hidden while nbgrader grades and
whenever ``SEQLAB_PROGRESS=0`` (``seqlab execute`` and the test suite set it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypeVar

import torch
from torch import nn

from seqlab.session import progress_enabled

__all__ = ["fit", "progress"]

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
) -> list[float]:
    """Minimise ``loss_fn`` with Adam for ``steps`` steps.

    Args:
        loss_fn: called as ``loss_fn(step)``; returns a scalar loss, usually on a fresh batch.
        params: the tensors to train (leaf tensors with ``requires_grad=True``) or an ``nn.Module``.
        steps: number of optimisation steps (budgets are in steps, never seconds).
        lr: Adam's learning rate.
        desc: label of the progress bar.

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
        value = float(loss.detach())
        losses.append(value)
        if hasattr(bar, "set_postfix") and (step % 20 == 0 or not math.isfinite(value)):
            bar.set_postfix(loss=f"{value:.4f}")
    return losses
