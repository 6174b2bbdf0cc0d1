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
]


def _suffix(module: nn.Module, layer: int, reverse: bool) -> str:
    if isinstance(module, nn.RNNCell):
        if layer != 0 or reverse:
            raise ValueError("an nn.RNNCell has a single layer and direction: use layer=0, reverse=False")
        return ""
    if not isinstance(module, nn.RNN):
        raise TypeError(f"module should be a torch.nn.RNN or torch.nn.RNNCell, got {type(module).__name__}")
    if not 0 <= layer < module.num_layers:
        raise ValueError(f"layer should be in 0 … {module.num_layers - 1} for this module, got {layer}")
    if reverse and not module.bidirectional:
        raise ValueError("reverse=True needs a module built with bidirectional=True")
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
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} should be a positive int, got {value!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator or None, got {type(generator).__name__}")
    D, H = input_size, hidden_size
    p = {
        "W_xh": torch.randn(D, H, generator=generator, dtype=dtype) / D**0.5,
        "W_hh": torch.randn(H, H, generator=generator, dtype=dtype) / H**0.5,
        "b_h": torch.randn(H, generator=generator, dtype=dtype) * 0.1,
    }
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


def _gru_suffix(module: nn.Module, layer: int, reverse: bool) -> str:
    if isinstance(module, nn.GRUCell):
        if layer != 0 or reverse:
            raise ValueError("an nn.GRUCell has a single layer and direction: use layer=0, reverse=False")
        return ""
    if not isinstance(module, nn.GRU):
        raise TypeError(f"module should be a torch.nn.GRU or torch.nn.GRUCell, got {type(module).__name__}")
    if not 0 <= layer < module.num_layers:
        raise ValueError(f"layer should be in 0 … {module.num_layers - 1} for this module, got {layer}")
    if reverse and not module.bidirectional:
        raise ValueError("reverse=True needs a module built with bidirectional=True")
    return f"_l{layer}" + ("_reverse" if reverse else "")


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
    suffix = _gru_suffix(module, layer, reverse)
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
    suffix = _gru_suffix(module, layer, reverse)
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
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} should be a positive int, got {value!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator should be a torch.Generator or None, got {type(generator).__name__}")
    D, H = input_size, hidden_size
    p = {}
    for key in GRU_KEYS:
        if key.startswith("W_x"):
            p[key] = torch.randn(D, H, generator=generator, dtype=dtype) / D**0.5
        elif key.startswith("W_h"):
            p[key] = torch.randn(H, H, generator=generator, dtype=dtype) / H**0.5
        else:
            p[key] = torch.randn(H, generator=generator, dtype=dtype) * 0.1
    return {name: tensor.requires_grad_(requires_grad) for name, tensor in p.items()}
