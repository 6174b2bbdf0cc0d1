"""Plotting helpers shared by the lessons (matplotlib only): training curves.  Diagrams are in ``seqlab.diagrams``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from seqlab.validate import check_int

__all__ = ["plot_curves", "moving_average"]


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average; the first ``window - 1`` points average what exists so far."""
    check_int("window", window, expected="a positive int")
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"values should be one-dimensional, got shape {array.shape}")
    cumulative = np.cumsum(np.insert(array, 0, 0.0))
    counts = np.minimum(np.arange(1, len(array) + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, len(array) + 1) - counts]) / counts


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str = "training step",
    ylabel: str = "loss (MSE)",
    baselines: Mapping[str, float] | None = None,
    smooth: int = 1,
    logy: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Plot named curves (e.g. loss per step) with optional horizontal baselines.

    Args:
        curves: label -> values, one value per step.
        title, xlabel, ylabel: figure text (every figure gets a title and labelled axes).
        baselines: label -> constant drawn as a dashed line (e.g. the predict-the-mean MSE).
        smooth: moving-average window applied before plotting.
        logy: logarithmic y axis.
        ax: draw into this Axes instead of a new figure.
    """
    if not curves:
        raise ValueError("curves is empty: pass at least one label -> values")
    if ax is None:
        _, ax = plt.subplots()
    for label, values in curves.items():
        ax.plot(moving_average(values, smooth), label=label)
    for label, value in (baselines or {}).items():
        ax.axhline(value, linestyle="--", color="gray", linewidth=1)
        ax.annotate(label, (0, value), textcoords="offset points", xytext=(4, 4), color="gray", fontsize=8)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
