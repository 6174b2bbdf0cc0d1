"""Diagrams of the lessons' models, drawn with matplotlib (boxes, arrows and the lessons' own notation).

Each function draws one picture and returns its :class:`~matplotlib.figure.Figure`; show it with
``plt.show()``. The labels are those of the lesson's equations:

- :func:`bptt_graph` - lesson 02: an RNN unrolled over a few steps, the loss, and the backward path
  through the Jacobians :math:`J_t = \\partial h_t / \\partial h_{t-1}`.
- :func:`gru_cell_diagram` - lesson 03: one GRU step in PyTorch's convention, :math:`h_t = (1 - z_t) n_t + z_t h_{t-1}`.
- :func:`encoder_block_diagram` - lesson 07: a post-norm Transformer encoder block beside a pre-norm one.
- :func:`multihead_diagram` - lesson 07: multi-head attention's split into heads and merge.

The ``draw_*`` functions draw into a given :class:`~matplotlib.axes.Axes` (or a new one) and return it, so that a
lesson can put two side by side: :func:`draw_unrolled_rnn` (lesson 01), :func:`draw_lstm_cell` (lesson 04),
:func:`draw_birnn` (lesson 05) and :func:`draw_seq2seq` (lesson 06).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch, Rectangle

from seqlab.validate import check_int

__all__ = [
    "bptt_graph",
    "gru_cell_diagram",
    "encoder_block_diagram",
    "multihead_diagram",
    "draw_unrolled_rnn",
    "draw_birnn",
    "draw_lstm_cell",
    "draw_seq2seq",
]

_BLUE, _ORANGE, _GREEN, _PURPLE, _GREY = "#dbe9f6", "#fde2c4", "#d9f0d3", "#e5d8f0", "#eeeeee"
_RED = "#c0392b"
_HEAD_COLOURS = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#bc80bd")


@dataclass(frozen=True)
class _Box:
    """A drawn box: its centre and size, and the midpoints of its four sides."""

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.height / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.height / 2)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.width / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y)


def _canvas(figsize: tuple[float, float], xlim: tuple[float, float], ylim: tuple[float, float]) -> tuple[Figure, Axes]:
    """A figure with one blank axes whose data units are equal in x and y (circles stay round)."""
    fig, ax = plt.subplots(figsize=figsize)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    _blank(ax, xlim, ylim)
    return fig, ax


def _blank(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def _box(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    *,
    width: float,
    height: float,
    colour: str = "white",
    fontsize: float = 11,
) -> _Box:
    """A rounded box of a fixed size centred at (x, y), with ``text`` in its middle."""
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=colour,
            edgecolor="gray",
            zorder=3,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return _Box(x, y, width, height)


def _node(ax: Axes, x: float, y: float, text: str, *, radius: float = 0.22, fontsize: float = 12) -> _Box:
    """A small circle with an operator in it (a sum, a product)."""
    ax.add_patch(Circle((x, y), radius, facecolor="white", edgecolor="gray", zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return _Box(x, y, 2 * radius, 2 * radius)


def _arrow(
    ax: Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    colour: str = "black",
    lw: float = 1.3,
    linestyle: str = "-",
) -> None:
    """A straight arrow from ``start`` to ``end`` (the head at ``end``)."""
    style = {"arrowstyle": "-|>", "color": colour, "lw": lw, "linestyle": linestyle, "shrinkA": 0, "shrinkB": 0}
    ax.annotate("", xy=end, xytext=start, arrowprops={**style, "mutation_scale": 12}, zorder=2)


def _path(ax: Axes, points: list[tuple[float, float]], *, colour: str = "black", lw: float = 1.3) -> None:
    """A line through ``points`` whose last segment ends in an arrow head."""
    xs, ys = zip(*points[:-1], strict=True)
    ax.plot(xs, ys, color=colour, lw=lw, zorder=2, solid_capstyle="butt")
    _arrow(ax, points[-2], points[-1], colour=colour, lw=lw)


def bptt_graph(steps: int = 4) -> Figure:
    """Lesson 02: backpropagation through time on an Elman RNN unrolled over ``steps`` steps.

    Black arrows are the forward pass (``x_t`` and ``h_{t-1}`` give ``h_t``; the loss ``L`` reads the states),
    red arrows the backward pass: the loss hands each state its direct gradient, and every step back multiplies
    the gradient by one Jacobian ``J_t = dh_t / dh_{t-1} = diag(1 - h_t^2) W_hh^T``, so that
    ``dh_T / dh_0 = J_T ... J_1``.

    Args:
        steps: how many time steps to draw (3 … 6).

    Returns:
        The figure.
    """
    check_int("steps", steps, 3, 6, expected="an int from 3 to 6")
    T, gap, w, hgt = steps, 2.0, 0.9, 0.6
    fig, ax = _canvas((1.55 * T + 3.4, 5.4), (-0.8, gap * T + 2.9), (-1.85, 5.0))
    x_row, h_row, loss_row = 0.0, 2.0, 4.3
    h_boxes = [_box(ax, 0.0, h_row, "$h_{0}$", width=w, height=hgt, colour=_GREY)]
    for t in range(1, T + 1):
        x_box = _box(ax, gap * t, x_row, f"$x_{{{t}}}$", width=w, height=hgt, colour=_BLUE)
        h_boxes.append(_box(ax, gap * t, h_row, f"$h_{{{t}}}$", width=w, height=hgt, colour=_ORANGE))
        _arrow(ax, x_box.top, h_boxes[t].bottom)
        before, after = h_boxes[t - 1], h_boxes[t]
        _arrow(ax, (before.right[0], h_row + 0.13), (after.left[0], h_row + 0.13))  # forward: h_{t-1} -> h_t
        _arrow(ax, (after.left[0], h_row - 0.13), (before.right[0], h_row - 0.13), colour=_RED, lw=1.8)  # backward
        ax.text(gap * t - gap / 2, h_row - 0.42, f"$J_{{{t}}}$", ha="center", va="center", color=_RED, fontsize=12)
    ax.text(gap + 0.12, (x_row + h_row) / 2, "$W_{xh}$", ha="left", va="center", fontsize=10)
    ax.text(gap / 2, h_row + 0.38, "$W_{hh}$", ha="center", va="center", fontsize=10)
    loss = _box(
        ax,
        gap * (T + 1) / 2,
        loss_row,
        "loss $L$ (reads the states through the readout)",
        width=gap * (T - 1) + 1.6,
        height=hgt,
        colour=_GREEN,
    )
    for t in range(1, T + 1):
        _arrow(ax, (gap * t - 0.17, h_boxes[t].top[1]), (gap * t - 0.17, loss.bottom[1]))
        _arrow(ax, (gap * t + 0.17, loss.bottom[1]), (gap * t + 0.17, h_boxes[t].top[1]), colour=_RED, linestyle="--")
    ax.text(
        gap * T + 0.35,
        (h_row + loss_row) / 2,
        r"$\partial L / \partial h_t\,|_{\mathrm{direct}}$",
        ha="left",
        va="center",
        color=_RED,
        fontsize=11,
    )
    ax.text(
        gap * T + 0.65,
        h_row - 0.42,
        r"$J_t = \partial h_t / \partial h_{t-1}$",
        ha="left",
        va="center",
        color=_RED,
        fontsize=11,
    )
    product = r"\,".join(f"J_{{{t}}}" for t in range(T, 0, -1))
    ax.text(
        gap * T / 2 + 0.6,
        -1.0,
        rf"$\partial h_{{{T}}} / \partial h_0 = {product}$, one Jacobian per step back, each"
        r" $J_t = \operatorname{diag}(1 - h_t^2)\, W_{hh}^\top$",
        ha="center",
        va="center",
        fontsize=11,
    )
    ax.text(
        gap * T / 2 + 0.6,
        -1.55,
        "black: forward pass     red: backward pass (BPTT)",
        ha="center",
        va="center",
        fontsize=10,
        color="#555555",
    )
    ax.set_title("Backpropagation through time: the gradient flows back through one Jacobian per step")
    return fig


def gru_cell_diagram() -> Figure:
    """Lesson 03: one GRU step in PyTorch's convention (the lesson's equations).

    ``r_t`` and ``z_t`` are sigmoid gates; the reset gate scales ``h_{t-1} W_hn + b_hn`` (after the product) inside
    the candidate ``n_t = tanh(x_t W_xn + b_xn + r_t * (h_{t-1} W_hn + b_hn))``; the new state is the blend
    ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}``, so ``z_t = 1`` keeps the old state (the line along the top).

    Returns:
        The figure.
    """
    fig, ax = _canvas((11.0, 6.3), (-1.3, 12.6), (-1.6, 6.0))
    top, bus, gate_row = 5.4, 0.0, 1.0
    # the state line along the top: h_{t-1} -> (z_t *) -> (+) -> h_t
    keep = _node(ax, 2.0, top, r"$\odot$")
    total = _node(ax, 10.2, top, "$+$")
    ax.text(-0.2, top, "$h_{t-1}$", ha="right", va="center", fontsize=13)
    ax.text(11.5, top, "$h_t$", ha="left", va="center", fontsize=13)
    ax.plot([-0.1, keep.left[0]], [top, top], color="black", lw=2.0, zorder=2)
    _arrow(ax, keep.right, total.left, lw=2.0)
    _arrow(ax, total.right, (11.4, top), lw=2.0)
    ax.text(6.1, top + 0.22, r"$z_t \odot h_{t-1}$", ha="center", va="bottom", fontsize=11)
    # h_{t-1} and x_t feed every gate (each with its own weights)
    ax.plot([0.5, 0.5, 8.2], [top, bus, bus], color="black", lw=1.3, zorder=2)
    _arrow(ax, (1.1, -1.05), (1.1, bus))
    ax.text(1.1, -1.3, "$x_t$", ha="center", va="center", fontsize=13)
    gate_w, gate_h = 1.5, 0.85
    z_box = _box(
        ax,
        2.0,
        gate_row,
        "$z_t = \\sigma(\\cdot)$\n$W_{xz}, W_{hz}, b_z$",
        width=gate_w,
        height=gate_h,
        colour=_ORANGE,
        fontsize=10,
    )
    r_box = _box(
        ax,
        3.9,
        gate_row,
        "$r_t = \\sigma(\\cdot)$\n$W_{xr}, W_{hr}, b_r$",
        width=gate_w,
        height=gate_h,
        colour=_ORANGE,
        fontsize=10,
    )
    hw_box = _box(ax, 5.9, gate_row, "$h_{t-1} W_{hn} + b_{hn}$", width=1.9, height=0.6, colour=_BLUE, fontsize=10)
    xw_box = _box(ax, 8.2, gate_row, "$x_t W_{xn} + b_{xn}$", width=1.7, height=0.6, colour=_BLUE, fontsize=10)
    for box in (z_box, r_box, hw_box, xw_box):
        _arrow(ax, (box.x, bus), box.bottom)
    # the candidate: the reset gate acts after the product with W_hn, then tanh of the sum
    reset = _node(ax, 5.9, 2.2, r"$\odot$")
    _arrow(ax, hw_box.top, reset.bottom)
    _path(ax, [r_box.top, (r_box.x, reset.y), reset.left])
    ax.text(4.6, reset.y + 0.12, "$r_t$", ha="center", va="bottom", fontsize=11)
    candidate_sum = _node(ax, 7.2, 2.2, "$+$")
    _arrow(ax, reset.right, candidate_sum.left)
    _path(ax, [xw_box.top, (xw_box.x, candidate_sum.y), candidate_sum.right])
    tanh_box = _box(ax, 7.2, 3.0, "tanh", width=1.0, height=0.55, colour=_BLUE, fontsize=11)
    _arrow(ax, candidate_sum.top, tanh_box.bottom)
    ax.text(7.2, 3.42, "candidate $n_t$", ha="center", va="bottom", fontsize=10)
    # the update gate: z_t keeps the old state, 1 - z_t lets the candidate in
    new = _node(ax, 9.4, 3.0, r"$\odot$")
    _arrow(ax, tanh_box.right, new.left)
    ax.text(8.6, 2.8, "$n_t$", ha="center", va="top", fontsize=11)
    split = 4.65
    ax.plot([z_box.x, z_box.x], [z_box.top[1], split], color="black", lw=1.3, zorder=2)
    _arrow(ax, (z_box.x, split), keep.bottom)
    ax.text(z_box.x - 0.12, 3.2, "$z_t$", ha="right", va="center", fontsize=11)
    ax.plot([z_box.x, 9.4], [split, split], color="black", lw=1.3, zorder=2)
    one_minus = _node(ax, 9.4, 3.85, r"$1-$", radius=0.24, fontsize=10)
    _arrow(ax, (9.4, split), one_minus.top)
    _arrow(ax, one_minus.bottom, new.top)
    ax.text(9.25, 3.42, "$1 - z_t$", ha="right", va="center", fontsize=10)
    _path(ax, [new.right, (total.x, new.y), total.bottom])
    ax.text(total.x + 0.12, 4.3, r"$(1 - z_t) \odot n_t$", ha="left", va="center", fontsize=11)
    ax.set_title(
        r"One GRU step, as in this lesson: $h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$ ($z_t = 1$ keeps $h_{t-1}$)"
    )
    return fig


def _block_stack(
    ax: Axes, layers: list[tuple[str, str] | None], residuals: list[tuple[int, int]], identity: bool
) -> None:
    """Draw one encoder block bottom to top.

    ``layers`` are boxes ``(text, colour)`` or ``None`` for a residual sum; each pair of ``residuals`` is the index
    of the layer whose input the residual branches off and the index of the sum it joins. ``identity`` colours
    the residual path green (it is never normalised).
    """
    centre, left_x, gap = 2.7, 0.35, 1.1
    y = 0.0
    ax.text(centre, y, "$x$  (B, T, $d_{model}$)", ha="center", va="center", fontsize=11)
    shapes, ys = [], []
    for layer in layers:
        y += gap
        ys.append(y)
        if layer is None:
            shapes.append(_node(ax, centre, y, "$+$"))
        else:
            shapes.append(_box(ax, centre, y, layer[0], width=3.8, height=0.62, colour=layer[1], fontsize=10))
    ax.text(centre, y + gap, "output  (B, T, $d_{model}$)", ha="center", va="center", fontsize=11)
    starts = [0.22] + [shape.top[1] for shape in shapes]
    ends = [shape.bottom[1] for shape in shapes] + [y + gap - 0.22]
    for start, end in zip(starts, ends, strict=True):
        _arrow(ax, (centre, start), (centre, end))
    residual_colour = "#2e8b57" if identity else "black"
    for before, target in residuals:
        branch = (starts[before] + ends[before]) / 2
        ax.plot([centre, left_x, left_x], [branch, branch, ys[target]], color=residual_colour, lw=1.8, zorder=2)
        _arrow(ax, (left_x, ys[target]), shapes[target].left, colour=residual_colour, lw=1.8)
        ax.plot([centre], [branch], marker="o", markersize=4, color=residual_colour, zorder=3)
    ax.text(
        left_x - 0.15,
        ys[residuals[0][1]] - 0.55,
        "residual",
        ha="right",
        va="center",
        fontsize=9,
        rotation=90,
        color=residual_colour,
    )


def encoder_block_diagram() -> Figure:
    """Lesson 07: a Transformer encoder block, post-norm (left) beside pre-norm (right).

    Left, this lesson's ``EncoderBlock`` (the paper's arrangement, ``nn.TransformerEncoderLayer``'s default):
    ``x <- LayerNorm_1(x + MultiHead(x, x, x))``, then ``x <- LayerNorm_2(x + FFN(x))``. Right, pre-norm
    (``norm_first=True``): ``x <- x + Sublayer(LN(x))``, so the residual path (green) is never normalised.

    Returns:
        The figure.
    """
    fig, (ax_post, ax_pre) = plt.subplots(1, 2, figsize=(11.0, 7.6))
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.86, wspace=0.05)
    attention = (r"$\mathrm{MultiHead}(x, x, x)$   (attn)", _PURPLE)
    ffn = ("FFN: ff1, ReLU, ff2   ($d_{ff}$)", _BLUE)
    norm1 = (r"$\mathrm{LayerNorm}_1$   (norm1)", _GREEN)
    norm2 = (r"$\mathrm{LayerNorm}_2$   (norm2)", _GREEN)
    add = None
    for ax in (ax_post, ax_pre):
        _blank(ax, (-0.7, 6.1), (-2.1, 8.0))
    _block_stack(ax_post, [attention, add, norm1, ffn, add, norm2], [(0, 1), (3, 4)], identity=False)
    _block_stack(ax_pre, [norm1, attention, add, norm2, ffn, add], [(0, 2), (3, 5)], identity=True)
    ax_post.set_title("post-norm: this lesson's EncoderBlock\n(the paper; nn.TransformerEncoderLayer's default)")
    ax_pre.set_title("pre-norm: norm_first=True\n(not this lesson's exercise)")
    post_equations = (
        r"$x \leftarrow \mathrm{LayerNorm}_1(x + \mathrm{MultiHead}(x, x, x))$" + "\n"
        r"$x \leftarrow \mathrm{LayerNorm}_2(x + \mathrm{FFN}(x))$"
    )
    ax_post.text(2.7, -1.35, post_equations, ha="center", va="center", fontsize=11, linespacing=1.8)
    pre_equations = (
        r"$x \leftarrow x + \mathrm{Sublayer}(\mathrm{LN}(x))$" + "\nthe residual path (green) is never normalised"
    )
    ax_pre.text(2.7, -1.35, pre_equations, ha="center", va="center", fontsize=11, linespacing=1.8)
    fig.suptitle("A Transformer encoder block: where the LayerNorm sits", fontsize=13)
    return fig


def _tensor(ax: Axes, x: float, y: float, width: float, height: float, colours: list[str]) -> None:
    """A (T, width) matrix drawn as a rectangle cut into equal vertical strips, one colour per strip."""
    strip = width / len(colours)
    for i, colour in enumerate(colours):
        ax.add_patch(Rectangle((x + i * strip, y), strip, height, facecolor=colour, edgecolor="gray", lw=0.8, zorder=3))


def _cards(ax: Axes, x: float, y: float, width: float, height: float, colours: list[str]) -> None:
    """One small (T, d_head) matrix per head, stacked like cards: the head axis (h) in front of T and d_head."""
    step = 0.16
    for j, colour in reversed(list(enumerate(colours))):
        ax.add_patch(
            Rectangle((x + j * step, y + j * step), width, height, facecolor=colour, edgecolor="gray", lw=0.8, zorder=3)
        )


def multihead_diagram(num_heads: int = 4) -> Figure:
    """Lesson 07: multi-head attention as reshapes around one attention call.

    ``(B, T, d_model)`` is projected by ``W_Q`` (and ``W_K``, ``W_V``), cut into ``h`` heads of width ``d_head``
    (``view`` then ``transpose(1, 2)``: ``(B, h, T, d_head)``), attended in every head at once (weights
    ``(B, h, Tq, Tk)``), put back side by side (``transpose(1, 2)``, ``reshape``: the concatenation
    ``[head_1; ...; head_h]``) and projected by ``W_O``. Colours follow the heads.

    Args:
        num_heads: how many heads to draw (2 … 8).

    Returns:
        The figure.
    """
    check_int("num_heads", num_heads, 2, 8, expected="an int from 2 to 8")
    h = num_heads
    colours = list(_HEAD_COLOURS[:h])
    fig, ax = _canvas((11.5, 6.6), (-0.6, 15.2), (-1.5, 7.2))
    size, columns, top_row, bottom_row = 1.6, (1.2, 5.6, 10.0), 4.0, 0.0
    head_width, deck = size / h, (h - 1) * 0.16

    def label_below(x: float, y: float, text: str) -> None:
        ax.text(x, y - 0.3, text, ha="center", va="top", fontsize=10)

    def step(start: float, end: float, y: float, text: str) -> None:
        _arrow(ax, (start, y), (end, y))
        ax.text((start + end) / 2, y + 0.2, text, ha="center", va="bottom", fontsize=10)

    # the split, left to right along the top
    _tensor(ax, columns[0] - size / 2, top_row, size, size, [_GREY])
    label_below(columns[0], top_row, "query\n(B, T, $d_{model}$)")
    _tensor(ax, columns[1] - size / 2, top_row, size, size, colours)
    label_below(columns[1], top_row, "(B, T, $d_{model}$)\nhead $j$: columns $j\\,d_{head}$ to $(j+1)\\,d_{head}$")
    deck_left = columns[2] - (head_width + deck) / 2
    _cards(ax, deck_left, top_row, head_width, size, colours)
    label_below(columns[2], top_row, "(B, h, T, $d_{head}$)\n$h$ heads of width $d_{head}$")
    middle = top_row + size / 2
    step(columns[0] + size / 2 + 0.15, columns[1] - size / 2 - 0.15, middle, "$W_Q$  (W_q)")
    ax.text(
        (columns[0] + columns[1]) / 2,
        middle - 0.2,
        "key, value: the\nsame with $W_K$, $W_V$",
        ha="center",
        va="top",
        fontsize=9,
        color="#555555",
    )
    step(columns[1] + size / 2 + 0.15, deck_left - 0.15, middle, "view (B, T, h, $d_{head}$)\ntranspose(1, 2)")
    # attention in every head, down the right-hand side
    turn = columns[2] + (head_width + deck) / 2 + 0.9
    ax.plot(
        [deck_left + head_width + deck + 0.1, turn, turn],
        [middle, middle, bottom_row + size / 2],
        color="black",
        lw=1.3,
        zorder=2,
    )
    _arrow(ax, (turn, bottom_row + size / 2), (deck_left + head_width + deck + 0.1, bottom_row + size / 2))
    ax.text(
        turn + 0.2,
        (middle + bottom_row + size / 2) / 2,
        "attention in every head:\n" r"$\mathrm{softmax}(QK^\top / \sqrt{d_{head}})\,V$" "\nweights (B, h, Tq, Tk)",
        ha="left",
        va="center",
        fontsize=10,
        linespacing=1.6,
    )
    # the merge, right to left along the bottom
    _cards(ax, deck_left, bottom_row, head_width, size, colours)
    label_below(columns[2], bottom_row, "(B, h, Tq, $d_{head}$)")
    _tensor(ax, columns[1] - size / 2, bottom_row, size, size, colours)
    label_below(columns[1], bottom_row, "(B, Tq, $d_{model}$)\n$[\\mathrm{head}_1 ; \\dots ; \\mathrm{head}_h]$")
    _tensor(ax, columns[0] - size / 2, bottom_row, size, size, ["#c8c8c8"])
    label_below(columns[0], bottom_row, "out\n(B, Tq, $d_{model}$)")
    middle = bottom_row + size / 2
    step(deck_left - 0.15, columns[1] + size / 2 + 0.15, middle, "transpose(1, 2)\nreshape (concatenate)")
    step(columns[1] - size / 2 - 0.15, columns[0] + size / 2 + 0.15, middle, "$W_O$  (W_o)")
    ax.set_title(f"Multi-head attention, h = {h} heads: split the width, attend in every head, concatenate, $W_O$")
    return fig


def draw_unrolled_rnn(steps: int = 4, feedback: str = "h", ax: Axes | None = None) -> Axes:
    """Draw an RNN unrolled over ``steps`` time steps: inputs below, states in the middle, outputs above.

    Args:
        steps: how many time steps to draw (1 … 8).
        feedback: ``"h"`` for an Elman network (the state feeds the next step) or ``"y"`` for a
            Jordan network (the output feeds the next step).
        ax: draw into this Axes instead of a new figure.
    """
    check_int("steps", steps, 1, 8, expected="an int from 1 to 8")
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
    check_int("steps", steps, 2, 8, expected="an int from 2 to 8")
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
        check_int(name, value, low, high, expected=f"an int from {low} to {high}")
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
