"""Copy weights between the course's conventions and ``torch.nn`` modules.

The course writes an RNN layer as ``h_t = tanh(x_t @ W_xh + h_{t-1} @ W_hh + b_h)`` with
``W_xh`` of shape ``(D, H)`` (weights multiply from the right, as in d2l).  ``torch.nn.RNN``
stores the transposes, ``weight_ih`` ``(H, D)`` and ``weight_hh`` ``(H, H)``, and two biases
``bias_ih + bias_hh`` where the course has one ``b_h``.  These functions do that bookkeeping so
tests and demos never copy weights by hand.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.validate import check_int

__all__ = [
    "load_rnn_weights",
    "rnn_weights",
    "rnn_from_weights",
    "birnn_from_weights",
    "stacked_rnn_from_weights",
    "run_packed",
    "random_rnn_weights",
    # GRU (lesson 03)
    "GRU_KEYS",
    "gru_weights",
    "load_gru_weights",
    "gru_from_weights",
    "random_gru_weights",
    # LSTM (lesson 04)
    "LSTM_KEYS",
    "LSTM_PEEPHOLE_KEYS",
    "lstm_weights",
    "lstm_from_weights",
    "random_lstm_weights",
]


def _suffix(module: nn.Module, layer: int, reverse: bool, classes: tuple[type, type] = (nn.RNN, nn.RNNCell)) -> str:
    """The parameter-name suffix of one layer and direction of ``module`` ("_l0", "_l1_reverse"; "" for a cell).

    ``classes`` is the (layer, cell) pair of module types expected, e.g. ``(nn.GRU, nn.GRUCell)``.
    """
    stacked, cell = classes
    if isinstance(module, cell):
        if layer != 0 or reverse:
            raise ValueError(f"an nn.{cell.__name__} has a single layer and direction: use layer=0, reverse=False")
        return ""
    if not isinstance(module, stacked):
        raise TypeError(
            f"module should be a torch.nn.{stacked.__name__} or torch.nn.{cell.__name__}, got {type(module).__name__}"
        )
    last = module.num_layers - 1
    check_int("layer", layer, minimum=0, maximum=last, expected=f"an int in 0 … {last} for this module")
    if reverse and not module.bidirectional:
        raise ValueError("reverse=True needs a module built with bidirectional=True")
    if getattr(module, "proj_size", 0):
        raise ValueError("the course's LSTM has no projection: build the module with proj_size=0")
    return f"_l{layer}" + ("_reverse" if reverse else "")


def _check_tanh(module: nn.Module) -> None:
    if getattr(module, "nonlinearity", "tanh") != "tanh":
        raise ValueError(f"the course's RNN uses tanh, but this module uses {module.nonlinearity!r}")


def load_rnn_weights(
    module: nn.RNN | nn.RNNCell,
    W_xh: torch.Tensor,
    W_hh: torch.Tensor,
    b_h: torch.Tensor,
    layer: int = 0,
    reverse: bool = False,
) -> nn.RNN | nn.RNNCell:
    """Copy course-convention weights into one layer/direction of ``module`` (in place).

    Args:
        module: a ``torch.nn.RNN`` (any ``num_layers``, ``bidirectional``) or ``torch.nn.RNNCell``
            with ``nonlinearity="tanh"``; it is converted to ``W_xh``'s dtype.
        W_xh: ``(D, H)`` input-to-hidden weights, ``D`` the layer's input size.
        W_hh: ``(H, H)`` hidden-to-hidden weights.
        b_h: ``(H,)`` bias; it goes to ``bias_ih`` and ``bias_hh`` is set to zero.
        layer: which layer of a stacked ``nn.RNN``.
        reverse: the backward direction of a bidirectional ``nn.RNN``.

    Returns:
        ``module`` itself, for chaining.
    """
    suffix = _suffix(module, layer, reverse)
    _check_tanh(module)
    for name, value in (("W_xh", W_xh), ("W_hh", W_hh), ("b_h", b_h)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} should be a torch.Tensor, got {type(value).__name__}")
    weight_ih = getattr(module, "weight_ih" + suffix)
    H, D = weight_ih.shape
    expected = {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}
    for name, value in (("W_xh", W_xh), ("W_hh", W_hh), ("b_h", b_h)):
        if tuple(value.shape) != expected[name]:
            raise ValueError(
                f"{name} should have shape {expected[name]} for this module (input size {D}, hidden size {H}), "
                f"got {tuple(value.shape)}"
            )
    if not getattr(module, "bias", True):
        raise ValueError("the module was built with bias=False, so it cannot hold b_h")
    module.to(dtype=W_xh.dtype)
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(W_xh.T)
        getattr(module, "weight_hh" + suffix).copy_(W_hh.T)
        getattr(module, "bias_ih" + suffix).copy_(b_h)
        getattr(module, "bias_hh" + suffix).zero_()
    return module


def rnn_weights(module: nn.RNN | nn.RNNCell, layer: int = 0, reverse: bool = False) -> dict[str, torch.Tensor]:
    """Read one layer/direction of ``module`` in the course's convention.

    Returns:
        ``{"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}``, detached copies; ``b_h`` is
        ``bias_ih + bias_hh`` (zeros if the module has no bias).
    """
    suffix = _suffix(module, layer, reverse)
    _check_tanh(module)
    weight_ih = getattr(module, "weight_ih" + suffix).detach()
    weight_hh = getattr(module, "weight_hh" + suffix).detach()
    if getattr(module, "bias", True):
        b_h = (getattr(module, "bias_ih" + suffix) + getattr(module, "bias_hh" + suffix)).detach().clone()
    else:
        b_h = torch.zeros(weight_hh.shape[0], dtype=weight_hh.dtype)
    return {"W_xh": weight_ih.T.clone(), "W_hh": weight_hh.T.clone(), "b_h": b_h}


def rnn_from_weights(W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor) -> nn.RNN:
    """A one-layer, batch-first ``torch.nn.RNN`` holding these weights, in their dtype.

    Args:
        W_xh: ``(D, H)``; W_hh: ``(H, H)``; b_h: ``(H,)``.
    """
    if not isinstance(W_xh, torch.Tensor) or W_xh.dim() != 2:
        raise ValueError("W_xh should be a 2-D tensor of shape (D, H)")
    D, H = W_xh.shape
    module = nn.RNN(D, H, batch_first=True, dtype=W_xh.dtype)
    return load_rnn_weights(module, W_xh, W_hh, b_h)


_DIRECTION_KEYS = ("W_xh", "W_hh", "b_h")


def _check_direction(name: str, p: object) -> dict[str, torch.Tensor]:
    if not isinstance(p, dict) or set(p) != set(_DIRECTION_KEYS):
        raise ValueError(f"{name} should be a dict with keys {', '.join(_DIRECTION_KEYS)}")
    return p


def birnn_from_weights(p_fwd: dict[str, torch.Tensor], p_bwd: dict[str, torch.Tensor]) -> nn.RNN:
    """A one-layer, batch-first, bidirectional ``torch.nn.RNN`` holding these two directions.

    Args:
        p_fwd: the forward direction, ``{"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}``.
        p_bwd: the backward direction, same shapes (its own weights).
    """
    _check_direction("p_fwd", p_fwd)
    _check_direction("p_bwd", p_bwd)
    D, H = p_fwd["W_xh"].shape
    module = nn.RNN(D, H, batch_first=True, bidirectional=True, dtype=p_fwd["W_xh"].dtype)
    load_rnn_weights(module, **p_fwd)
    return load_rnn_weights(module, **p_bwd, reverse=True)


def stacked_rnn_from_weights(layers: list[dict[str, torch.Tensor]]) -> nn.RNN:
    """A batch-first ``torch.nn.RNN(num_layers=len(layers))`` holding these layers, bottom layer first.

    Args:
        layers: one dict per layer; layer 0's ``W_xh`` is ``(D, H)``, the others' ``(H, H)``.
    """
    if not isinstance(layers, list | tuple) or not layers:
        raise ValueError("layers should be a non-empty list of direction dicts")
    for index, p in enumerate(layers):
        _check_direction(f"layers[{index}]", p)
    D, H = layers[0]["W_xh"].shape
    module = nn.RNN(D, H, num_layers=len(layers), batch_first=True, dtype=layers[0]["W_xh"].dtype)
    for index, p in enumerate(layers):
        load_rnn_weights(module, **p, layer=index)
    return module


def run_packed(module: nn.RNN, X: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a batch-first ``module`` on a padded batch the way PyTorch intends: packed.

    The sequences are packed with ``pack_padded_sequence`` (any order of lengths), so each direction
    reads only the real steps of each sequence, and the output is padded back to ``X``'s length.

    Args:
        module: a batch-first ``torch.nn.RNN`` (any number of layers and directions).
        X: ``(B, T, D)`` padded batch.
        lengths: ``(B,)`` true lengths, each in ``1 … T``.

    Returns:
        ``out`` ``(B, T, directions * H)`` with zeros at padded steps, and ``h_n``
        ``(layers * directions, B, H)``, the last real state of each layer and direction.
    """
    if not getattr(module, "batch_first", False):
        raise ValueError("run_packed expects a module built with batch_first=True")
    lengths = torch.as_tensor(lengths, dtype=torch.long).cpu()
    if lengths.dim() != 1 or lengths.shape[0] != X.shape[0]:
        raise ValueError(f"lengths should be a (B,) tensor with B = {X.shape[0]}, got shape {tuple(lengths.shape)}")
    if lengths.min() < 1 or lengths.max() > X.shape[1]:
        raise ValueError(f"every length should be in 1 … {X.shape[1]}, got {lengths.tolist()}")
    packed = nn.utils.rnn.pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)
    out, h_n = module(packed)
    out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=X.shape[1])
    return out, h_n


