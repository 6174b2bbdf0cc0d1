"""Unit tests for seqlab.weights: course-convention weights <-> torch.nn RNN modules."""

import pytest
import torch
from torch import nn

from seqlab.weights import (
    birnn_from_weights,
    load_rnn_weights,
    random_rnn_weights,
    rnn_from_weights,
    rnn_weights,
    run_packed,
    stacked_rnn_from_weights,
)

D, H, B, T = 3, 4, 2, 5


def _weights(d=D, h=H, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(d, h, dtype=dtype, generator=gen),
        torch.randn(h, h, dtype=dtype, generator=gen) * 0.5,
        torch.randn(h, dtype=dtype, generator=gen),
    )


def _manual_rnn(X, W_xh, W_hh, b_h, h0=None):
    """The course's RNN layer, batch-first: returns all states (B, T, H)."""
    h = torch.zeros(X.shape[0], W_hh.shape[0], dtype=X.dtype) if h0 is None else h0
    states = []
    for t in range(X.shape[1]):
        h = torch.tanh(X[:, t] @ W_xh + h @ W_hh + b_h)
        states.append(h)
    return torch.stack(states, dim=1)


def _inputs(d=D, seed=1, dtype=torch.float64):
    return torch.randn(B, T, d, dtype=dtype, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------ load_rnn_weights


def test_load_into_rnn_cell_matches_manual_step():
    W_xh, W_hh, b_h = _weights()
    cell = nn.RNNCell(D, H, dtype=torch.float64)
    assert load_rnn_weights(cell, W_xh, W_hh, b_h) is cell
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(B, D, dtype=torch.float64, generator=gen)
    h = torch.randn(B, H, dtype=torch.float64, generator=gen)
    expected = torch.tanh(x @ W_xh + h @ W_hh + b_h)
    with torch.no_grad():
        got = cell(x, h)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_load_into_rnn_matches_manual_loop():
    W_xh, W_hh, b_h = _weights()
    rnn = nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    load_rnn_weights(rnn, W_xh, W_hh, b_h)
    X = _inputs()
    with torch.no_grad():
        out, h_n = rnn(X)
    expected = _manual_rnn(X, W_xh, W_hh, b_h)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_n[0], expected[:, -1], rtol=1e-12, atol=1e-12)


def test_load_converts_module_to_weights_dtype():
    W_xh, W_hh, b_h = _weights()
    rnn = nn.RNN(D, H, batch_first=True)  # float32
    load_rnn_weights(rnn, W_xh, W_hh, b_h)
    assert all(p.dtype == torch.float64 for p in rnn.parameters())
    assert torch.equal(rnn.weight_ih_l0, W_xh.T)


def test_load_into_second_layer_of_stacked_rnn():
    W0 = _weights(D, H, seed=0)
    W1 = _weights(H, H, seed=3)
    rnn = nn.RNN(D, H, num_layers=2, batch_first=True, dtype=torch.float64)
    load_rnn_weights(rnn, *W0, layer=0)
    load_rnn_weights(rnn, *W1, layer=1)
    assert torch.equal(rnn.weight_ih_l1, W1[0].T)
    assert torch.equal(rnn.weight_ih_l0, W0[0].T)
    X = _inputs()
    with torch.no_grad():
        out, _ = rnn(X)
    expected = _manual_rnn(_manual_rnn(X, *W0), *W1)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_load_into_reverse_direction_of_bidirectional_rnn():
    W_xh, W_hh, b_h = _weights()
    rnn = nn.RNN(D, H, bidirectional=True, batch_first=True, dtype=torch.float64)
    forward_before = {name: p.detach().clone() for name, p in rnn.named_parameters() if "reverse" not in name}
    load_rnn_weights(rnn, W_xh, W_hh, b_h, reverse=True)
    assert torch.equal(rnn.weight_ih_l0_reverse, W_xh.T)
    assert torch.equal(rnn.weight_hh_l0_reverse, W_hh.T)
    assert torch.equal(rnn.bias_ih_l0_reverse, b_h)
    assert torch.equal(rnn.bias_hh_l0_reverse, torch.zeros(H, dtype=torch.float64))
    for name, value in forward_before.items():
        assert torch.equal(getattr(rnn, name), value), f"{name} (forward direction) was changed"


def test_load_sets_bias_hh_to_zero():
    W_xh, W_hh, b_h = _weights()
    cell = nn.RNNCell(D, H, dtype=torch.float64)
    assert cell.bias_hh.abs().sum() > 0
    load_rnn_weights(cell, W_xh, W_hh, b_h)
    assert torch.equal(cell.bias_hh, torch.zeros(H, dtype=torch.float64))
    assert torch.equal(cell.bias_ih, b_h)


# ------------------------------------------------------------------------------------ rnn_weights


@pytest.mark.parametrize(
    "make, kwargs",
    [
        (lambda: nn.RNNCell(D, H, dtype=torch.float64), {}),
        (lambda: nn.RNN(D, H, dtype=torch.float64), {}),
        (lambda: nn.RNN(D, H, bidirectional=True, dtype=torch.float64), {"reverse": True}),
    ],
)
def test_rnn_weights_round_trip(make, kwargs):
    W_xh, W_hh, b_h = _weights()
    module = make()
    load_rnn_weights(module, W_xh, W_hh, b_h, **kwargs)
    back = rnn_weights(module, **kwargs)
    assert set(back) == {"W_xh", "W_hh", "b_h"}
    assert torch.equal(back["W_xh"], W_xh)
    assert torch.equal(back["W_hh"], W_hh)
    assert torch.equal(back["b_h"], b_h)


