"""Unit tests for seqlab.diagrams: each diagram is a Figure carrying its lesson's notation, drawn without
overlapping or clipped labels."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from seqlab import diagrams  # noqa: E402

# The labels each lesson's equations use, which the diagram must show (as the figure's text, mathtext included).
LABELS = {
    "bptt_graph": [
        "$x_{1}$",
        "$h_{0}$",
        "$h_{4}$",
        "loss $L$",
        "$W_{xh}$",
        "$W_{hh}$",
        "$J_{1}$",
        "$J_{4}$",
        r"\partial h_t / \partial h_{t-1}",
        r"\partial L / \partial h_t",
        r"\operatorname{diag}(1 - h_t^2)\, W_{hh}^\top",
        r"J_{4}\,J_{3}\,J_{2}\,J_{1}",
    ],
    "gru_cell_diagram": [
        "$h_{t-1}$",
        "$h_t$",
        "$x_t$",
        "$r_t = \\sigma(\\cdot)$",
        "$z_t = \\sigma(\\cdot)$",
        "$W_{xr}, W_{hr}, b_r$",
        "$W_{xz}, W_{hz}, b_z$",
        "$h_{t-1} W_{hn} + b_{hn}$",
        "$x_t W_{xn} + b_{xn}$",
        "tanh",
        "$n_t$",
        "$1 - z_t$",
        r"$z_t \odot h_{t-1}$",
        r"$(1 - z_t) \odot n_t$",
        r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$",
    ],
    "encoder_block_diagram": [
        "post-norm",
        "pre-norm",
        "EncoderBlock",
        "norm_first=True",
        r"\mathrm{MultiHead}(x, x, x)",
        "(attn)",
        r"\mathrm{LayerNorm}_1",
        "(norm1)",
        r"\mathrm{LayerNorm}_2",
        "(norm2)",
        "ff1, ReLU, ff2",
        "$+$",
        r"\mathrm{LayerNorm}_1(x + \mathrm{MultiHead}(x, x, x))",
        r"\mathrm{LayerNorm}_2(x + \mathrm{FFN}(x))",
        r"x + \mathrm{Sublayer}(\mathrm{LN}(x))",
    ],
    "multihead_diagram": [
        "(B, T, $d_{model}$)",
        "view (B, T, h, $d_{head}$)",
        "transpose(1, 2)",
        "(B, h, T, $d_{head}$)",
        "(B, h, Tq, $d_{head}$)",
        "weights (B, h, Tq, Tk)",
        r"\sqrt{d_{head}}",
        "reshape",
        r"[\mathrm{head}_1 ; \dots ; \mathrm{head}_h]",
        "(B, Tq, $d_{model}$)",
        "$W_Q$",
        "$W_K$",
        "$W_V$",
        "$W_O$",
        "h = 4 heads",
    ],
}


#: The diagrams that draw into an Axes a lesson gives them (tests/test_plots_and_session.py tests them).
AXES_DRAWINGS = {"draw_unrolled_rnn", "draw_birnn", "draw_lstm_cell", "draw_seq2seq"}


@pytest.fixture(params=sorted(LABELS))
def drawn(request):
    """(name, figure) for each diagram, drawn once with the Agg renderer (which parses every mathtext label);
    the figure is closed afterwards."""
    fig = getattr(diagrams, request.param)()
    try:
        fig.canvas.draw()
        yield request.param, fig
    finally:
        plt.close(fig)


def _texts(fig):
    """The labels and titles drawn (not the tick labels of the hidden axes)."""
    texts = [*fig.texts, *(t for ax in fig.axes for t in (*ax.texts, ax.title))]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def test_every_diagram_is_tested():
    assert set(diagrams.__all__) == set(LABELS) | AXES_DRAWINGS


def test_returns_a_figure_with_the_lessons_labels(drawn):
    name, fig = drawn
    assert isinstance(fig, Figure)
    text = "\n".join(t.get_text() for t in _texts(fig))
    missing = [label for label in LABELS[name] if label not in text]
    assert not missing, f"{name} lacks the labels {missing}"


def test_has_a_title(drawn):
    _, fig = drawn
    titles = [ax.get_title() for ax in fig.axes] + [fig.get_suptitle()]
    assert any(title.strip() for title in titles)


def test_labels_neither_overlap_nor_leave_the_figure(drawn):
    name, fig = drawn
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _texts(fig)]
    figure_box = fig.bbox
    for text, box in boxes:
        assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1, f"{name}: {text!r} is cut off at the side"
        assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1, f"{name}: {text!r} is cut off at the top/bottom"
    for (first, a), (second, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"{name}: {first!r} overlaps {second!r}"


@pytest.mark.parametrize("steps", [3, 6])
def test_bptt_graph_steps(steps):
    fig = diagrams.bptt_graph(steps)
    try:
        text = "\n".join(t.get_text() for t in _texts(fig))
        assert f"$h_{{{steps}}}$" in text and f"$J_{{{steps}}}$" in text
        assert f"$h_{{{steps + 1}}}$" not in text
    finally:
        plt.close(fig)


@pytest.mark.parametrize("heads", [2, 8])
def test_multihead_diagram_heads(heads):
    fig = diagrams.multihead_diagram(heads)
    try:
        assert any(f"h = {heads} heads" in t.get_text() for t in _texts(fig))
    finally:
        plt.close(fig)


@pytest.mark.parametrize(
    ("function", "value"),
    [
        ("bptt_graph", 2),
        ("bptt_graph", 7),
        ("bptt_graph", 4.0),
        ("bptt_graph", True),
        ("multihead_diagram", 1),
        ("multihead_diagram", 9),
        ("multihead_diagram", "4"),
    ],
)
def test_bad_sizes_raise(function, value):
    with pytest.raises(ValueError, match="should be an int"):
        getattr(diagrams, function)(value)