def _random_weights(
    keys: tuple[str, ...],
    input_size: int,
    hidden_size: int,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> dict[str, torch.Tensor]:
    """Draw ``keys`` in order: ``W_x*`` ``(D, H)`` from N(0, 1/D), ``W_h*`` ``(H, H)`` from N(0, 1/H), biases
    ``(H,)`` from N(0, 0.1²), so that pre-activations start around unit scale.  Checks the arguments."""
    check_int("input_size", input_size, expected="a positive int")
    check_int("hidden_size", hidden_size, expected="a positive int")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator or None, got {type(generator).__name__}")
    D, H = input_size, hidden_size
    p = {}
    for key in keys:
        if key.startswith("W_x"):
            p[key] = torch.randn(D, H, generator=generator, dtype=dtype) / D**0.5
        elif key.startswith("W_h"):
            p[key] = torch.randn(H, H, generator=generator, dtype=dtype) / H**0.5
        else:
            p[key] = torch.randn(H, generator=generator, dtype=dtype) * 0.1
    return p


def random_rnn_weights(
    input_size: int,
    hidden_size: int,
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    requires_grad: bool = False,
) -> dict[str, torch.Tensor]:
    """Random weights for one RNN layer or direction, in the course's convention.

    ``W_xh`` is drawn from N(0, 1/D) and ``W_hh`` from N(0, 1/H), so that the pre-activations start
    around unit scale (tanh neither saturates nor vanishes); ``b_h`` from N(0, 0.1²).

    Args:
        input_size: D; hidden_size: H.
        generator: a ``torch.Generator`` for reproducible draws (default: torch's global generator).
        dtype: the tensors' dtype.
        requires_grad: return leaf tensors ready to be trained.

    Returns:
        ``{"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}``.
    """
    p = _random_weights(_DIRECTION_KEYS, input_size, hidden_size, generator, dtype)
    return {name: tensor.requires_grad_(requires_grad) for name, tensor in p.items()}


# ------------------------------------------------------------------------------------------------ GRU (lesson 03)
#
# The course writes a GRU layer's parameters as a dict (weights multiply from the right):
#
#     r = sigmoid(x @ W_xr + h @ W_hr + b_r)            W_x* (D, H), W_h* (H, H), biases (H,)
#     z = sigmoid(x @ W_xz + h @ W_hz + b_z)
#     n = tanh(x @ W_xn + b_xn + r * (h @ W_hn + b_hn))
#     h' = (1 - z) * n + z * h
#
# torch.nn.GRU stacks the three gates in the order r, z, n: weight_ih (3H, D), weight_hh (3H, H),
# bias_ih (3H,), bias_hh (3H,).  For r and z only the sum bias_ih + bias_hh matters (b_r, b_z); for n the
# two biases sit on either side of the reset gate, so the course keeps them apart (b_xn, b_hn).

#: The keys of a course GRU parameter dict, in the order the lesson lists them.
GRU_KEYS = ("W_xr", "W_hr", "b_r", "W_xz", "W_hz", "b_z", "W_xn", "W_hn", "b_xn", "b_hn")


def _check_gru_dict(p: object, name: str = "p") -> tuple[int, int]:
    """Check a course GRU dict: the ten keys, tensors, consistent shapes, one dtype. Returns (D, H)."""
    if not isinstance(p, dict):
        raise TypeError(f"{name} should be a dict with keys {', '.join(GRU_KEYS)}, got {type(p).__name__}")
    missing = [key for key in GRU_KEYS if key not in p]
    extra = [key for key in p if key not in GRU_KEYS]
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {', '.join(map(str, extra))}"] if extra else []
        )
        raise ValueError(f"{name} should have exactly the keys {', '.join(GRU_KEYS)}: {'; '.join(parts)}")
    for key in GRU_KEYS:
        if not isinstance(p[key], torch.Tensor):
            raise TypeError(f"{name}['{key}'] should be a torch.Tensor, got {type(p[key]).__name__}")
    if p["W_xr"].dim() != 2:
        raise ValueError(f"{name}['W_xr'] should be a 2-D (D, H) tensor, got shape {tuple(p['W_xr'].shape)}")
    D, H = p["W_xr"].shape
    expected = {key: (D, H) if key.startswith("W_x") else (H, H) if key.startswith("W_h") else (H,) for key in GRU_KEYS}
    for key in GRU_KEYS:
        if tuple(p[key].shape) != expected[key]:
            raise ValueError(
                f"{name}['{key}'] should have shape {expected[key]} (input size D = {D}, hidden size H = {H}, "
                f"read from W_xr), got {tuple(p[key].shape)}"
            )
    dtypes = {p[key].dtype for key in GRU_KEYS}
    if len(dtypes) != 1:
        raise ValueError(f"all tensors of {name} should have one dtype, got {sorted(map(str, dtypes))}")
    return D, H