def test_rnn_weights_round_trip_second_layer():
    W1 = _weights(H, H, seed=3)
    rnn = nn.RNN(D, H, num_layers=2, dtype=torch.float64)
    load_rnn_weights(rnn, *W1, layer=1)
    back = rnn_weights(rnn, layer=1)
    assert torch.equal(back["W_xh"], W1[0])
    assert torch.equal(back["W_hh"], W1[1])
    assert back["W_xh"].shape == (H, H)


def test_rnn_weights_from_fresh_module_sums_biases():
    torch.manual_seed(0)
    rnn = nn.RNN(D, H)
    w = rnn_weights(rnn)
    assert w["W_xh"].shape == (D, H)
    assert torch.equal(w["W_xh"], rnn.weight_ih_l0.detach().T)
    assert torch.equal(w["W_hh"], rnn.weight_hh_l0.detach().T)
    assert torch.equal(w["b_h"], (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach())
    assert not w["b_h"].requires_grad


def test_rnn_weights_returns_copies():
    rnn = nn.RNN(D, H)
    w = rnn_weights(rnn)
    before = rnn.weight_ih_l0.detach().clone()
    w["W_xh"].add_(1.0)
    w["b_h"].add_(1.0)
    assert torch.equal(rnn.weight_ih_l0, before)


def test_rnn_weights_of_fresh_module_reproduce_its_output():
    torch.manual_seed(0)
    rnn = nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    w = rnn_weights(rnn)
    X = _inputs()
    with torch.no_grad():
        out, _ = rnn(X)
    torch.testing.assert_close(_manual_rnn(X, w["W_xh"], w["W_hh"], w["b_h"]), out, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------ rnn_from_weights


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_rnn_from_weights_matches_manual_loop(dtype):
    W_xh, W_hh, b_h = _weights(dtype=dtype)
    rnn = rnn_from_weights(W_xh, W_hh, b_h)
    assert isinstance(rnn, nn.RNN)
    assert rnn.batch_first
    assert rnn.num_layers == 1
    assert not rnn.bidirectional
    assert (rnn.input_size, rnn.hidden_size) == (D, H)
    assert all(p.dtype == dtype for p in rnn.parameters())
    X = _inputs(dtype=dtype)
    with torch.no_grad():
        out, _ = rnn(X)
    assert out.dtype == dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(out, _manual_rnn(X, W_xh, W_hh, b_h), rtol=tol, atol=tol)


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "which, bad_shape",
    [("W_xh", (H, D)), ("W_hh", (H, H + 1)), ("b_h", (1, H)), ("b_h", (H + 1,))],
)
def test_load_wrong_shape_names_argument(which, bad_shape):
    weights = dict(zip(("W_xh", "W_hh", "b_h"), _weights(), strict=True))
    weights[which] = torch.zeros(bad_shape, dtype=torch.float64)
    with pytest.raises(ValueError, match=which):
        load_rnn_weights(nn.RNNCell(D, H), **weights)


def test_load_wrong_shape_leaves_module_untouched():
    cell = nn.RNNCell(D, H)
    before = {name: p.detach().clone() for name, p in cell.named_parameters()}
    W_xh, _, b_h = _weights()
    with pytest.raises(ValueError, match="W_hh"):
        load_rnn_weights(cell, W_xh, torch.zeros(D, D, dtype=torch.float64), b_h)
    for name, value in before.items():
        assert torch.equal(getattr(cell, name), value)


def test_rnn_from_weights_wrong_shape_raises():
    W_xh, W_hh, b_h = _weights()
    with pytest.raises(ValueError, match="W_hh"):
        rnn_from_weights(W_xh, W_hh[:, :-1], b_h)
    with pytest.raises(ValueError, match="W_xh"):
        rnn_from_weights(W_xh[0], W_hh, b_h)


@pytest.mark.parametrize("which", ["W_xh", "W_hh", "b_h"])
def test_load_non_tensor_raises_type_error(which):
    weights = dict(zip(("W_xh", "W_hh", "b_h"), _weights(), strict=True))
    weights[which] = weights[which].tolist()
    with pytest.raises(TypeError, match=which):
        load_rnn_weights(nn.RNNCell(D, H), **weights)


@pytest.mark.parametrize(
    "make", [lambda: nn.RNNCell(D, H, nonlinearity="relu"), lambda: nn.RNN(D, H, nonlinearity="relu")]
)
def test_relu_module_raises_value_error(make):
    with pytest.raises(ValueError, match="tanh"):
        load_rnn_weights(make(), *_weights())
    with pytest.raises(ValueError, match="tanh"):
        rnn_weights(make())


def test_bias_free_module_cannot_hold_b_h():
    with pytest.raises(ValueError, match="bias"):
        load_rnn_weights(nn.RNN(D, H, bias=False), *_weights())


@pytest.mark.parametrize(
    "make, kwargs",
    [
        (lambda: nn.RNN(D, H, num_layers=2), {"layer": 2}),
        (lambda: nn.RNN(D, H), {"layer": 1}),
        (lambda: nn.RNN(D, H), {"layer": -1}),
        (lambda: nn.RNN(D, H), {"reverse": True}),
        (lambda: nn.RNNCell(D, H), {"layer": 1}),
        (lambda: nn.RNNCell(D, H), {"reverse": True}),
    ],
)
def test_bad_layer_or_direction_raises_value_error(make, kwargs):
    with pytest.raises(ValueError):
        load_rnn_weights(make(), *_weights(), **kwargs)
    with pytest.raises(ValueError):
        rnn_weights(make(), **kwargs)


@pytest.mark.parametrize("module", [nn.Linear(D, H), nn.LSTM(D, H)])
def test_non_rnn_module_raises_type_error(module):
    with pytest.raises(TypeError, match=type(module).__name__):
        load_rnn_weights(module, *_weights())
    with pytest.raises(TypeError):
        rnn_weights(module)


# ------------------------------------------------------------------------------------ BiRNN, stacked, packed


def _direction(d=D, h=H, seed=0, dtype=torch.float64):
    return dict(zip(("W_xh", "W_hh", "b_h"), _weights(d, h, seed, dtype), strict=True))


def test_birnn_from_weights_holds_both_directions():
    p_fwd, p_bwd = _direction(seed=1), _direction(seed=2)
    module = birnn_from_weights(p_fwd, p_bwd)
    assert module.bidirectional and module.batch_first and module.weight_ih_l0.dtype == torch.float64
    for got, want in ((rnn_weights(module), p_fwd), (rnn_weights(module, reverse=True), p_bwd)):
        for key in want:
            assert torch.equal(got[key], want[key])


def test_birnn_full_length_equals_manual_loops():
    p_fwd, p_bwd = _direction(seed=1), _direction(seed=2)
    X = _inputs()
    out, _ = birnn_from_weights(p_fwd, p_bwd)(X)
    forward = _manual_rnn(X, **p_fwd)
    backward = _manual_rnn(X.flip(1), **p_bwd).flip(1)
    torch.testing.assert_close(out, torch.cat([forward, backward], dim=-1))


def test_run_packed_reads_only_real_steps():
    p_fwd, p_bwd = _direction(seed=1), _direction(seed=2)
    module = birnn_from_weights(p_fwd, p_bwd)
    X = torch.randn(3, 6, D, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    lengths = torch.tensor([4, 6, 1])  # not sorted: enforce_sorted=False
    out, h_n = run_packed(module, X, lengths)
    assert out.shape == (3, 6, 2 * H) and h_n.shape == (2, 3, H)
    for b, n in enumerate(lengths.tolist()):
        alone = X[b : b + 1, :n]
        forward = _manual_rnn(alone, **p_fwd)[0]
        backward = _manual_rnn(alone.flip(1), **p_bwd).flip(1)[0]
        torch.testing.assert_close(out[b, :n], torch.cat([forward, backward], dim=-1))
        assert torch.equal(out[b, n:], torch.zeros(6 - n, 2 * H, dtype=torch.float64))
        torch.testing.assert_close(h_n[0, b], forward[-1])
        torch.testing.assert_close(h_n[1, b], backward[0])
    # the padding's content does not matter
    noisy = X.clone()
    noisy[0, 4:] = 100.0
    torch.testing.assert_close(run_packed(module, noisy, lengths)[0], out)


@pytest.mark.parametrize(
    "lengths, match",
    [(torch.tensor([0, 2, 3]), "length"), (torch.tensor([7, 2, 3]), "length"), (torch.tensor([2, 3]), "lengths")],
)
def test_run_packed_bad_lengths(lengths, match):
    module = birnn_from_weights(_direction(), _direction(seed=1))
    with pytest.raises(ValueError, match=match):
        run_packed(module, torch.zeros(3, 6, D, dtype=torch.float64), lengths)


def test_run_packed_needs_batch_first():
    with pytest.raises(ValueError, match="batch_first"):
        run_packed(nn.RNN(D, H), torch.zeros(2, 3, D), torch.tensor([3, 2]))


def test_stacked_rnn_from_weights_equals_manual_layers():
    layers = [_direction(D, H, seed=1), _direction(H, H, seed=2), _direction(H, H, seed=3)]
    module = stacked_rnn_from_weights(layers)
    assert module.num_layers == 3 and module.batch_first
    X = _inputs()
    h0 = torch.randn(3, B, H, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    out, h_n = module(X, h0)
    states = X
    for index, p in enumerate(layers):
        states = _manual_rnn(states, **p, h0=h0[index])
        torch.testing.assert_close(h_n[index], states[:, -1])
    torch.testing.assert_close(out, states)


@pytest.mark.parametrize("bad", [[], None, [{"W_xh": torch.zeros(2, 2)}]])
def test_stacked_rnn_from_weights_bad_layers(bad):
    with pytest.raises(ValueError, match="layers"):
        stacked_rnn_from_weights(bad)


def test_birnn_from_weights_bad_direction():
    with pytest.raises(ValueError, match="p_bwd"):
        birnn_from_weights(_direction(), {"W_xh": torch.zeros(D, H)})


def test_random_rnn_weights_shapes_dtype_and_scale():
    p = random_rnn_weights(50, 40, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert {k: tuple(v.shape) for k, v in p.items()} == {"W_xh": (50, 40), "W_hh": (40, 40), "b_h": (40,)}
    assert all(v.dtype == torch.float64 and not v.requires_grad for v in p.values())
    assert abs(p["W_xh"].std().item() - 50**-0.5) < 0.02
    assert abs(p["W_hh"].std().item() - 40**-0.5) < 0.02
    assert 0.03 < p["b_h"].std().item() < 0.3


def test_random_rnn_weights_seeded_and_trainable():
    first = random_rnn_weights(3, 4, torch.Generator().manual_seed(1))
    again = random_rnn_weights(3, 4, torch.Generator().manual_seed(1))
    assert all(torch.equal(first[k], again[k]) for k in first)
    trainable = random_rnn_weights(3, 4, requires_grad=True)
    assert all(v.is_leaf and v.requires_grad for v in trainable.values())


@pytest.mark.parametrize(
    "args, error", [((0, 3), ValueError), ((3, 2.0), ValueError), ((True, 3), ValueError), ((3, 3, 5), TypeError)]
)
def test_random_rnn_weights_bad_arguments(args, error):
    with pytest.raises(error):
        random_rnn_weights(*args)


# ------------------------------------------------------------------------------------ GRU (lesson 03)
# Imported here rather than at the top so that this section merges independently of the other gated cell's.
from seqlab.weights import (  # noqa: E402
    GRU_KEYS,
    gru_from_weights,
    gru_weights,
    load_gru_weights,
    random_gru_weights,
)


def _manual_gru(X, p, h0=None):
    """A tiny reference GRU (PyTorch's placement of the reset gate), batch-first: returns all states (B, T, H)."""
    h = torch.zeros(X.shape[0], p["W_hr"].shape[0], dtype=X.dtype) if h0 is None else h0
    states = []
    for t in range(X.shape[1]):
        x = X[:, t]
        r = torch.sigmoid(x @ p["W_xr"] + h @ p["W_hr"] + p["b_r"])
        z = torch.sigmoid(x @ p["W_xz"] + h @ p["W_hz"] + p["b_z"])
        n = torch.tanh(x @ p["W_xn"] + p["b_xn"] + r * (h @ p["W_hn"] + p["b_hn"]))
        h = (1 - z) * n + z * h
        states.append(h)
    return torch.stack(states, dim=1)


def _gru_dict(d=D, h=H, seed=0, dtype=torch.float64):
    return random_gru_weights(d, h, torch.Generator().manual_seed(seed), dtype=dtype)


def test_gru_from_weights_equals_manual_gru():
    p = _gru_dict()
    module = gru_from_weights(p)
    assert isinstance(module, nn.GRU) and module.batch_first and module.num_layers == 1
    assert module.weight_ih_l0.dtype == torch.float64
    X = _inputs()
    h0 = torch.randn(B, H, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        out, h_n = module(X, h0.unsqueeze(0))
    expected = _manual_gru(X, p, h0)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_n[0], expected[:, -1], rtol=1e-12, atol=1e-12)


def test_gru_weights_reads_pytorch_gate_order_and_biases():
    torch.manual_seed(0)
    module = nn.GRU(D, H, batch_first=True, dtype=torch.float64)  # PyTorch's own initialisation, both biases
    p = gru_weights(module)
    assert tuple(p) == GRU_KEYS
    assert torch.equal(p["W_xz"], module.weight_ih_l0[H : 2 * H].T)  # gates stacked r, z, n
    assert torch.equal(p["W_hn"], module.weight_hh_l0[2 * H :].T)
    torch.testing.assert_close(p["b_r"], module.bias_ih_l0[:H] + module.bias_hh_l0[:H])
    assert torch.equal(p["b_xn"], module.bias_ih_l0[2 * H :]) and torch.equal(p["b_hn"], module.bias_hh_l0[2 * H :])
    X = _inputs()
    with torch.no_grad():
        out, _ = module(X)
    torch.testing.assert_close(_manual_gru(X, p), out, rtol=1e-12, atol=1e-12)
    p["W_xr"].add_(1.0)  # detached copies: the module is untouched
    assert not torch.equal(p["W_xr"], module.weight_ih_l0[:H].T)


def test_gru_round_trip_and_cell():
    p = _gru_dict(seed=3)
    back = gru_weights(gru_from_weights(p))
    for key in GRU_KEYS:
        torch.testing.assert_close(back[key], p[key], rtol=0, atol=0)
    cell = load_gru_weights(nn.GRUCell(D, H), p)  # float32 module converted to p's dtype
    assert cell.weight_ih.dtype == torch.float64
    gen = torch.Generator().manual_seed(4)
    x, h = torch.randn(B, D, dtype=torch.float64, generator=gen), torch.randn(B, H, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        torch.testing.assert_close(cell(x, h), _manual_gru(x[:, None], p, h)[:, 0], rtol=1e-12, atol=1e-12)
    assert all(torch.equal(gru_weights(cell)[key], p[key]) for key in GRU_KEYS)


def test_load_gru_weights_into_a_stacked_bidirectional_gru():
    module = nn.GRU(D, H, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    p = _gru_dict(2 * H, H, seed=6)
    load_gru_weights(module, p, layer=1, reverse=True)
    assert all(torch.equal(gru_weights(module, layer=1, reverse=True)[key], p[key]) for key in GRU_KEYS)
    with pytest.raises(ValueError, match="input size"):
        load_gru_weights(module, _gru_dict(), layer=1)  # layer 1 reads 2H features, not D
    with pytest.raises(ValueError, match="layer"):
        gru_weights(module, layer=2)
    with pytest.raises(ValueError, match="bidirectional"):
        gru_weights(nn.GRU(D, H), reverse=True)


def test_gru_weights_float32_and_no_bias():
    p = gru_weights(nn.GRU(D, H, bias=False))
    assert all(p[key].dtype == torch.float32 for key in GRU_KEYS)
    assert all(torch.equal(p[key], torch.zeros(H)) for key in ("b_r", "b_z", "b_xn", "b_hn"))
    with pytest.raises(ValueError, match="bias=False"):
        load_gru_weights(nn.GRU(D, H, bias=False), _gru_dict(dtype=torch.float32))


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda p: p.pop("b_hn"), ValueError, "missing b_hn"),
        (lambda p: p.update(b_n=torch.zeros(H)), ValueError, "unexpected b_n"),
        (lambda p: p.update(W_hz=torch.zeros(H, H + 1)), ValueError, r"W_hz.*\(4, 4\)"),
        (lambda p: p.update(b_r=torch.zeros(1, H)), ValueError, "b_r"),
        (lambda p: p.update(W_xn=torch.zeros(D, H, dtype=torch.float32)), ValueError, "dtype"),
        (lambda p: p.update(W_xr=torch.zeros(H)), ValueError, "W_xr"),
        (lambda p: p.update(b_z=[0.0] * H), TypeError, "b_z"),
    ],
)
def test_gru_from_weights_bad_dict(change, error, match):
    p = dict(_gru_dict())
    change(p)
    with pytest.raises(error, match=match):
        gru_from_weights(p)


def test_gru_loaders_bad_module():
    with pytest.raises(TypeError, match="nn.GRU"):
        gru_weights(nn.LSTM(D, H))
    with pytest.raises(TypeError, match="nn.GRU"):
        load_gru_weights(nn.RNN(D, H), _gru_dict())
    with pytest.raises(ValueError, match="GRUCell"):
        gru_weights(nn.GRUCell(D, H), layer=1)
    with pytest.raises(TypeError, match="dict"):
        gru_from_weights([torch.zeros(D, H)])


def test_random_gru_weights_shapes_scale_seed_and_grad():
    p = random_gru_weights(50, 40, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert tuple(p) == GRU_KEYS
    for key, value in p.items():
        shape = (50, 40) if key.startswith("W_x") else (40, 40) if key.startswith("W_h") else (40,)
        assert tuple(value.shape) == shape and value.dtype == torch.float64 and not value.requires_grad
    assert abs(p["W_xz"].std().item() - 50**-0.5) < 0.02 and abs(p["W_hn"].std().item() - 40**-0.5) < 0.02
    assert 0.03 < p["b_hn"].std().item() < 0.3
    again = random_gru_weights(50, 40, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert all(torch.equal(p[key], again[key]) for key in GRU_KEYS)
    assert not torch.equal(p["W_xr"][:, :10], p["W_xz"][:, :10])  # each gate its own draw
    trainable = random_gru_weights(3, 4, requires_grad=True)
    assert all(v.is_leaf and v.requires_grad for v in trainable.values())
    with pytest.raises(ValueError):
        random_gru_weights(0, 3)
    with pytest.raises(TypeError):
        random_gru_weights(3, 3, 5)


# ---- LSTM (lesson 04) -------------------------------------------------------------------------------------------
from seqlab.weights import LSTM_KEYS, LSTM_PEEPHOLE_KEYS, lstm_from_weights, lstm_weights, random_lstm_weights  # noqa: E402


def _manual_lstm(X, p, h0=None, c0=None):
    """The course's LSTM layer, batch-first, written gate by gate: returns all h (B, T, H) and the last c."""
    Hs = p["W_hi"].shape[0]
    h = torch.zeros(X.shape[0], Hs, dtype=X.dtype) if h0 is None else h0
    c = torch.zeros(X.shape[0], Hs, dtype=X.dtype) if c0 is None else c0
    states = []
    for t in range(X.shape[1]):
        x = X[:, t]
        i = torch.sigmoid(x @ p["W_xi"] + h @ p["W_hi"] + p["b_i"])
        f = torch.sigmoid(x @ p["W_xf"] + h @ p["W_hf"] + p["b_f"])
        g = torch.tanh(x @ p["W_xg"] + h @ p["W_hg"] + p["b_g"])
        o = torch.sigmoid(x @ p["W_xo"] + h @ p["W_ho"] + p["b_o"])
        c = f * c + i * g
        h = o * torch.tanh(c)
        states.append(h)
    return torch.stack(states, dim=1), c


def test_lstm_keys_follow_pytorch_gate_order():
    assert LSTM_KEYS[:3] == ("W_xi", "W_hi", "b_i") and LSTM_KEYS[-3:] == ("W_xo", "W_ho", "b_o")
    assert len(LSTM_KEYS) == 12 and LSTM_PEEPHOLE_KEYS == ("w_ci", "w_cf", "w_co")


def test_lstm_weights_matches_module():
    torch.manual_seed(0)
    module = nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    p = lstm_weights(module)
    assert set(p) == set(LSTM_KEYS)
    assert tuple(p["W_xf"].shape) == (D, H) and tuple(p["W_hg"].shape) == (H, H) and tuple(p["b_o"].shape) == (H,)
    X = _inputs()
    h0 = torch.randn(B, H, dtype=torch.float64)
    c0 = torch.randn(B, H, dtype=torch.float64)
    expected, (h_n, c_n) = module(X, (h0.unsqueeze(0), c0.unsqueeze(0)))
    mine, c_T = _manual_lstm(X, p, h0, c0)
    torch.testing.assert_close(mine, expected)
    torch.testing.assert_close(c_T, c_n[0])
    # the forget gate is PyTorch's second block of H rows
    torch.testing.assert_close(p["W_xf"], module.weight_ih_l0[H : 2 * H].T)
    torch.testing.assert_close(p["b_f"], (module.bias_ih_l0 + module.bias_hh_l0)[H : 2 * H])


def test_lstm_weights_returns_detached_copies():
    module = nn.LSTM(D, H)
    p = lstm_weights(module)
    p["W_xi"].add_(1.0)
    assert not torch.equal(p["W_xi"], module.weight_ih_l0[:H].T)
    assert not any(v.requires_grad for v in p.values())


def test_lstm_weights_cell_second_layer_and_no_bias():
    torch.manual_seed(1)
    cell = nn.LSTMCell(D, H, dtype=torch.float64)
    p = lstm_weights(cell)
    x = torch.randn(B, D, dtype=torch.float64)
    h, c = cell(x)
    mine, c_mine = _manual_lstm(x.unsqueeze(1), p)
    torch.testing.assert_close(mine[:, 0], h)
    torch.testing.assert_close(c_mine, c)
    stacked = nn.LSTM(D, H, num_layers=2, bias=False)
    upper = lstm_weights(stacked, layer=1)
    assert tuple(upper["W_xi"].shape) == (H, H) and torch.equal(upper["b_g"], torch.zeros(H))


@pytest.mark.parametrize(
    "module, layer, error, match",
    [
        (nn.GRU(D, H), 0, TypeError, "torch.nn.LSTM"),
        (nn.LSTM(D, H), 1, ValueError, "layer"),
        (nn.LSTMCell(D, H), 1, ValueError, "layer=0"),
        (nn.LSTM(D, H, proj_size=2), 0, ValueError, "proj_size"),
    ],
)
def test_lstm_weights_bad_arguments(module, layer, error, match):
    with pytest.raises(error, match=match):
        lstm_weights(module, layer=layer)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lstm_from_weights_round_trip(dtype):
    p = random_lstm_weights(D, H, torch.Generator().manual_seed(2), dtype=dtype)
    module = lstm_from_weights(p)
    assert module.batch_first and module.num_layers == 1 and module.weight_hh_l0.dtype == dtype
    back = lstm_weights(module)
    assert all(torch.equal(back[k], p[k]) for k in LSTM_KEYS)
    X = _inputs(dtype=dtype)
    expected, (h_n, c_n) = module(X)
    mine, c_T = _manual_lstm(X, p)
    torch.testing.assert_close(mine, expected)
    torch.testing.assert_close(c_T, c_n[0])


def test_lstm_from_weights_clear_errors():
    p = random_lstm_weights(D, H, torch.Generator().manual_seed(3))
    with pytest.raises(ValueError, match="missing the LSTM parameter.*b_f"):
        lstm_from_weights({k: v for k, v in p.items() if k != "b_f"})
    with pytest.raises(ValueError, match=r"p\['W_hg'\] should have shape \(4, 4\)"):
        lstm_from_weights({**p, "W_hg": torch.zeros(H, H + 1)})
    with pytest.raises(ValueError, match="peephole"):
        lstm_from_weights({**p, "w_ci": torch.zeros(H)})
    with pytest.raises(ValueError, match="unexpected key"):
        lstm_from_weights({**p, "W_xh": torch.zeros(D, H)})
    with pytest.raises(ValueError, match="dtype"):
        lstm_from_weights({**p, "b_o": torch.zeros(H, dtype=torch.float64)})
    with pytest.raises(TypeError, match="dict"):
        lstm_from_weights([p])
    with pytest.raises(TypeError, match="torch.Tensor"):
        lstm_from_weights({**p, "b_i": [0.0] * H})


def test_random_lstm_weights_shapes_seed_and_peephole():
    p = random_lstm_weights(50, 40, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert list(p) == list(LSTM_KEYS)
    assert all(v.dtype == torch.float64 and not v.requires_grad for v in p.values())
    assert abs(p["W_xg"].std().item() - 50**-0.5) < 0.02 and abs(p["W_ho"].std().item() - 40**-0.5) < 0.02
    peep = random_lstm_weights(50, 40, torch.Generator().manual_seed(0), dtype=torch.float64, peephole=True)
    assert list(peep) == list(LSTM_KEYS) + list(LSTM_PEEPHOLE_KEYS)
    assert all(torch.equal(peep[k], p[k]) for k in LSTM_KEYS), "the plain weights do not depend on peephole"
    assert all(tuple(peep[k].shape) == (40,) for k in LSTM_PEEPHOLE_KEYS)
    trainable = random_lstm_weights(3, 4, requires_grad=True, peephole=True)
    assert all(v.is_leaf and v.requires_grad for v in trainable.values())


@pytest.mark.parametrize(
    "args, error", [((0, 3), ValueError), ((3, 2.0), ValueError), ((True, 3), ValueError), ((3, 3, 5), TypeError)]
)
def test_random_lstm_weights_bad_arguments(args, error):
    with pytest.raises(error):
        random_lstm_weights(*args)


# ---------------------------------------------------------------------------------------------------------------
# Self-attention and the Transformer encoder (lesson 07)
# ---------------------------------------------------------------------------------------------------------------

import math  # noqa: E402

from seqlab.weights import (  # noqa: E402
    load_encoder_layer,
    load_multihead_attention,
    random_layer_norms,
    torch_attention_mask,
)


class _TinyMHA(nn.Module):
    """A minimal course-convention multi-head attention, for these tests only (students write their own)."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        self.num_heads, self.d_head = num_heads, d_model // num_heads
        self.W_q, self.W_k = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)
        self.W_v, self.W_o = nn.Linear(d_model, d_model), nn.Linear(d_model, d_model)

    def forward(self, query, key, value, mask=None):
        def heads(x):
            return x.unflatten(-1, (self.num_heads, self.d_head)).transpose(1, 2)

        q, k, v = heads(self.W_q(query)), heads(self.W_k(key)), heads(self.W_v(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1)
        return self.W_o((weights @ v).transpose(1, 2).flatten(-2)), weights


class _TinyBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.attn = _TinyMHA(d_model, num_heads)
        self.ff1, self.ff2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)

    def forward(self, x, mask=None):
        x = self.norm1(x + self.attn(x, x, x, mask)[0])
        return self.norm2(x + self.ff2(torch.relu(self.ff1(x))))


def _random_params(module, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
    return module


_D_MODEL, _HEADS, _D_FF = 8, 2, 12


def _mha_pair(seed=0, dtype=torch.float64):
    source = _random_params(nn.MultiheadAttention(_D_MODEL, _HEADS, batch_first=True, dtype=dtype), seed)
    return load_multihead_attention(_TinyMHA(_D_MODEL, _HEADS), source), source


@pytest.mark.parametrize("Tq, Tk", [(5, 5), (3, 6)])
def test_load_multihead_attention_matches_torch_outputs_and_per_head_weights(Tq, Tk):
    mine, source = _mha_pair()
    assert mine.W_q.weight.dtype == torch.float64
    gen = torch.Generator().manual_seed(1)
    query = torch.randn(2, Tq, _D_MODEL, generator=gen, dtype=torch.float64)
    key = torch.randn(2, Tk, _D_MODEL, generator=gen, dtype=torch.float64)
    value = torch.randn(2, Tk, _D_MODEL, generator=gen, dtype=torch.float64)
    out, weights = mine(query, key, value)
    out_t, weights_t = source(query, key, value, need_weights=True, average_attn_weights=False)
    assert weights.shape == weights_t.shape == (2, _HEADS, Tq, Tk)
    torch.testing.assert_close(out, out_t, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(weights, weights_t, rtol=1e-12, atol=1e-12)
    # q, k and v really come from W_q, W_k, W_v: swapping two of them changes the output
    with torch.no_grad():
        mine.W_q.weight, mine.W_k.weight = mine.W_k.weight, mine.W_q.weight
    assert not torch.allclose(mine(query, key, value)[1], weights_t)


def test_load_multihead_attention_with_course_masks():
    mine, source = _mha_pair(seed=2)
    gen = torch.Generator().manual_seed(3)
    B, Tq, Tk = 3, 4, 6
    query = torch.randn(B, Tq, _D_MODEL, generator=gen, dtype=torch.float64)
    memory = torch.randn(B, Tk, _D_MODEL, generator=gen, dtype=torch.float64)
    causal = torch.ones(Tq, Tk, dtype=torch.bool).tril()  # True = may attend
    padding = (torch.arange(Tk) < torch.tensor([6, 4, 1]).unsqueeze(1)).view(B, 1, 1, Tk)
    for mask, attn_mask in (
        (causal, torch_attention_mask(causal)),
        (padding, torch_attention_mask(padding, (B, _HEADS, Tq, Tk))),
    ):
        out, weights = mine(query, memory, memory, mask)
        out_t, weights_t = source(query, memory, memory, attn_mask=attn_mask, average_attn_weights=False)
        torch.testing.assert_close(out, out_t, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(weights, weights_t, rtol=1e-12, atol=1e-12)
        assert torch.all(weights[~mask.expand(B, _HEADS, Tq, Tk)] == 0)


def test_load_multihead_attention_float32_and_chaining():
    source = _random_params(nn.MultiheadAttention(_D_MODEL, _HEADS, batch_first=True), 4)
    target = _TinyMHA(_D_MODEL, _HEADS).double()
    assert load_multihead_attention(target, source) is target
    assert target.W_o.weight.dtype == torch.float32, "target takes the source's dtype"
    x = torch.randn(2, 5, _D_MODEL, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(target(x, x, x)[0], source(x, x, x)[0])


def test_load_multihead_attention_refuses_what_the_course_cannot_hold():
    target = _TinyMHA(_D_MODEL, _HEADS)
    cases = [
        (nn.MultiheadAttention(_D_MODEL, _HEADS, bias=False), "bias=False"),
        (nn.MultiheadAttention(_D_MODEL, _HEADS, add_bias_kv=True), "add_bias_kv"),
        (nn.MultiheadAttention(_D_MODEL, _HEADS, add_zero_attn=True), "add_zero_attn"),
        (nn.MultiheadAttention(_D_MODEL, _HEADS, kdim=5, vdim=5), "kdim=5, vdim=5"),
        (nn.MultiheadAttention(_D_MODEL, 4), "num_heads=2 but source has num_heads=4"),
    ]
    for source, words in cases:
        with pytest.raises(ValueError, match=words):
            load_multihead_attention(target, source)
    with pytest.raises(TypeError, match="torch.nn.MultiheadAttention"):
        load_multihead_attention(target, nn.Linear(_D_MODEL, _D_MODEL))
    with pytest.raises(TypeError, match="nn.Module"):
        load_multihead_attention({"W_q": None}, nn.MultiheadAttention(_D_MODEL, _HEADS))


def test_load_multihead_attention_checks_the_targets_attributes():
    source = nn.MultiheadAttention(_D_MODEL, _HEADS)
    missing = _TinyMHA(_D_MODEL, _HEADS)
    del missing.W_v
    before = missing.W_q.weight.clone()
    with pytest.raises(AttributeError, match="'W_v'.*nn.Linear\\(8, 8\\)"):
        load_multihead_attention(missing, source)
    wrong = _TinyMHA(_D_MODEL, _HEADS)
    wrong.W_o = nn.Linear(_D_MODEL, _D_MODEL + 1)
    with pytest.raises(ValueError, match=r"target.W_o should be an nn.Linear\(8, 8\).*\(out, in\)"):
        load_multihead_attention(wrong, source)
    no_bias = _TinyMHA(_D_MODEL, _HEADS)
    no_bias.W_k = nn.Linear(_D_MODEL, _D_MODEL, bias=False)
    with pytest.raises(ValueError, match="W_k should have a bias"):
        load_multihead_attention(no_bias, source)
    assert torch.equal(missing.W_q.weight, before), "nothing is copied when the target is wrong"


def _layer_pair(seed=0, dtype=torch.float64):
    source = nn.TransformerEncoderLayer(_D_MODEL, _HEADS, _D_FF, dropout=0.0, batch_first=True, dtype=dtype)
    _random_params(source, seed)
    random_layer_norms(source, torch.Generator().manual_seed(seed + 100))
    return load_encoder_layer(_TinyBlock(_D_MODEL, _HEADS, _D_FF), source), source


def test_load_encoder_layer_matches_torch_with_and_without_mask():
    mine, source = _layer_pair()
    source.eval()
    x = torch.randn(3, 7, _D_MODEL, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    torch.testing.assert_close(mine(x), source(x), rtol=1e-12, atol=1e-12)
    causal = torch.ones(7, 7, dtype=torch.bool).tril()
    torch.testing.assert_close(
        mine(x, causal), source(x, src_mask=torch_attention_mask(causal)), rtol=1e-12, atol=1e-12
    )
    assert not torch.allclose(mine(x, causal), mine(x)), "the mask matters"


def test_load_encoder_layer_random_norms_catch_swapped_norms():
    mine, source = _layer_pair(seed=1)
    x = torch.randn(2, 5, _D_MODEL, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    expected = source(x)
    torch.testing.assert_close(mine(x), expected, rtol=1e-12, atol=1e-12)
    mine.norm1, mine.norm2 = mine.norm2, mine.norm1
    assert not torch.allclose(mine(x), expected, atol=1e-3), "a block with norm1 and norm2 swapped must differ"


def test_load_encoder_layer_float32():
    source = nn.TransformerEncoderLayer(_D_MODEL, _HEADS, _D_FF, dropout=0.0, batch_first=True)
    random_layer_norms(source, torch.Generator().manual_seed(0))
    target = load_encoder_layer(_TinyBlock(_D_MODEL, _HEADS, _D_FF).double(), source)
    assert target.ff1.weight.dtype == torch.float32 and target.norm2.bias.dtype == torch.float32
    x = torch.randn(2, 4, _D_MODEL, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(target(x), source.eval()(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"norm_first": True}, "norm_first=True"),
        ({"activation": "gelu"}, "activation.*relu"),
        ({"dropout": 0.1}, "dropout"),
        ({"bias": False}, "bias=False"),
        ({"layer_norm_eps": 1e-6}, "eps"),
    ],
)
def test_load_encoder_layer_refuses_other_layers(kwargs, words):
    source = nn.TransformerEncoderLayer(_D_MODEL, _HEADS, _D_FF, **{"dropout": 0.0, **kwargs})
    with pytest.raises(ValueError, match=words):
        load_encoder_layer(_TinyBlock(_D_MODEL, _HEADS, _D_FF), source)


def test_load_encoder_layer_accepts_relu_module_and_checks_the_target():
    source = nn.TransformerEncoderLayer(_D_MODEL, _HEADS, _D_FF, dropout=0.0, activation=nn.ReLU())
    load_encoder_layer(_TinyBlock(_D_MODEL, _HEADS, _D_FF), source)
    with pytest.raises(TypeError, match="TransformerEncoderLayer"):
        load_encoder_layer(_TinyBlock(_D_MODEL, _HEADS, _D_FF), nn.MultiheadAttention(_D_MODEL, _HEADS))
    wrong_ff = _TinyBlock(_D_MODEL, _HEADS, _D_FF + 1)
    with pytest.raises(ValueError, match=r"target.ff1 should be an nn.Linear\(8, 12\)"):
        load_encoder_layer(wrong_ff, source)
    no_norm = _TinyBlock(_D_MODEL, _HEADS, _D_FF)
    del no_norm.norm2
    with pytest.raises(AttributeError, match="'norm2'.*LayerNorm\\(8\\)"):
        load_encoder_layer(no_norm, source)
    no_attn = _TinyBlock(_D_MODEL, _HEADS, _D_FF)
    del no_attn.attn
    with pytest.raises(AttributeError, match="'attn'"):
        load_encoder_layer(no_attn, source)
    bad_norm = _TinyBlock(_D_MODEL, _HEADS, _D_FF)
    bad_norm.norm1 = nn.LayerNorm(_D_MODEL, elementwise_affine=False)
    before = bad_norm.attn.W_q.weight.clone()
    with pytest.raises(ValueError, match="target.norm1 should be an nn.LayerNorm\\(8\\) with a weight"):
        load_encoder_layer(bad_norm, source)
    assert torch.equal(bad_norm.attn.W_q.weight, before), "nothing is copied when the target is wrong"


def test_random_layer_norms_is_seeded_and_checks_arguments():
    one = random_layer_norms(nn.TransformerEncoderLayer(8, 2, 12), torch.Generator().manual_seed(0))
    two = random_layer_norms(nn.TransformerEncoderLayer(8, 2, 12), torch.Generator().manual_seed(0))
    assert torch.equal(one.norm1.weight, two.norm1.weight) and torch.equal(one.norm2.bias, two.norm2.bias)
    assert not torch.allclose(one.norm1.weight, one.norm2.weight)
    assert not torch.allclose(one.norm1.bias, torch.zeros(8))
    assert not torch.equal(one.linear1.weight, two.linear1.weight), "only the layer norms are drawn"
    with pytest.raises(ValueError, match="no nn.LayerNorm"):
        random_layer_norms(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="torch.Generator"):
        random_layer_norms(one, 0)
    with pytest.raises(ValueError, match="scale"):
        random_layer_norms(one, scale=0)
    with pytest.raises(TypeError, match="nn.Module"):
        random_layer_norms([one])


def test_torch_attention_mask_flips_and_expands():
    causal = torch.ones(3, 3, dtype=torch.bool).tril()
    assert torch.equal(torch_attention_mask(causal), ~causal)
    padding = torch.tensor([[True, True, False], [True, False, False]]).view(2, 1, 1, 3)
    expanded = torch_attention_mask(padding, (2, 4, 5, 3))
    assert expanded.shape == (8, 5, 3)
    assert torch.equal(expanded[0], ~padding[0, 0].expand(5, 3))
    assert torch.equal(expanded[7], ~padding[1, 0].expand(5, 3))
    with pytest.raises(TypeError, match="bool"):
        torch_attention_mask(causal.float())
    with pytest.raises(ValueError, match="needs shape"):
        torch_attention_mask(padding)
    with pytest.raises(ValueError, match="does not broadcast"):
        torch_attention_mask(padding, (3, 4, 5, 3))
    with pytest.raises(ValueError, match="four positive ints"):
        torch_attention_mask(padding, (2, 4, 5))
