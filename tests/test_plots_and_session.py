"""Unit tests for seqlab.plots and seqlab.session."""

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

import seqlab  # noqa: E402
from seqlab.diagrams import draw_birnn  # noqa: E402
from seqlab.plots import moving_average, plot_curves  # noqa: E402

# ------------------------------------------------------------------------------------ moving_average


def test_moving_average_window_one_is_identity():
    values = [3.0, -1.0, 4.0, 1.5]
    np.testing.assert_allclose(moving_average(values, 1), values)


def test_moving_average_window_three():
    np.testing.assert_allclose(moving_average([1, 2, 3, 4], 3), [1.0, 1.5, 2.0, 3.0])


def test_moving_average_window_longer_than_values():
    np.testing.assert_allclose(moving_average([2, 4], 5), [2.0, 3.0])


@pytest.mark.parametrize("window", [0, -1, 2.0, True, None])
def test_moving_average_bad_window_raises(window):
    with pytest.raises(ValueError, match="window"):
        moving_average([1.0, 2.0], window)


def test_moving_average_rejects_2d_values():
    with pytest.raises(ValueError, match="one-dimensional"):
        moving_average([[1.0, 2.0]], 1)


# ------------------------------------------------------------------------------------ plot_curves


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


def test_plot_curves_labels_lines_and_log_scale(close_figures):
    ax = plot_curves(
        {"rnn": [1.0, 0.5, 0.25], "mlp": [1.0, 0.9, 0.8]},
        title="Echo task",
        xlabel="step",
        ylabel="MSE",
        baselines={"predict 0": 0.9},
    )
    assert isinstance(ax, Axes)
    assert ax.get_title() == "Echo task"
    assert ax.get_xlabel() == "step"
    assert ax.get_ylabel() == "MSE"
    assert len(ax.get_lines()) == 3
    assert ax.get_yscale() == "log"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["rnn", "mlp"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 0.5, 0.25])
    baseline = ax.get_lines()[2]
    np.testing.assert_allclose(baseline.get_ydata(), [0.9, 0.9])


def test_plot_curves_defaults_linear_option_and_smoothing(close_figures):
    ax = plot_curves({"a": [1.0, 3.0, 5.0]}, title="t", logy=False, smooth=2)
    assert ax.get_xlabel() == "training step"
    assert ax.get_ylabel() == "loss (MSE)"
    assert ax.get_yscale() == "linear"
    assert len(ax.get_lines()) == 1
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 2.0, 4.0])


def test_plot_curves_draws_into_given_axes(close_figures):
    _, ax = plt.subplots()
    assert plot_curves({"a": [1.0, 2.0]}, title="t", ax=ax) is ax
    assert len(plt.get_fignums()) == 1


def test_plot_curves_empty_raises(close_figures):
    with pytest.raises(ValueError, match="empty"):
        plot_curves({}, title="t")


# ------------------------------------------------------------------------------------ session


@pytest.fixture
def restore_torch_state():
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    rc = matplotlib.rcParams.copy()
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.set_num_threads(threads)
    torch.set_printoptions(profile="default")
    np.set_printoptions(precision=8, suppress=False, linewidth=75)
    matplotlib.rcParams.update(rc)


def test_setup_is_reproducible_and_idempotent(restore_torch_state):
    seqlab.setup(0)
    first = torch.rand(3)
    numpy_first = np.random.rand(2)
    seqlab.setup(0)
    assert torch.equal(torch.rand(3), first)
    assert np.array_equal(np.random.rand(2), numpy_first)
    seqlab.setup(1)
    assert not torch.equal(torch.rand(3), first)


def test_setup_enables_determinism_and_style(restore_torch_state):
    torch.use_deterministic_algorithms(False)
    seqlab.setup(0)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.get_default_dtype() == torch.float32
    assert matplotlib.rcParams["axes.grid"] is True


def test_setup_thread_count_from_env(restore_torch_state, monkeypatch):
    monkeypatch.setenv("SEQLAB_THREADS", "1")
    seqlab.setup(0)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("seed", ["0", 0.0, True, None])
def test_setup_rejects_non_int_seed(seed, restore_torch_state):
    with pytest.raises(TypeError, match="int"):
        seqlab.setup(seed)


# An IPython shell in its own process (the singleton would otherwise leak into the other tests).
_SHELL_SCRIPT = textwrap.dedent(
    """
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("import seqlab; seqlab.setup()")
    shell.run_cell("def rnn_cell(x):\\n    # YOUR CODE HERE\\n    raise NotImplementedError()")
    print("=== stub")
    result = shell.run_cell("rnn_cell(1)")
    assert type(result.error_in_exec) is NotImplementedError, result
    print("=== top-level stub")
    shell.run_cell("raise NotImplementedError()")
    print("=== other")
    shell.run_cell("def helper():\\n    raise NotImplementedError('no sparse support')\\nhelper()")
    """
)