def gru_weights(module: nn.GRU | nn.GRUCell, layer: int = 0, reverse: bool = False) -> dict[str, torch.Tensor]:
    """Read one layer/direction of a ``torch.nn.GRU`` (or a ``torch.nn.GRUCell``) in the course's convention.

    Args:
        module: the GRU; its gates are stacked in the order r, z, n in ``weight_ih`` ``(3H, D)`` and
            ``weight_hh`` ``(3H, H)``.
        layer: which layer of a stacked ``nn.GRU``.
        reverse: the backward direction of a bidirectional ``nn.GRU``.

    Returns:
        Detached copies ``{"W_xr", "W_xz", "W_xn": (D, H); "W_hr", "W_hz", "W_hn": (H, H); "b_r", "b_z",
        "b_xn", "b_hn": (H,)}`` with ``b_r = b_ir + b_hr``, ``b_z = b_iz + b_hz``, ``b_xn = b_in`` and
        ``b_hn = b_hn`` (zeros if the module has no bias).
    """
    suffix = _suffix(module, layer, reverse, (nn.GRU, nn.GRUCell))
    weight_ih = getattr(module, "weight_ih" + suffix).detach()
    weight_hh = getattr(module, "weight_hh" + suffix).detach()
    H = weight_hh.shape[1]
    W_ir, W_iz, W_in = weight_ih.split(H, dim=0)
    W_hr, W_hz, W_hn = weight_hh.split(H, dim=0)
    if getattr(module, "bias", True):
        b_ir, b_iz, b_in = getattr(module, "bias_ih" + suffix).detach().split(H)
        b_hr, b_hz, b_hn = getattr(module, "bias_hh" + suffix).detach().split(H)
    else:
        b_ir = b_iz = b_in = b_hr = b_hz = b_hn = torch.zeros(H, dtype=weight_hh.dtype)
    return {
        "W_xr": W_ir.T.clone(),
        "W_hr": W_hr.T.clone(),
        "b_r": (b_ir + b_hr).clone(),
        "W_xz": W_iz.T.clone(),
        "W_hz": W_hz.T.clone(),
        "b_z": (b_iz + b_hz).clone(),
        "W_xn": W_in.T.clone(),
        "W_hn": W_hn.T.clone(),
        "b_xn": b_in.clone(),
        "b_hn": b_hn.clone(),
    }


def load_gru_weights(
    module: nn.GRU | nn.GRUCell, p: dict[str, torch.Tensor], layer: int = 0, reverse: bool = False
) -> nn.GRU | nn.GRUCell:
    """Copy a course GRU dict into one layer/direction of ``module`` (in place).

    ``b_r`` and ``b_z`` go to ``bias_ih`` (their ``bias_hh`` parts are set to zero); ``b_xn`` goes to
    ``bias_ih`` and ``b_hn`` to ``bias_hh``.  The module is converted to ``p``'s dtype.

    Args:
        module: a ``torch.nn.GRU`` (any ``num_layers``, ``bidirectional``) or ``torch.nn.GRUCell``, with bias.
        p: the course dict (keys ``GRU_KEYS``), ``W_x*`` ``(D, H)`` with ``D`` the layer's input size.

    Returns:
        ``module`` itself, for chaining.
    """
    suffix = _suffix(module, layer, reverse, (nn.GRU, nn.GRUCell))
    D, H = _check_gru_dict(p)
    weight_ih = getattr(module, "weight_ih" + suffix)
    if tuple(weight_ih.shape) != (3 * H, D):
        raise ValueError(
            f"p holds a GRU with input size {D} and hidden size {H}, but this module's layer has input size "
            f"{weight_ih.shape[1]} and hidden size {weight_ih.shape[0] // 3}"
        )
    if not getattr(module, "bias", True):
        raise ValueError("the module was built with bias=False, so it cannot hold the GRU's biases")
    module.to(dtype=p["W_xr"].dtype)
    zeros = torch.zeros_like(p["b_r"])
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.cat([p["W_xr"].T, p["W_xz"].T, p["W_xn"].T]))
        getattr(module, "weight_hh" + suffix).copy_(torch.cat([p["W_hr"].T, p["W_hz"].T, p["W_hn"].T]))
        getattr(module, "bias_ih" + suffix).copy_(torch.cat([p["b_r"], p["b_z"], p["b_xn"]]))
        getattr(module, "bias_hh" + suffix).copy_(torch.cat([zeros, zeros, p["b_hn"]]))
    return module


