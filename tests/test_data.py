"""Unit tests for seqlab.data: seeded synthetic sequence tasks."""

import pytest
import torch

from seqlab.data import ADDING_BASELINE_MSE, adding_problem_batch, echo_batch


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------ echo_batch


def test_echo_batch_shapes_and_dtype():
    X, Y = echo_batch(4, 10, 3, _gen())
    assert X.shape == (4, 10, 1)
    assert Y.shape == (4, 10, 1)
    assert X.dtype == torch.float32
    assert Y.dtype == torch.float32


def test_echo_batch_values_are_signs():
    X, _ = echo_batch(16, 50, 2, _gen())
    assert set(X.unique().tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize("delay", [1, 3, 9])
def test_echo_batch_targets_are_delayed_inputs(delay):
    X, Y = echo_batch(8, 10, delay, _gen())
    assert torch.equal(Y[:, delay:], X[:, :-delay])
    assert torch.equal(Y[:, :delay], torch.zeros(8, delay, 1))


def test_echo_batch_same_seed_same_batch():
    X1, Y1 = echo_batch(8, 20, 2, _gen(7))
    X2, Y2 = echo_batch(8, 20, 2, _gen(7))
    assert torch.equal(X1, X2)
    assert torch.equal(Y1, Y2)


def test_echo_batch_different_seed_different_batch():
    X1, _ = echo_batch(8, 20, 2, _gen(7))
    X2, _ = echo_batch(8, 20, 2, _gen(8))
    assert not torch.equal(X1, X2)


def test_echo_batch_uses_given_generator_not_global_state():
    torch.manual_seed(0)
    X1, _ = echo_batch(8, 20, 2, _gen(3))
    torch.manual_seed(1)
    X2, _ = echo_batch(8, 20, 2, _gen(3))
    assert torch.equal(X1, X2)


def test_echo_batch_successive_batches_differ():
    gen = _gen(0)
    X1, _ = echo_batch(8, 20, 2, gen)
    X2, _ = echo_batch(8, 20, 2, gen)
    assert not torch.equal(X1, X2)


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"delay": 10}, ValueError, "delay"),
        ({"delay": 11}, ValueError, "delay"),
        ({"delay": 0}, ValueError, "delay"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"length": 3.0, "delay": 1}, TypeError, "length"),
        ({"batch_size": True}, TypeError, "batch_size"),
        ({"generator": 0}, TypeError, "generator"),
        ({"generator": None}, TypeError, "generator"),
    ],
)
def test_echo_batch_bad_arguments(kwargs, error, name):
    args = {"batch_size": 4, "length": 10, "delay": 2, "generator": _gen(), **kwargs}
    with pytest.raises(error, match=name):
        echo_batch(**args)


# ------------------------------------------------------------------------------------ adding problem


def test_adding_shapes_and_dtype():
    X, Y = adding_problem_batch(5, 12, _gen())
    assert X.shape == (5, 12, 2)
    assert Y.shape == (5, 1)
    assert X.dtype == torch.float32
    assert Y.dtype == torch.float32


@pytest.mark.parametrize("length", [2, 3, 7, 20])
def test_adding_markers_one_in_each_half(length):
    B = 200
    X, _ = adding_problem_batch(B, length, _gen())
    markers = X[..., 1]
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    half = length // 2
    assert torch.equal(markers[:, :half].sum(dim=1), torch.ones(B))
    assert torch.equal(markers[:, half:].sum(dim=1), torch.ones(B))


def test_adding_marker_positions_vary():
    X, _ = adding_problem_batch(200, 20, _gen())
    positions = X[..., 1].nonzero()[:, 1]
    assert len(positions.unique()) == 20  # every position gets marked in some row


def test_adding_target_is_sum_of_marked_values():
    B, T = 64, 15
    X, Y = adding_problem_batch(B, T, _gen(4))
    values, markers = X[..., 0], X[..., 1]
    marked = values[markers == 1].reshape(B, 2)
    torch.testing.assert_close(Y, marked.sum(dim=1, keepdim=True))
    for row in range(3):
        i, j = markers[row].nonzero().flatten().tolist()
        assert Y[row, 0].item() == pytest.approx(values[row, i].item() + values[row, j].item(), abs=1e-6)


def test_adding_values_in_unit_interval():
    X, _ = adding_problem_batch(100, 30, _gen())
    values = X[..., 0]
    assert values.min() >= 0.0
    assert values.max() < 1.0
    assert values.std() > 0.2  # uniform on [0, 1) has std 0.289, not a constant


def test_adding_seeded_reproducibility():
    X1, Y1 = adding_problem_batch(8, 10, _gen(5))
    X2, Y2 = adding_problem_batch(8, 10, _gen(5))
    X3, _ = adding_problem_batch(8, 10, _gen(6))
    assert torch.equal(X1, X2)
    assert torch.equal(Y1, Y2)
    assert not torch.equal(X1, X3)


def test_adding_length_two():
    X, Y = adding_problem_batch(4, 2, _gen())
    assert torch.equal(X[..., 1], torch.ones(4, 2))
    torch.testing.assert_close(Y[:, 0], X[..., 0].sum(dim=1))


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"length": 1}, ValueError, "length"),
        ({"length": 0}, ValueError, "length"),
        ({"length": 10.0}, TypeError, "length"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"generator": 0}, TypeError, "generator"),
    ],
)
def test_adding_bad_arguments(kwargs, error, name):
    args = {"batch_size": 4, "length": 10, "generator": _gen(), **kwargs}
    with pytest.raises(error, match=name):
        adding_problem_batch(**args)


def test_adding_baseline_mse():
    assert pytest.approx(1 / 6) == ADDING_BASELINE_MSE
    _, Y = adding_problem_batch(20000, 10, _gen(0))
    mse = ((Y - 1.0) ** 2).mean().item()
    assert abs(mse - ADDING_BASELINE_MSE) < 0.01
    assert abs(Y.mean().item() - 1.0) < 0.01
