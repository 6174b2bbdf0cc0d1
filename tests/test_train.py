"""Unit tests for seqlab.train: the training loop and the progress bar switch."""

import math

import pytest
import torch
from torch import nn

from seqlab.train import fit, progress


@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def _regression_data():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=gen)
    w_true = torch.tensor([1.5, -2.0, 0.5])
    return X, X @ w_true


def test_fit_reduces_loss_on_linear_regression():
    X, y = _regression_data()
    w = torch.zeros(3, requires_grad=True)
    seen_steps = []

    def loss_fn(step):
        seen_steps.append(step)
        return ((X @ w - y) ** 2).mean()

    losses = fit(loss_fn, [w], steps=200, lr=0.1)
    assert isinstance(losses, list)
    assert len(losses) == 200
    assert all(type(value) is float for value in losses)
    assert seen_steps == list(range(200))
    assert losses[-1] < losses[0] / 10
    assert losses[0] == pytest.approx(float((y**2).mean()))
    torch.testing.assert_close(w.detach(), torch.tensor([1.5, -2.0, 0.5]), atol=0.05, rtol=0)


def test_fit_accepts_module():
    X, y = _regression_data()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    before = model.weight.detach().clone()
    losses = fit(lambda step: ((model(X).squeeze(1) - y) ** 2).mean(), model, steps=100, lr=0.1)
    assert len(losses) == 100
    assert losses[-1] < losses[0] / 10
    assert not torch.equal(model.weight, before)


def test_fit_zero_steps_returns_empty_list():
    w = torch.zeros(3, requires_grad=True)
    assert fit(lambda step: (w**2).sum(), [w], steps=0) == []
    assert torch.equal(w.detach(), torch.zeros(3))


def test_fit_empty_params_raises():
    with pytest.raises(ValueError, match="empty"):
        fit(lambda step: torch.tensor(0.0), [], steps=1)
    with pytest.raises(ValueError, match="empty"):
        fit(lambda step: torch.tensor(0.0), nn.Tanh(), steps=1)


def test_fit_non_leaf_param_raises():
    w = torch.zeros(3, requires_grad=True)
    non_leaf = w * 2
    with pytest.raises(ValueError, match="requires_grad"):
        fit(lambda step: (non_leaf**2).sum(), [non_leaf], steps=1)


def test_fit_param_without_requires_grad_raises():
    w = torch.zeros(3)
    with pytest.raises(ValueError, match="requires_grad"):
        fit(lambda step: (w**2).sum(), [w], steps=1)


def test_fit_non_tensor_param_raises():
    with pytest.raises(TypeError):
        fit(lambda step: torch.tensor(0.0), [[0.0, 1.0]], steps=1)


@pytest.mark.parametrize("bad", ["vector", "float"])
def test_fit_non_scalar_loss_raises(bad):
    w = torch.zeros(3, requires_grad=True)

    def loss_fn(step):
        return w**2 if bad == "vector" else 1.0

    with pytest.raises(ValueError, match="scalar"):
        fit(loss_fn, [w], steps=3)


@pytest.mark.parametrize("steps", [-1, 2.0, True])
def test_fit_bad_steps_raises(steps):
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="steps"):
        fit(lambda step: (w**2).sum(), [w], steps=steps)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
def test_fit_bad_lr_raises(lr):
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="lr"):
        fit(lambda step: (w**2).sum(), [w], steps=1, lr=lr)


def test_fit_records_nan_loss_instead_of_raising():
    w = torch.ones(3, requires_grad=True)
    losses = fit(lambda step: w.sum() * float("nan"), [w], steps=5)
    assert len(losses) == 5
    assert all(math.isnan(value) for value in losses)


def test_fit_shows_loss_in_progress_bar_when_enabled(monkeypatch):
    """With progress enabled, fit should put the current loss on the bar (set_postfix)."""
    from tqdm import std

    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    postfixes = []
    monkeypatch.setattr(std.tqdm, "set_postfix", lambda self, *args, **kwargs: postfixes.append(kwargs))
    w = torch.ones(3, requires_grad=True)
    fit(lambda step: (w**2).sum(), [w], steps=3)
    assert postfixes, "the loss was never shown on the progress bar"
    assert "loss" in postfixes[0]


# ------------------------------------------------------------------------------------ progress


def _assert_plain(items, result):
    assert type(result) is type(iter(items))
    assert not hasattr(result, "set_postfix")
    assert list(result) == list(items)


def test_progress_plain_when_disabled(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")
    _assert_plain([3, 1, 2], progress([3, 1, 2], total=3, desc="x"))
    _assert_plain(range(4), progress(range(4)))


def test_progress_plain_while_grading(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "1")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    _assert_plain(["a", "b"], progress(["a", "b"]))


def test_progress_bar_when_enabled(monkeypatch, capsys):
    monkeypatch.delenv("SEQLAB_PROGRESS")
    result = progress([1, 2, 3], desc="demo")
    assert type(result) is not type(iter([1, 2, 3]))
    assert list(result) == [1, 2, 3]