def gru_from_weights(p: dict[str, torch.Tensor]) -> nn.GRU:
    """A one-layer, batch-first ``torch.nn.GRU`` holding the course GRU dict ``p``, in ``p``'s dtype.

    ``module(X, h0.unsqueeze(0))`` with ``X`` ``(B, T, D)`` then returns ``(H_all (B, T, H), h_n (1, B, H))``.
    """
    D, H = _check_gru_dict(p)
    module = nn.GRU(D, H, batch_first=True, dtype=p["W_xr"].dtype)
    return load_gru_weights(module, p)


def random_gru_weights(
    input_size: int,
    hidden_size: int,
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    requires_grad: bool = False,
) -> dict[str, torch.Tensor]:
    """Random weights for one GRU layer, in the course's convention.

    Every ``W_x*`` is drawn from N(0, 1/D), every ``W_h*`` from N(0, 1/H) and every bias from N(0, 0.1²),
    in the order of ``GRU_KEYS``, so that the gates start in their responsive range.

    Args:
        input_size: D; hidden_size: H.
        generator: a ``torch.Generator`` for reproducible draws (default: torch's global generator).
        dtype: the tensors' dtype.
        requires_grad: return leaf tensors ready to be trained.

    Returns:
        ``{"W_xr", "W_xz", "W_xn": (D, H); "W_hr", "W_hz", "W_hn": (H, H); "b_r", "b_z", "b_xn", "b_hn": (H,)}``.
    """
    p = _random_weights(GRU_KEYS, input_size, hidden_size, generator, dtype)
    return {name: tensor.requires_grad_(requires_grad) for name, tensor in p.items()}


# ---------------------------------------------------------------------------------------------------------------
# LSTM (lesson 04)
#
# The course writes an LSTM layer with one dict of twelve tensors, four gates of three tensors each:
#     i = σ(x W_xi + h W_hi + b_i), f = σ(x W_xf + h W_hf + b_f), g = tanh(x W_xg + h W_hg + b_g),
#     o = σ(x W_xo + h W_ho + b_o), c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
# ``torch.nn.LSTM`` stacks the four gates' transposed weights in the order i, f, g, o:
# ``weight_ih_l0`` is (4H, D), rows 0:H the input gate, H:2H the forget gate, 2H:3H the candidate g,
# 3H:4H the output gate; ``weight_hh_l0`` (4H, H) likewise; and two biases, ``bias_ih + bias_hh``.
# ---------------------------------------------------------------------------------------------------------------

#: The gates in PyTorch's storage order, and the twelve keys of an LSTM parameter dict.
_LSTM_GATES = ("i", "f", "g", "o")
LSTM_KEYS = tuple(f"{kind}{gate}" for gate in _LSTM_GATES for kind in ("W_x", "W_h", "b_"))
#: The three extra (H,) peephole weights of Gers & Schmidhuber (2000).
LSTM_PEEPHOLE_KEYS = ("w_ci", "w_cf", "w_co")


def lstm_weights(module: nn.LSTM | nn.LSTMCell, layer: int = 0) -> dict[str, torch.Tensor]:
    """Read one layer (forward direction) of a ``torch.nn.LSTM`` or an ``nn.LSTMCell`` in the course's convention.

    PyTorch stacks the gates in the order input (i), forget (f), candidate (g), output (o) along the first
    axis of ``weight_ih`` ``(4H, D)`` and ``weight_hh`` ``(4H, H)``; this splits and transposes them.

    Args:
        module: the module to read (any ``num_layers``; ``proj_size`` must be 0).
        layer: which layer of a stacked ``nn.LSTM`` (its ``W_x*`` are ``(H, H)`` above layer 0).

    Returns:
        ``{"W_xi": (D, H), "W_hi": (H, H), "b_i": (H,), …}`` for the gates i, f, g, o (the twelve
        ``LSTM_KEYS``): detached copies; each bias is ``bias_ih + bias_hh`` (zeros if the module has no bias).
    """
    suffix = _suffix(module, layer, False, (nn.LSTM, nn.LSTMCell))
    weight_ih = getattr(module, "weight_ih" + suffix).detach()
    weight_hh = getattr(module, "weight_hh" + suffix).detach()
    H = weight_hh.shape[1]
    if getattr(module, "bias", True):
        bias = (getattr(module, "bias_ih" + suffix) + getattr(module, "bias_hh" + suffix)).detach()
    else:
        bias = torch.zeros(4 * H, dtype=weight_hh.dtype)
    p: dict[str, torch.Tensor] = {}
    for index, gate in enumerate(_LSTM_GATES):
        rows = slice(index * H, (index + 1) * H)
        p[f"W_x{gate}"] = weight_ih[rows].T.clone()
        p[f"W_h{gate}"] = weight_hh[rows].T.clone()
        p[f"b_{gate}"] = bias[rows].clone()
    return p


