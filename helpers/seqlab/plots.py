"""Plotting helpers shared by the lessons (matplotlib only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

__all__ = ["plot_curves", "moving_average", "draw_unrolled_rnn", "draw_birnn", "draw_lstm_cell", "draw_seq2seq"]


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average; the first ``window - 1`` points average what exists so far."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window should be a positive int, got {window!r}")
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


def draw_unrolled_rnn(steps: int = 4, feedback: str = "h", ax: Axes | None = None) -> Axes:
    """Draw an RNN unrolled over ``steps`` time steps: inputs below, states in the middle, outputs above.

    Args:
        steps: how many time steps to draw (1 … 8).
        feedback: ``"h"`` for an Elman network (the state feeds the next step) or ``"y"`` for a
            Jordan network (the output feeds the next step).
        ax: draw into this Axes instead of a new figure.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 8:
        raise ValueError(f"steps should be an int from 1 to 8, got {steps!r}")
    if feedback not in ("h", "y"):
        raise ValueError(f"feedback should be 'h' (Elman) or 'y' (Jordan), got {feedback!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * steps + 1.2, 3.0))
    rows = {"x": 0.0, "h": 1.0, "y": 2.0}
    colours = {"x": "#dbe9f6", "h": "#fde2c4", "y": "#d9f0d3"}
    arrow = {"arrowstyle": "->", "color": "black", "lw": 1.2}
    for t in range(1, steps + 1):
        for row, height in rows.items():
            ax.text(
                t,
                height,
                f"${row}_{{{t}}}$",
                ha="center",
                va="center",
                fontsize=12,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": colours[row], "edgecolor": "gray"},
            )
        ax.annotate("", xy=(t, 0.78), xytext=(t, 0.22), arrowprops=arrow)
        ax.annotate("", xy=(t, 1.78), xytext=(t, 1.22), arrowprops=arrow)
        start = (t - 1, rows[feedback]) if feedback == "h" else (t - 1, 1.9)
        if t > 1:
            ax.annotate("", xy=(t - 0.25, 1.0), xytext=(start[0] + 0.25, start[1]), arrowprops=arrow)
    ax.annotate("", xy=(0.75, 1.0), xytext=(0.25, 1.0), arrowprops=arrow)
    ax.text(0.1, 1.0, "$h_0$" if feedback == "h" else "$y_0$", ha="center", va="center", fontsize=12)
    ax.text(1.08, 0.5, "$W_{xh}$", fontsize=9)
    ax.text(1.08, 1.5, "$W_{hy}$", fontsize=9)
    if steps > 1:
        label_at = (1.5, 1.12) if feedback == "h" else (1.72, 1.62)
        ax.text(*label_at, "$W_{hh}$" if feedback == "h" else "$W_{yh}$", ha="center", fontsize=9)
    ax.set_xlim(-0.2, steps + 0.5)
    ax.set_ylim(-0.5, 2.5)
    ax.axis("off")
    name = "Elman" if feedback == "h" else "Jordan"
    ax.set_title(f"{name} RNN unrolled over {steps} steps: the same weights at every step")
    return ax


def draw_birnn(steps: int = 4, ax: Axes | None = None) -> Axes:
    """Draw a bidirectional RNN unrolled over ``steps`` steps.

    Inputs at the bottom feed two rows of states: the forward direction (left to right) and the
    backward direction (right to left), each with its own weights; the output at each step reads both.

    Args:
        steps: how many time steps to draw (2 … 8).
        ax: draw into this Axes instead of a new figure.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= 8:
        raise ValueError(f"steps should be an int from 2 to 8, got {steps!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.7 * steps + 1.6, 3.8))
    rows = {"x": 0.0, "f": 1.0, "b": 2.0, "y": 3.0}
    labels = {"x": "x_{%d}", "f": "\\overrightarrow{h}_{%d}", "b": "\\overleftarrow{h}_{%d}", "y": "y_{%d}"}
    colours = {"x": "#dbe9f6", "f": "#fde2c4", "b": "#e5d8f0", "y": "#d9f0d3"}
    arrow = {"arrowstyle": "->", "color": "black", "lw": 1.1}
    for t in range(1, steps + 1):
        for row, height in rows.items():
            ax.text(
                t,
                height,
                "$" + labels[row] % t + "$",
                ha="center",
                va="center",
                fontsize=12,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": colours[row], "edgecolor": "gray"},
            )
        purple, orange = {**arrow, "color": "#7a5aa6"}, {**arrow, "color": "#c77c26"}
        ax.annotate("", xy=(t, 0.78), xytext=(t, 0.22), arrowprops=arrow)  # x -> forward
        ax.annotate("", xy=(t + 0.2, 1.8), xytext=(t + 0.2, 0.2), arrowprops=purple)  # x -> backward, beside
        ax.annotate("", xy=(t - 0.2, 2.8), xytext=(t - 0.2, 1.2), arrowprops=orange)  # forward -> output, beside
        ax.annotate("", xy=(t, 2.78), xytext=(t, 2.22), arrowprops=arrow)  # backward -> output
        if t > 1:
            ax.annotate("", xy=(t - 0.3, 1.0), xytext=(t - 0.62, 1.0), arrowprops=orange)
            ax.annotate("", xy=(t - 0.7, 2.0), xytext=(t - 0.38, 2.0), arrowprops=purple)
    ax.text(0.35, 1.0, "$0$", ha="center", va="center", fontsize=11)
    ax.annotate("", xy=(0.7, 1.0), xytext=(0.45, 1.0), arrowprops={**arrow, "color": "#c77c26"})
    ax.text(steps + 0.65, 2.0, "$0$", ha="center", va="center", fontsize=11)
    ax.annotate("", xy=(steps + 0.3, 2.0), xytext=(steps + 0.55, 2.0), arrowprops={**arrow, "color": "#7a5aa6"})
    ax.text(steps + 0.95, 1.0, "forward: reads left to right\nweights $W^{\\rightarrow}$", va="center", fontsize=9)
    ax.text(steps + 0.95, 2.0, "backward: reads right to left\nweights $W^{\\leftarrow}$", va="center", fontsize=9)
    ax.text(
        steps + 0.95,
        3.0,
        "output at step $t$ reads both:\n$[\\overrightarrow{h}_t\\,;\\,\\overleftarrow{h}_t]$",
        va="center",
        fontsize=9,
    )
    ax.set_xlim(0.1, steps + 2.6)
    ax.set_ylim(-0.5, 3.5)
    ax.axis("off")
    ax.set_title(f"A bidirectional RNN unrolled over {steps} steps: two directions, separate weights")
    return ax


def draw_lstm_cell(ax: Axes | None = None) -> Axes:
    """Draw one LSTM step: the cell-state line on top, the four gates reading ``[h_{t-1}, x_t]`` below.

    The four stages of the lessons are labelled: forget (``f_t`` scales ``c_{t-1}``), select (``i_t * g_t``),
    update (the sum), output (``h_t = o_t * tanh(c_t)``).

    Args:
        ax: draw into this Axes instead of a new figure.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4.2))
    arrow = {"arrowstyle": "->", "color": "black", "lw": 1.3}
    cell_arrow = {**arrow, "color": "#c0392b", "lw": 2.4}

    def node(x: float, y: float, text: str, colour: str = "#ffffff", size: int = 13, shape: str = "circle,pad=0.25"):
        bbox = {"boxstyle": shape, "facecolor": colour, "edgecolor": "gray"}
        ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=3, bbox=bbox)

    def link(start: tuple[float, float], end: tuple[float, float], style: dict = arrow) -> None:
        ax.annotate("", xy=end, xytext=start, arrowprops=style, zorder=2)

    # the cell state: a straight line with one product and one sum
    link((0.3, 3.0), (2.3, 3.0), cell_arrow)
    link((2.7, 3.0), (4.8, 3.0), cell_arrow)
    link((5.2, 3.0), (10.0, 3.0), cell_arrow)
    node(2.5, 3.0, r"$\times$")
    node(5.0, 3.0, r"$+$")
    ax.text(0.0, 3.0, "$c_{t-1}$", ha="right", va="center", fontsize=13)
    ax.text(10.1, 3.0, "$c_t$", ha="left", va="center", fontsize=13)
    # the four gates read [h_{t-1}, x_t]
    ax.plot([0.3, 7.5], [0.0, 0.0], color="black", lw=1.3)
    ax.text(0.0, 0.0, "$h_{t-1}$", ha="right", va="center", fontsize=13)
    link((1.2, -0.9), (1.2, -0.05))
    ax.text(1.2, -1.15, "$x_t$", ha="center", va="center", fontsize=13)
    gates = {
        2.5: ("$f_t$  σ", "#fde2c4"),
        4.2: ("$i_t$  σ", "#fde2c4"),
        5.8: ("$g_t$  tanh", "#dbe9f6"),
        7.5: ("$o_t$  σ", "#fde2c4"),
    }
    for x, (label, colour) in gates.items():
        link((x, 0.0), (x, 0.75))
        node(x, 1.0, label, colour, size=11, shape="round,pad=0.35")
    link((2.5, 1.3), (2.5, 2.75))  # the forget gate scales the old cell
    node(5.0, 2.0, r"$\times$")
    link((4.2, 1.3), (4.8, 1.85))
    link((5.8, 1.3), (5.2, 1.85))
    link((5.0, 2.25), (5.0, 2.75))  # i * g is added to the cell
    # output: h_t = o_t * tanh(c_t)
    link((8.6, 3.0), (8.6, 2.3))
    node(8.6, 2.0, "tanh", "#dbe9f6", size=10, shape="round,pad=0.3")
    node(8.6, 1.0, r"$\times$")
    link((8.6, 1.75), (8.6, 1.25))
    link((7.9, 1.0), (8.35, 1.0))
    link((8.85, 1.0), (10.0, 1.0))
    ax.text(10.1, 1.0, "$h_t$ (to the readout\nand the next step)", ha="left", va="center", fontsize=11)
    for x, y, label in ((1.45, 3.25, "1. forget"), (3.55, 1.95, "2. select"), (5.3, 3.25, "3. update")):
        ax.text(x, y, label, fontsize=9, color="#555555")
    ax.text(8.8, 2.5, "4. output", fontsize=9, color="#555555")
    ax.set_xlim(-0.8, 11.8)
    ax.set_ylim(-1.4, 3.6)
    ax.axis("off")
    ax.set_title("One LSTM step: the cell state (red) is only scaled by $f_t$ and added to")
    return ax


