"""Unit tests for seqlab.models and the adding-problem benchmark in seqlab.train."""

from dataclasses import replace

import pytest
import torch

from seqlab.data import ADDING_BASELINE_MSE
from seqlab.models import RECURRENT_LAYERS, RecurrentRegressor, set_forget_gate_bias
from seqlab.train import ADDING_BUDGET, fit, train_adding_problem


@pytest.fixture(autouse=True)
def no_progress_bars(monkeypatch):
    monkeypatch.setenv("SEQLAB_PROGRESS", "0")


@pytest.mark.parametrize("kind", sorted(RECURRENT_LAYERS))
def test_recurrent_regressor_reads_the_last_state(kind):
    torch.manual_seed(0)
    model = RecurrentRegressor(kind, input_size=3, hidden_size=5, output_size=2)
    X = torch.randn(4, 7, 3)
    states = model.states(X)
    assert states.shape == (4, 7, 5)
    assert torch.allclose(model(X), model.readout(states[:, -1]))
    layer, _ = model.recurrent(X)  # the states are the PyTorch layer's outputs
    assert torch.equal(states, layer)
    assert isinstance(model.recurrent, RECURRENT_LAYERS[kind])


def test_recurrent_regressor_rejects_bad_input():
    with pytest.raises(ValueError, match="kind should be one of"):
        RecurrentRegressor("transformer", 2, 4)
    with pytest.raises(ValueError, match=r"X should be a \(B, T, D\) tensor"):
        RecurrentRegressor("rnn", 2, 4).states(torch.zeros(3, 2))


def test_fit_calls_on_step_while_gradients_are_in_place():
    w = torch.ones(2, requires_grad=True)
    seen = []
    fit(lambda step: (w**2).sum(), [w], steps=3, lr=0.1, on_step=lambda step: seen.append((step, w.grad.clone())))
    assert [step for step, _ in seen] == [0, 1, 2]
    assert torch.allclose(seen[0][1], torch.full((2,), 2.0))  # d(sum w^2)/dw at w = 1, before any update


def test_adding_budget_is_the_documented_benchmark():
    assert (ADDING_BUDGET.length, ADDING_BUDGET.steps, ADDING_BUDGET.batch_size) == (100, 2000, 32)
    with pytest.raises(AttributeError):
        ADDING_BUDGET.steps = 1  # frozen: lessons cannot change the shared budget by accident


def test_train_adding_problem_is_reproducible_and_records_input_gradients():
    small = replace(ADDING_BUDGET, length=12, steps=30, test_size=64)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        runs.append(train_adding_problem(RecurrentRegressor("rnn", 2, 8), small, record_every=10))
    first, second = runs
    assert first.losses == second.losses and first.test_mse == second.test_mse
    assert len(first.losses) == 30 and first.recorded_steps == [0, 10, 20]
    assert first.input_grad_norms.shape == (3, 12)
    assert (first.input_grad_norms > 0).all()


def test_recording_does_not_change_training():
    small = replace(ADDING_BUDGET, length=10, steps=20, test_size=32)
    torch.manual_seed(5)
    plain = train_adding_problem(RecurrentRegressor("gru", 2, 6), small)
    torch.manual_seed(5)
    recorded = train_adding_problem(RecurrentRegressor("gru", 2, 6), small, record_every=3)
    assert plain.losses == recorded.losses
    assert plain.input_grad_norms.shape == (0, 10)


def test_recorded_input_gradients_match_autograd():
    """The record at step 0 is the batch mean of ||dL/dx_t|| on the first batch, before any update."""
    small = replace(ADDING_BUDGET, length=6, steps=1, batch_size=4, test_size=8, seed=11)
    torch.manual_seed(0)
    model = RecurrentRegressor("lstm", 2, 3)
    copy = RecurrentRegressor("lstm", 2, 3)
    copy.load_state_dict(model.state_dict())
    run = train_adding_problem(model, small, record_every=1)
    from seqlab.data import adding_problem_batch

    X, Y = adding_problem_batch(4, 6, torch.Generator().manual_seed(11))
    X.requires_grad_()
    ((copy(X) - Y) ** 2).mean().backward()
    assert torch.allclose(run.input_grad_norms[0], X.grad.norm(dim=-1).mean(dim=0))


def test_a_trainable_model_beats_the_baseline_on_short_sequences():
    short = replace(ADDING_BUDGET, length=10, steps=300, test_size=256)
    torch.manual_seed(0)
    run = train_adding_problem(RecurrentRegressor("lstm", 2, 16), short)
    assert run.test_mse < ADDING_BASELINE_MSE / 4


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_train_adding_problem_rejects_bad_record_every(bad):
    with pytest.raises(ValueError, match="record_every"):
        train_adding_problem(RecurrentRegressor("rnn", 2, 4), replace(ADDING_BUDGET, steps=1), record_every=bad)


def test_set_forget_gate_bias_sets_b_f_and_nothing_else():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, num_layers=2)
    before = {name: p.detach().clone() for name, p in lstm.named_parameters()}
    set_forget_gate_bias(lstm, 1.0)
    for name, p in lstm.named_parameters():
        if name.startswith("bias"):
            keep = torch.ones(16, dtype=torch.bool)
            keep[4:8] = False  # gates i, f, g, o: the forget quarter is [H:2H]
            assert torch.equal(p[keep], before[name][keep])
        else:
            assert torch.equal(p, before[name])
    for layer in (0, 1):
        b_f = getattr(lstm, f"bias_ih_l{layer}")[4:8] + getattr(lstm, f"bias_hh_l{layer}")[4:8]
        assert torch.equal(b_f, torch.ones(4))
    with pytest.raises(TypeError, match="nn.LSTM"):
        set_forget_gate_bias(torch.nn.GRU(3, 4), 1.0)
    with pytest.raises(ValueError, match="bias=False"):
        set_forget_gate_bias(torch.nn.LSTM(3, 4, bias=False), 1.0)
    for bad in (True, "1", float("nan")):
        with pytest.raises(TypeError, match="value"):
            set_forget_gate_bias(lstm, bad)