def _check_lstm_dict(p: object, allow_peephole: bool) -> tuple[int, int]:
    """Check an LSTM parameter dict's keys and shapes; return (D, H)."""
    if not isinstance(p, dict):
        raise TypeError(f"p should be a dict of LSTM parameters, got {type(p).__name__}")
    keys = set(p)
    missing = [k for k in LSTM_KEYS if k not in keys]
    if missing:
        raise ValueError(
            f"p is missing the LSTM parameter(s) {', '.join(missing)}; expected keys {', '.join(LSTM_KEYS)}"
        )
    peepholes = [k for k in LSTM_PEEPHOLE_KEYS if k in keys]
    if peepholes and not allow_peephole:
        raise ValueError(
            f"p has peephole weights ({', '.join(peepholes)}), which torch.nn.LSTM cannot hold: "
            "drop them, or compare a peephole cell with its peepholes set to zero"
        )
    unknown = sorted(keys - set(LSTM_KEYS) - set(LSTM_PEEPHOLE_KEYS))
    if unknown:
        raise ValueError(f"p has unexpected key(s) {', '.join(unknown)}; expected keys {', '.join(LSTM_KEYS)}")
    for key in keys:
        if not isinstance(p[key], torch.Tensor):
            raise TypeError(f"p[{key!r}] should be a torch.Tensor, got {type(p[key]).__name__}")
    if p["W_xi"].dim() != 2:
        raise ValueError(f"p['W_xi'] should be a 2-D (D, H) tensor, got shape {tuple(p['W_xi'].shape)}")
    D, H = p["W_xi"].shape
    for key in keys:
        kind = key[:3] if key.startswith("W_") else "b"
        expected = {"W_x": (D, H), "W_h": (H, H)}.get(kind, (H,))
        if tuple(p[key].shape) != expected:
            raise ValueError(
                f"p[{key!r}] should have shape {expected} (input size D = {D}, hidden size H = {H} from p['W_xi']), "
                f"got {tuple(p[key].shape)}"
            )
        if p[key].dtype != p["W_xi"].dtype:
            raise ValueError(f"p[{key!r}] has dtype {p[key].dtype} but p['W_xi'] has {p['W_xi'].dtype}: use one dtype")
    return D, H


def lstm_from_weights(p: dict[str, torch.Tensor]) -> nn.LSTM:
    """A one-layer, batch-first ``torch.nn.LSTM`` holding these weights, in their dtype.

    Args:
        p: the twelve ``LSTM_KEYS``: ``W_x*`` ``(D, H)``, ``W_h*`` ``(H, H)``, ``b_*`` ``(H,)`` for the
            gates i, f, g, o.  Each bias goes to ``bias_ih``; ``bias_hh`` is zero.

    Returns:
        ``module`` with ``module(X, (h0, c0))`` → ``(H_all, (h_n, c_n))``, ``X`` ``(B, T, D)``,
        ``h0``/``c0``/``h_n``/``c_n`` ``(1, B, H)``.
    """
    D, H = _check_lstm_dict(p, allow_peephole=False)
    module = nn.LSTM(D, H, batch_first=True, dtype=p["W_xi"].dtype)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.cat([p[f"W_x{gate}"].T for gate in _LSTM_GATES]))
        module.weight_hh_l0.copy_(torch.cat([p[f"W_h{gate}"].T for gate in _LSTM_GATES]))
        module.bias_ih_l0.copy_(torch.cat([p[f"b_{gate}"] for gate in _LSTM_GATES]))
        module.bias_hh_l0.zero_()
    return module


def random_lstm_weights(
    input_size: int,
    hidden_size: int,
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    requires_grad: bool = False,
    peephole: bool = False,
) -> dict[str, torch.Tensor]:
    """Random weights for one LSTM layer, in the course's convention.

    As for :func:`random_rnn_weights`: ``W_x*`` from N(0, 1/D), ``W_h*`` from N(0, 1/H), biases from
    N(0, 0.1²), drawn gate by gate in the order i, f, g, o; with ``peephole=True`` also ``w_ci, w_cf, w_co``
    from N(0, 0.5²), drawn last (so the first twelve tensors equal those of ``peephole=False``).

    Args:
        input_size: D; hidden_size: H.
        generator: a ``torch.Generator`` for reproducible draws (default: torch's global generator).
        dtype: the tensors' dtype.
        requires_grad: return leaf tensors ready to be trained.
        peephole: add the three ``(H,)`` peephole weights.

    Returns:
        ``{"W_xi": (D, H), "W_hi": (H, H), "b_i": (H,), …}`` (``LSTM_KEYS``, then ``LSTM_PEEPHOLE_KEYS``).
    """
    p = _random_weights(LSTM_KEYS, input_size, hidden_size, generator, dtype)
    if peephole:
        for key in LSTM_PEEPHOLE_KEYS:
            p[key] = torch.randn(hidden_size, generator=generator, dtype=dtype) * 0.5
    return {name: tensor.requires_grad_(requires_grad) for name, tensor in p.items()}


# ---------------------------------------------------------------------------------------------------------------
# Self-attention and the Transformer encoder (lesson 07)
#
# The course's modules are duck-typed here (seqlab never imports a notebook's classes):
#
#     multi-head attention: attributes W_q, W_k, W_v, W_o, each an nn.Linear(d_model, d_model) with bias;
#         q = query @ W_q.weight.T + W_q.bias (nn.Linear stores its weight as (out, in)).
#     encoder block:        attributes attn (a multi-head attention as above), ff1 (Linear d_model -> d_ff),
#         ff2 (Linear d_ff -> d_model), norm1, norm2 (LayerNorm(d_model)); post-norm:
#         x = norm1(x + attn(x, x, x, mask)[0]);  x = norm2(x + ff2(relu(ff1(x)))).
#
# torch.nn.MultiheadAttention stacks the three input projections in in_proj_weight (3d, d) = [W_q; W_k; W_v]
# (each already (out, in), like nn.Linear) and in_proj_bias (3d,); its output projection is out_proj.
# Head h uses the rows h*d/heads … (h+1)*d/heads of each projection, as the course's split into heads does.
#
# Masks: the course's bool masks say True = MAY attend; nn.MultiheadAttention's bool attn_mask says True = may
# NOT attend (masked out).  torch_attention_mask converts.
# ---------------------------------------------------------------------------------------------------------------

__all__ += [
    "load_multihead_attention",
    "load_encoder_layer",
    "random_layer_norms",
    "torch_attention_mask",
    "load_decoder_block",
    "TorchCausalSelfAttention",
    "causal_attention_weights",
]