def draw_seq2seq(attention: bool = False, source_steps: int = 5, target_steps: int = 3, ax: Axes | None = None) -> Axes:
    """Draw a GRU encoder-decoder, with or without attention (lesson 06).

    The encoder reads ``x_1 … x_S`` into states ``h_1 … h_S``; the decoder writes ``y_1 … y_T`` from states
    ``s_1 … s_T``, each step reading the previous output.  Without attention the only link between the two is
    ``h_S`` (the bottleneck, drawn in red); with attention every decoder step also reads a context ``c_t``, a
    weighted sum of all encoder states (line widths show illustrative weights: step ``t`` looks mostly at the
    input it translates).

    Args:
        attention: draw the attention links and contexts.
        source_steps: how many input steps to draw (2 … 8).
        target_steps: how many output steps to draw (1 … 5).
        ax: draw into this Axes instead of a new figure.
    """
    if not isinstance(attention, bool):
        raise ValueError(f"attention should be True or False, got {attention!r}")
    for name, value, low, high in (("source_steps", source_steps, 2, 8), ("target_steps", target_steps, 1, 5)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} should be an int from {low} to {high}, got {value!r}")
    S, T = source_steps, target_steps
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 * (S + T) + 1.5, 3.9))
    arrow = {"arrowstyle": "->", "color": "black", "lw": 1.0}
    colours = {"x": "#dbe9f6", "h": "#fde2c4", "s": "#d9f0d3", "y": "#d9f0d3", "c": "#e5d8f0"}

    def box(x: float, y: float, label: str, kind: str) -> None:
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=11,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": colours[kind], "edgecolor": "gray"},
        )

    decoder_x = [S + 1.7 + t for t in range(T)]
    for j in range(1, S + 1):
        box(j, 0.0, f"$x_{{{j}}}$", "x")
        box(j, 1.0, f"$h_{{{j}}}$", "h")
        ax.annotate("", xy=(j, 0.78), xytext=(j, 0.22), arrowprops=arrow)
        if j > 1:
            ax.annotate("", xy=(j - 0.3, 1.0), xytext=(j - 0.7, 1.0), arrowprops=arrow)
    for t, x in enumerate(decoder_x, start=1):
        box(x, 0.0, f"$y_{{{t - 1}}}$" if t > 1 else "<bos>", "y")
        box(x, 1.0, f"$s_{{{t}}}$", "s")
        box(x, 3.0, f"$y_{{{t}}}$", "y")
        ax.annotate("", xy=(x, 0.78), xytext=(x, 0.22), arrowprops=arrow)
        if t > 1:
            ax.annotate("", xy=(x - 0.3, 1.0), xytext=(x - 0.7, 1.0), arrowprops=arrow)
        if attention:
            box(x, 2.0, f"$c_{{{t}}}$", "c")
            ax.annotate("", xy=(x, 2.78), xytext=(x, 2.22), arrowprops=arrow)  # context -> output
            ax.annotate("", xy=(x - 0.15, 1.8), xytext=(x - 0.15, 1.22), arrowprops={**arrow, "linestyle": "--"})
            focus = (t - 0.5) * S / T + 0.5  # the input position this step mostly translates
            scores = -((np.arange(1, S + 1) - focus) ** 2) / 1.5
            weights = np.exp(scores) / np.exp(scores).sum()
            for j, w in enumerate(weights, start=1):
                ax.plot([j, x - 0.25], [1.25, 1.9], color="#7a5aa6", lw=0.3 + 6.0 * w, alpha=0.15 + 0.85 * w)
        else:
            ax.annotate("", xy=(x, 2.78), xytext=(x, 1.22), arrowprops=arrow)  # state -> output
    ax.annotate(
        "",
        xy=(decoder_x[0] - 0.3, 1.0),
        xytext=(S + 0.3, 1.0),
        arrowprops={**arrow, "color": "black" if attention else "#c0392b", "lw": 1.0 if attention else 2.2},
    )
    if attention:
        ax.text((1 + S) / 2, 2.45, "weights $\\alpha_{tj}$: softmax of\nscore($s_t$, $h_j$)", ha="center", fontsize=9)
        title = "With attention: every decoder step reads a weighted sum $c_t$ of all encoder states"
    else:
        ax.text(S + 0.85, 1.3, "$h_S$ only", ha="center", fontsize=9, color="#c0392b")
        title = "Without attention: everything the decoder knows about the input passes through $h_S$"
    ax.text((1 + S) / 2, -0.6, "encoder", ha="center", fontsize=10)
    ax.text((decoder_x[0] + decoder_x[-1]) / 2, -0.6, "decoder", ha="center", fontsize=10)
    ax.set_xlim(0.3, decoder_x[-1] + 0.7)
    ax.set_ylim(-0.85, 3.45)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return ax