def test_setup_explains_an_unwritten_exercise_in_words():
    done = subprocess.run([sys.executable, "-c", _SHELL_SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    _, stub, top_level, other = text.split("=== ")
    assert "NotImplementedError" in stub and "raise NotImplementedError()" in stub, "the traceback is kept"
    assert stub.rstrip().endswith(
        "rnn_cell is not implemented yet: replace `raise NotImplementedError()` in its cell with your code,\n"
        "run that cell, then run this one again."
    ), stub
    assert "This cell is not written yet" in top_level, top_level
    assert "no sparse support" in other and "not implemented yet" not in other, other


def test_is_grading_follows_nbgrader_env(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert seqlab.is_grading() is False
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert seqlab.is_grading() is True
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert seqlab.is_grading() is True


def test_progress_enabled(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("SEQLAB_PROGRESS", raising=False)
    assert seqlab.progress_enabled() is True
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    assert seqlab.progress_enabled() is True
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    assert seqlab.progress_enabled() is False
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert seqlab.progress_enabled() is False


# ------------------------------------------------------------------------------------ draw_unrolled_rnn
from seqlab.diagrams import draw_unrolled_rnn  # noqa: E402


@pytest.mark.parametrize("feedback", ["h", "y"])
def test_draw_unrolled_rnn_returns_titled_axes(close_figures, feedback):
    ax = draw_unrolled_rnn(steps=3, feedback=feedback)
    assert ax.get_title()
    fig, given = plt.subplots()
    assert draw_unrolled_rnn(steps=2, feedback=feedback, ax=given) is given


# ------------------------------------------------------------------------------------ draw_birnn


def test_draw_birnn_returns_titled_axes(close_figures):
    ax = draw_birnn(steps=3)
    assert isinstance(ax, Axes)
    assert "bidirectional" in ax.get_title()
    texts = [t.get_text() for t in ax.texts]
    assert sum("overleftarrow" in t for t in texts) >= 3 and sum("overrightarrow" in t for t in texts) >= 3


def test_draw_birnn_into_given_axes(close_figures):
    _, ax = plt.subplots()
    assert draw_birnn(steps=2, ax=ax) is ax


@pytest.mark.parametrize("steps", [1, 9, 2.0, True, None])
def test_draw_birnn_bad_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        draw_birnn(steps=steps)


# ------------------------------------------------------------------------------------ draw_lstm_cell
from seqlab.diagrams import draw_lstm_cell  # noqa: E402


def test_draw_lstm_cell_returns_titled_axes(close_figures):
    ax = draw_lstm_cell()
    assert "LSTM" in ax.get_title()
    texts = " ".join(text.get_text() for text in ax.texts)
    for label in ("$c_{t-1}$", "$f_t$", "$i_t$", "$g_t$", "$o_t$", "1. forget", "4. output"):
        assert label in texts


def test_draw_lstm_cell_into_given_axes(close_figures):
    _, ax = plt.subplots()
    assert draw_lstm_cell(ax=ax) is ax


# ------------------------------------------------------------------------------------ draw_seq2seq


@pytest.mark.parametrize("attention", [False, True])
def test_draw_seq2seq_returns_titled_axes(close_figures, attention):
    from seqlab.diagrams import draw_seq2seq

    ax = draw_seq2seq(attention=attention, source_steps=4, target_steps=2)
    assert isinstance(ax, Axes)
    assert ("With attention" in ax.get_title()) == attention
    boxes = [t.get_text() for t in ax.texts if t.get_bbox_patch() is not None]  # the states, inputs and outputs
    assert sum(t.startswith("$h_") for t in boxes) == 4 and sum(t.startswith("$s_") for t in boxes) == 2
    assert sum(t.startswith("$c_") for t in boxes) == (2 if attention else 0)
    assert len(ax.lines) == (4 * 2 if attention else 0)  # one line from every encoder state to every context


def test_draw_seq2seq_into_given_axes(close_figures):
    from seqlab.diagrams import draw_seq2seq

    _, ax = plt.subplots()
    assert draw_seq2seq(ax=ax) is ax


@pytest.mark.parametrize(
    "kwargs", [{"source_steps": 1}, {"source_steps": 9}, {"target_steps": 0}, {"target_steps": 2.0}, {"attention": 1}]
)
def test_draw_seq2seq_bad_arguments(kwargs):
    from seqlab.diagrams import draw_seq2seq

    with pytest.raises(ValueError, match="should be"):
        draw_seq2seq(**kwargs)