def _linear_part(target: nn.Module, owner: str, name: str, shape: tuple[int, int]) -> nn.Module:
    """``getattr(target, name)`` checked to be Linear-like: a ``weight`` of ``shape`` (out, in) and a bias (out,)."""
    layer = getattr(target, name, None)
    if layer is None:
        raise AttributeError(f"{owner} should have an attribute {name!r}: an nn.Linear({shape[1]}, {shape[0]})")
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    if not isinstance(weight, torch.Tensor) or tuple(weight.shape) != shape:
        raise ValueError(
            f"{owner}.{name} should be an nn.Linear({shape[1]}, {shape[0]}), whose weight has shape {shape} "
            f"(out, in), got {getattr(weight, 'shape', type(weight).__name__)}"
        )
    if not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (shape[0],):
        raise ValueError(f"{owner}.{name} should have a bias of shape ({shape[0]},): build it with bias=True")
    return layer


def _check_target_module(target: object, role: str) -> nn.Module:
    if not isinstance(target, nn.Module):
        raise TypeError(f"target should be the course's {role} (an nn.Module), got {type(target).__name__}")
    return target


def load_multihead_attention(target: nn.Module, source: nn.MultiheadAttention) -> nn.Module:
    """Copy a ``torch.nn.MultiheadAttention``'s weights into the course's multi-head attention (in place).

    ``source.in_proj_weight`` ``(3d, d)`` is split into ``target.W_q``, ``W_k``, ``W_v`` (weights ``(d, d)``,
    (out, in) as nn.Linear stores them) and ``in_proj_bias`` ``(3d,)`` into their biases; ``source.out_proj``
    goes to ``target.W_o``.  ``target`` is converted to ``source``'s dtype.  Then, for ``query (B, Tq, d)``,
    ``key``/``value`` ``(B, Tk, d)`` and a course mask ``m`` (True = may attend)::

        out, weights = target(query, key, value, m)      # weights (B, heads, Tq, Tk)
        out_t, weights_t = source(query, key, value, attn_mask=torch_attention_mask(m, ...),
                                  need_weights=True, average_attn_weights=False)   # source built batch_first=True

    agree.  The number of heads cannot be copied: build ``target`` with ``source.num_heads`` heads (checked when
    ``target`` has an int attribute ``num_heads``).

    Args:
        target: the course's module, with attributes ``W_q, W_k, W_v, W_o``, each an ``nn.Linear(d, d)`` with bias.
        source: ``nn.MultiheadAttention(d, num_heads)`` with ``bias=True``, no ``add_bias_kv``, no ``add_zero_attn``
            and ``kdim = vdim = d``.

    Returns:
        ``target`` itself, for chaining.
    """
    _check_target_module(target, "multi-head attention")
    if not isinstance(source, nn.MultiheadAttention):
        raise TypeError(f"source should be a torch.nn.MultiheadAttention, got {type(source).__name__}")
    d = source.embed_dim
    if not source._qkv_same_embed_dim or source.in_proj_weight is None:
        raise ValueError(
            f"source has kdim={source.kdim}, vdim={source.vdim} different from embed_dim={d}: the course's "
            "attention projects keys and values from d_model, so build the source without kdim/vdim"
        )
    if source.in_proj_bias is None or source.out_proj.bias is None:
        raise ValueError("source was built with bias=False, but the course's W_q, W_k, W_v, W_o have biases")
    if source.bias_k is not None or source.bias_v is not None:
        raise ValueError("source was built with add_bias_kv=True (an extra learned key/value): the course has none")
    if source.add_zero_attn:
        raise ValueError("source was built with add_zero_attn=True (an extra zero key/value): the course has none")
    heads = getattr(target, "num_heads", None)
    if isinstance(heads, int) and not isinstance(heads, bool) and heads != source.num_heads:
        raise ValueError(
            f"target has num_heads={heads} but source has num_heads={source.num_heads}: the weights would be "
            "split into heads differently, build both with the same number of heads"
        )
    parts = {name: _linear_part(target, "target", name, (d, d)) for name in ("W_q", "W_k", "W_v", "W_o")}
    dtype = source.in_proj_weight.dtype
    target.to(dtype=dtype)
    weights = source.in_proj_weight.detach().split(d, dim=0)
    biases = source.in_proj_bias.detach().split(d)
    with torch.no_grad():
        for name, weight, bias in zip(("W_q", "W_k", "W_v"), weights, biases, strict=True):
            parts[name].weight.copy_(weight)
            parts[name].bias.copy_(bias)
        parts["W_o"].weight.copy_(source.out_proj.weight)
        parts["W_o"].bias.copy_(source.out_proj.bias)
    return target


def _is_relu(activation: object) -> bool:
    return activation is nn.functional.relu or activation is torch.relu or isinstance(activation, nn.ReLU)


def _layer_norm_part(target: nn.Module, name: str, source_norm: nn.LayerNorm, d: int) -> nn.Module:
    """``getattr(target, name)`` checked to be LayerNorm-like: weight and bias ``(d,)``, the source's eps."""
    norm = getattr(target, name, None)
    if norm is None:
        raise AttributeError(f"target should have an attribute {name!r}: an nn.LayerNorm({d})")
    for part in ("weight", "bias"):
        tensor = getattr(norm, part, None)
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != (d,):
            raise ValueError(
                f"target.{name} should be an nn.LayerNorm({d}) with a {part} of shape ({d},), "
                f"got {getattr(tensor, 'shape', type(tensor).__name__)}"
            )
    eps = getattr(norm, "eps", None)
    if isinstance(eps, float) and eps != source_norm.eps:
        raise ValueError(f"target.{name} has eps={eps} but source has layer_norm_eps={source_norm.eps}: use the same")
    return norm


