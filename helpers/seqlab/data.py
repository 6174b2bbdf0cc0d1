"""Seeded synthetic sequence tasks.  Nothing is downloaded: every batch is generated.

Each function takes a ``torch.Generator`` so that a notebook controls its own randomness::

    gen = torch.Generator().manual_seed(0)
    X, Y = adding_problem_batch(64, 100, gen)

All tensors are batch-first float32: inputs ``(B, T, D)``.
"""

from __future__ import annotations

import torch

__all__ = ["echo_batch", "adding_problem_batch", "ADDING_BASELINE_MSE"]

#: MSE of always predicting the mean (1.0) on the adding problem: Var(U1 + U2) = 2/12 = 1/6.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} should be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} should be at least {minimum}, got {value}")
    return value


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator should be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(generator).__name__}"
        )
    return generator


def echo_batch(
    batch_size: int, length: int, delay: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The delayed-echo task: repeat the input ``delay`` steps later.

    Inputs are random signs ``±1``; the target at step ``t`` is the input at step ``t - delay``,
    and 0 for the first ``delay`` steps.  A model that sees only the current input (no memory)
    cannot beat predicting 0, whose MSE is ``(length - delay) / length``.

    Returns:
        ``X`` ``(B, T, 1)`` and ``Y`` ``(B, T, 1)``, float32.
    """
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("length", length)
    _check_positive_int("delay", delay)
    if delay >= length:
        raise ValueError(f"delay should be smaller than length, got delay={delay}, length={length}")
    _check_generator(generator)
    signs = torch.randint(0, 2, (batch_size, length, 1), generator=generator).float() * 2 - 1
    targets = torch.zeros_like(signs)
    targets[:, delay:] = signs[:, :-delay]
    return signs, targets


def adding_problem_batch(batch_size: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015).

    Each step carries two numbers: a value drawn uniformly from ``[0, 1)`` and a marker.  Exactly two
    markers are 1, one in the first half of the sequence and one in the second; the target is the
    sum of the two marked values.  Predicting the mean (1.0) scores ``ADDING_BASELINE_MSE = 1/6``.

    Returns:
        ``X`` ``(B, T, 2)`` (channel 0 values, channel 1 markers) and ``Y`` ``(B, 1)``, float32.
    """
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("length", length, minimum=2)
    _check_generator(generator)
    values = torch.rand(batch_size, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)
    second = torch.randint(half, length, (batch_size,), generator=generator)
    markers = torch.zeros(batch_size, length)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = torch.stack([values, markers], dim=-1)
    Y = (values * markers).sum(dim=1, keepdim=True)
    return X, Y