def _copy_encoder_layer(target: nn.Module, source: nn.TransformerEncoderLayer, role: str) -> nn.Module:
    """The part :func:`load_encoder_layer` and :func:`load_decoder_block` share: checks, then copies by name."""
    dropouts = {
        "dropout": source.dropout.p,
        "dropout1": source.dropout1.p,
        "dropout2": source.dropout2.p,
        "self_attn.dropout": source.self_attn.dropout,
    }
    active = {name: p for name, p in dropouts.items() if p > 0}
    if active:
        raise ValueError(f"source has dropout {active}: the course's block has none, build the source with dropout=0.0")
    d, d_ff = source.linear1.in_features, source.linear1.out_features
    if source.linear1.bias is None or source.linear2.bias is None or source.norm1.bias is None:
        raise ValueError("source was built with bias=False, but the course's block has biases")
    attn = getattr(target, "attn", None)
    if not isinstance(attn, nn.Module):
        raise AttributeError(f"target should have an attribute 'attn': the course's {role}(d_model, heads)")
    ff1 = _linear_part(target, "target", "ff1", (d_ff, d))
    ff2 = _linear_part(target, "target", "ff2", (d, d_ff))
    norms = {name: _layer_norm_part(target, name, getattr(source, name), d) for name in ("norm1", "norm2")}
    load_multihead_attention(attn, source.self_attn)
    target.to(dtype=source.linear1.weight.dtype)
    with torch.no_grad():
        ff1.weight.copy_(source.linear1.weight)
        ff1.bias.copy_(source.linear1.bias)
        ff2.weight.copy_(source.linear2.weight)
        ff2.bias.copy_(source.linear2.bias)
        for name, norm in norms.items():
            norm.weight.copy_(getattr(source, name).weight)
            norm.bias.copy_(getattr(source, name).bias)
    return target


def load_encoder_layer(target: nn.Module, source: nn.TransformerEncoderLayer) -> nn.Module:
    """Copy a ``torch.nn.TransformerEncoderLayer``'s weights into the course's encoder block (in place).

    ``source.self_attn`` goes to ``target.attn`` (see :func:`load_multihead_attention`), ``linear1`` to ``ff1``,
    ``linear2`` to ``ff2``, ``norm1`` to ``norm1`` and ``norm2`` to ``norm2``.  ``target`` is converted to
    ``source``'s dtype.  Then ``target(x)`` equals ``source(x)`` for ``x`` ``(B, T, d)`` (build the source with
    ``batch_first=True``; with a mask ``m`` (True = may attend), ``source(x, src_mask=~m)``).  The layer norms of a
    fresh source are all ones and zeros, so a test that wants to catch ``norm1`` and ``norm2`` swapped should call
    :func:`random_layer_norms` on the source first.

    Args:
        target: the course's block, with attributes ``attn``, ``ff1`` (``nn.Linear(d, d_ff)``), ``ff2``
            (``nn.Linear(d_ff, d)``), ``norm1``, ``norm2`` (``nn.LayerNorm(d)``).
        source: ``nn.TransformerEncoderLayer(d, nhead, d_ff, dropout=0.0)`` with ``activation="relu"``,
            ``norm_first=False`` and biases (the course's block is post-norm, as in the paper).

    Returns:
        ``target`` itself, for chaining.
    """
    _check_target_module(target, "encoder block")
    if not isinstance(source, nn.TransformerEncoderLayer):
        raise TypeError(f"source should be a torch.nn.TransformerEncoderLayer, got {type(source).__name__}")
    if source.norm_first:
        raise ValueError(
            "source was built with norm_first=True (pre-norm), but the course's block is post-norm: "
            "x = norm1(x + attn(x)), then x = norm2(x + ff(x)); build the source with norm_first=False"
        )
    if not _is_relu(source.activation):
        raise ValueError(f"source uses the activation {source.activation!r}, but the course's block uses relu")
    return _copy_encoder_layer(target, source, "MultiHeadAttention")


def _is_exact_gelu(activation: object) -> bool:
    return activation is nn.functional.gelu or (isinstance(activation, nn.GELU) and activation.approximate == "none")


def load_decoder_block(target: nn.Module, source: nn.TransformerEncoderLayer) -> nn.Module:
    """Copy a pre-norm GELU ``torch.nn.TransformerEncoderLayer``'s weights into lesson 09's ``DecoderBlock``, in place.

    The same copies as :func:`load_encoder_layer`, by attribute name (``self_attn`` → ``attn``, ``linear1`` → ``ff1``,
    ``linear2`` → ``ff2``, ``norm1``, ``norm2``), for a source built with ``norm_first=True`` and
    ``activation="gelu"``.  Then ``target(x)[0]`` equals ``source(x, src_mask=later)`` for ``x`` ``(B, T, d)`` with
    ``later = torch.ones(T, T, dtype=torch.bool).triu(1)`` (True = may NOT attend: PyTorch's convention).

    Args:
        target: the block, with attributes ``attn`` (with ``W_q, W_k, W_v, W_o``), ``ff1``, ``ff2``, ``norm1``,
            ``norm2``.
        source: ``nn.TransformerEncoderLayer(d, nhead, d_ff, dropout=0.0, activation="gelu", norm_first=True,
            batch_first=True)``.

    Returns:
        ``target`` itself, for chaining.
    """
    _check_target_module(target, "decoder block")
    if not isinstance(source, nn.TransformerEncoderLayer):
        raise TypeError(f"source should be a torch.nn.TransformerEncoderLayer, got {type(source).__name__}")
    if not source.norm_first:
        raise ValueError(
            "source was built with norm_first=False (post-norm), but the decoder block is pre-norm: "
            "x + attn(norm1(x)), then + ff2(gelu(ff1(norm2(.)))); build the source with norm_first=True"
        )
    if not _is_exact_gelu(source.activation):
        raise ValueError(f"source uses the activation {source.activation!r}, but the decoder block uses the exact gelu")
    return _copy_encoder_layer(target, source, "CausalSelfAttention")


class TorchCausalSelfAttention(nn.Module):
    """A correct causal self-attention on PyTorch's own kernel, *without* a cache: a stand-in for lesson 09's tests.

    It has lesson 09's attributes ``W_q, W_k, W_v, W_o`` (``nn.Linear(d_model, d_model)``) and calling convention
    ``forward(x, cache=None) -> (y, cache)``, so the tests of ``DecoderBlock`` can put it in place of the student's
    ``CausalSelfAttention`` (a mistake there then costs points only there).  ``y`` is
    ``torch.nn.functional.multi_head_attention_forward`` of ``x`` with a causal mask.  It keeps no cache: the
    ``cache`` it is given is recorded in ``received_cache`` and the one it returns is a new marker object, kept in
    ``returned_cache``, so a test can check that a block passes caches through untouched.
    """

    def __init__(self, d_model: int, num_heads: int) -> None:
        super().__init__()
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1 or d_model % num_heads:
            raise ValueError(f"num_heads should be a positive int dividing d_model={d_model}, got {num_heads!r}")
        self.num_heads = num_heads
        self.W_q, self.W_k, self.W_v, self.W_o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.received_cache: object = None
        self.returned_cache: object = None

    def forward(self, x: torch.Tensor, cache: object = None) -> tuple[torch.Tensor, object]:
        """(B, T, d_model) -> ((B, T, d_model), a marker in place of a cache)."""
        self.received_cache = cache
        y, _ = _causal_mha(self, x, self.num_heads, need_weights=False)
        self.returned_cache = ("TorchCausalSelfAttention keeps no cache", object())
        return y, self.returned_cache


def _causal_mha(
    attn: nn.Module, x: torch.Tensor, num_heads: int, need_weights: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """PyTorch's multi-head attention of ``x`` (B, T, d) with ``attn``'s W_q, W_k, W_v, W_o and a causal mask."""
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise ValueError(f"x should be a (B, T, d_model) tensor, got {getattr(x, 'shape', type(x).__name__)}")
    B, T, d = x.shape
    parts = {name: _linear_part(attn, "attn", name, (d, d)) for name in ("W_q", "W_k", "W_v", "W_o")}
    later = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(diagonal=1)  # True = may NOT attend
    qkv = ("W_q", "W_k", "W_v")
    seq_first = x.transpose(0, 1)  # (T, B, d): the functional form's layout
    y, w = nn.functional.multi_head_attention_forward(
        seq_first, seq_first, seq_first, d, num_heads,
        torch.cat([parts[n].weight for n in qkv]), torch.cat([parts[n].bias for n in qkv]),
        None, None, False, 0.0, parts["W_o"].weight, parts["W_o"].bias,
        training=False, need_weights=need_weights, attn_mask=later, average_attn_weights=False,
    )  # fmt: skip
    return y.transpose(0, 1), w


def causal_attention_weights(attn: nn.Module, x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """The attention weights of every head of a causal self-attention with ``W_q, W_k, W_v, W_o``, for input ``x``.

    Computed by PyTorch from the module's projections (not by calling the module), for pictures of what each head
    attends to: ``(B, heads, T, T)``, row ``t`` the weights position ``t`` gives to positions ``0 … t`` (0 beyond).

    Args:
        attn: lesson 09's ``CausalSelfAttention`` (any module with those four ``nn.Linear(d_model, d_model)``).
        x: ``(B, T, d_model)``, what the attention reads (in a pre-norm block: ``norm1`` of the block's input).
        num_heads: the module's number of heads.
    """
    check_int("num_heads", num_heads, expected="a positive int")
    with torch.no_grad():
        _, w = _causal_mha(attn, x, num_heads, need_weights=True)
    return w


def random_layer_norms(module: nn.Module, generator: torch.Generator | None = None, scale: float = 0.5) -> nn.Module:
    """Give every ``nn.LayerNorm`` inside ``module`` random parameters (in place), in ``module.modules()`` order.

    A fresh LayerNorm has weight 1 and bias 0, so two of them are interchangeable: a block that applies ``norm2``
    where ``norm1`` belongs passes any test with fresh norms.  Afterwards each weight is ``1 + scale * N(0, 1)``
    and each bias ``scale * N(0, 1)`` (drawn weight then bias, norm by norm), so they differ.

    Args:
        module: e.g. an ``nn.TransformerEncoderLayer`` (before :func:`load_encoder_layer` copies it).
        generator: a ``torch.Generator`` for reproducible draws (default: torch's global generator).
        scale: spread of the random parameters (positive).

    Returns:
        ``module`` itself, for chaining.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module should be an nn.Module, got {type(module).__name__}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator or None, got {type(generator).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise ValueError(f"scale should be a positive number, got {scale!r}")
    norms = [m for m in module.modules() if isinstance(m, nn.LayerNorm)]
    if not norms:
        raise ValueError(f"module ({type(module).__name__}) contains no nn.LayerNorm")
    with torch.no_grad():
        for norm in norms:
            for tensor, center in ((norm.weight, 1.0), (norm.bias, 0.0)):
                if tensor is not None:
                    noise = torch.randn(tensor.shape, generator=generator, dtype=torch.float64)
                    tensor.copy_(center + scale * noise)
    return module


def torch_attention_mask(mask: torch.Tensor, shape: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """The course's bool mask (True = may attend) as ``nn.MultiheadAttention``'s ``attn_mask`` (True = masked out).

    Args:
        mask: bool, ``(Tq, Tk)`` or anything broadcastable to ``shape``.
        shape: ``(B, heads, Tq, Tk)``: needed for a mask that is not ``(Tq, Tk)``, e.g. a per-example padding mask
            ``(B, 1, 1, Tk)``; the result is then ``(B * heads, Tq, Tk)``, the 3-D form PyTorch accepts.

    Returns:
        ``~mask`` (``(Tq, Tk)``) or ``~mask`` broadcast to ``shape`` and reshaped to ``(B * heads, Tq, Tk)``.
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            f"mask should be a bool tensor (True = may attend), got {getattr(mask, 'dtype', type(mask).__name__)}"
        )
    if shape is None:
        if mask.dim() != 2:
            raise ValueError(
                f"a mask of shape {tuple(mask.shape)} needs shape=(B, heads, Tq, Tk) to be expanded; "
                "only a (Tq, Tk) mask can be used as it is"
            )
        return ~mask
    if len(shape) != 4 or not all(isinstance(n, int) and n >= 1 for n in shape):
        raise ValueError(f"shape should be (B, heads, Tq, Tk), four positive ints, got {shape!r}")
    try:
        full = mask.expand(*shape)
    except RuntimeError:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to (B, heads, Tq, Tk) = {shape}"
        ) from None
    B, heads, Tq, Tk = shape
    return (~full).reshape(B * heads, Tq, Tk)
