"""Assertions for exercise tests, with messages written for students.

Every check names what was being tested, what was expected and what came, so that a failing
test cell reads as advice rather than a traceback puzzle::

    assert_close("rnn_cell(x, h, W_xh, W_hh, b_h)", got, expected,
                 hint="the new state is tanh(x @ W_xh + h @ W_hh + b_h)")

``forbid`` blocks a shortcut (for example ``torch.nn.RNNCell`` inside ``rnn_cell``) while the
student's function runs, and still fails the test if the student's code swallows the error.  It
recognises the shortcut itself, not its name: a copy kept under another name (a default argument,
a variable, a dictionary) is caught too.

The comparisons look at a tensor's values only: a tensor of a subclass of ``torch.Tensor`` is
compared as the plain tensor holding the same numbers, so a subclass cannot change what ``==``,
``allclose`` or ``equal`` answer.
"""

from __future__ import annotations

import importlib
import numbers
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

__all__ = [
    "ATTENTION_SHORTCUTS",
    "AUTOGRAD_SHORTCUTS",
    "GRU_SHORTCUTS",
    "LSTM_SHORTCUTS",
    "RNN_SHORTCUTS",
    "CheckFailed",
    "ForbiddenCallError",
    "assert_shape",
    "assert_close",
    "assert_integer",
    "assert_unchanged",
    "forbid",
]

# Tolerances by the least precise dtype involved in a comparison.
_TOLERANCES = {
    torch.float64: (1e-9, 1e-11),  # (rtol, atol): far below float32 rounding (~6e-8), far above float64 noise
    torch.float32: (1e-4, 1e-5),
    torch.bfloat16: (1e-2, 1e-2),
    torch.float16: (1e-2, 1e-3),
}


#: PyTorch's ready-made RNN layers and their kernels: forbidden inside RNN exercises.
RNN_SHORTCUTS = (
    "torch.nn.RNN.forward",
    "torch.nn.RNNCell.forward",
    "torch.rnn_tanh",
    "torch.rnn_tanh_cell",
    "torch._VF.rnn_tanh",
    "torch._VF.rnn_tanh_cell",
)

#: PyTorch's ready-made GRU layers and their kernels: forbidden inside GRU exercises.
GRU_SHORTCUTS = (
    "torch.nn.GRU.forward",
    "torch.nn.GRUCell.forward",
    "torch.gru",
    "torch.gru_cell",
    "torch._VF.gru",
    "torch._VF.gru_cell",
)

#: PyTorch's ready-made LSTM layers and their kernels: forbidden inside LSTM exercises.
LSTM_SHORTCUTS = (
    "torch.nn.LSTM.forward",
    "torch.nn.LSTMCell.forward",
    "torch.lstm",
    "torch.lstm_cell",
    "torch._VF.lstm",
    "torch._VF.lstm_cell",
)

#: PyTorch's ready-made attention: forbidden inside attention exercises.
ATTENTION_SHORTCUTS = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch._C._nn.scaled_dot_product_attention",
    "torch.nn.MultiheadAttention.forward",
    "torch.nn.functional.multi_head_attention_forward",
)

#: Every way into PyTorch's automatic differentiation: forbidden where gradients are derived by hand.
AUTOGRAD_SHORTCUTS = (
    "torch.Tensor.backward",
    "torch.autograd.backward",
    "torch.autograd.grad",
    "torch.autograd._engine_run_backward",  # what all of the above call
    "torch.autograd.functional.jacobian",
    "torch.autograd.functional.vjp",
    "torch.func.grad",
    "torch.func.vjp",
    "torch.func.jacrev",
    "torch.func.jacfwd",
)


class CheckFailed(AssertionError):
    """A test check failed; the message says what was expected and what came."""


class ForbiddenCallError(CheckFailed):
    """The student's function called something the exercise asks them to write themselves."""


def _shape_str(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + (",)" if len(shape) == 1 else ")")


def _describe(value: Any) -> str:
    if issubclass(type(value), torch.Tensor):
        return f"a tensor of shape {_shape_str(value.shape)} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _plain(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """The values of ``tensor`` as a plain ``torch.Tensor`` (the same tensor if it is one already).

    A subclass of ``torch.Tensor`` can redefine comparisons (``__eq__``, ``__torch_function__``):
    the checks compare only the numbers it holds, read without any of the subclass's code.
    """
    if type(tensor) is torch.Tensor:
        return tensor
    try:
        with torch._C.DisableTorchFunction():
            plain = torch._C.TensorBase.detach(tensor)
    except Exception:
        plain = None
    if type(plain) is not torch.Tensor:
        raise CheckFailed(f"{name} should be a plain torch.Tensor, but it is a {type(tensor).__name__}.")
    return plain


def _tensor_or_fail(name: str, value: Any) -> torch.Tensor:
    if not issubclass(type(value), torch.Tensor):  # type(), not isinstance(): __class__ can lie
        raise CheckFailed(f"{name} should be a torch.Tensor, but it is {_describe(value)}.")
    return _plain(name, value)


def assert_shape(name: str, actual: Any, expected: Sequence[int], hint: str = "") -> None:
    """Fail unless ``actual`` is a tensor of exactly the shape ``expected``.

    Args:
        name: what is being checked, e.g. ``"rnn_cell(x, h, ...)"``.
        actual: the student's value.
        expected: the expected shape, e.g. ``(B, H)``.
        hint: one sentence appended to the message when the check fails.
    """
    tensor = _tensor_or_fail(name, actual)
    expected = tuple(int(s) for s in expected)
    if tuple(tensor.shape) != expected:
        message = f"{name} should have shape {_shape_str(expected)}, but it has shape {_shape_str(tensor.shape)}."
        if sorted(tensor.shape) == sorted(expected):
            message += " The sizes are right but in the wrong order: check for a transpose or a swapped axis."
        raise CheckFailed(f"{message} {hint}".strip())


def _tolerance(dtype: torch.dtype) -> tuple[float, float]:
    return _TOLERANCES.get(dtype, _TOLERANCES[torch.float32])


def assert_close(
    name: str,
    actual: Any,
    expected: torch.Tensor,
    *,
    hint: str = "",
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Fail unless ``actual`` matches ``expected`` in shape and values.

    Values are compared in float64 with the tolerance of the reference's dtype: an answer computed in
    higher precision than the reference passes, while an answer that silently drops float64 inputs
    to float32 (e.g. a buffer made with ``torch.zeros(B, T, H)``) fails and is told why.

    Args:
        name: what is being checked, e.g. ``"rnn_forward(...)[0]  (H_all)"``.
        actual: the student's value, a tensor.
        expected: the reference tensor.
        hint: one sentence appended to the message when the check fails.
        rtol, atol: override the dtype-based tolerances.
    """
    tensor = _tensor_or_fail(name, actual)
    assert_shape(name, tensor, expected.shape, hint)
    expected = _plain("the reference", expected)
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise CheckFailed(f"{name} should be a floating-point tensor, but its dtype is {tensor.dtype}. {hint}".strip())
    default_rtol, default_atol = _tolerance(expected.dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    got = tensor.detach().to(torch.float64)
    want = expected.detach().to(torch.float64)
    if not torch.isfinite(got).all() and torch.isfinite(want).all():
        raise CheckFailed(f"{name} contains NaN or infinite values where the reference is finite. {hint}".strip())
    if torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        return
    diff = (got - want).abs()
    worst = int(torch.argmax(torch.nan_to_num(diff, nan=float("inf"))))
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), diff.shape)) if diff.dim() else ()
    message = (
        f"{name} has the right shape but wrong values: the largest difference is {diff.flatten()[worst]:.3g} "
        f"at index {index}, where the reference is {want.flatten()[worst]:.6g} and yours is {got.flatten()[worst]:.6g}."
    )
    if expected.dtype == torch.float64 and tensor.dtype != torch.float64:
        message += (
            f" Your result has dtype {tensor.dtype} although the inputs were float64: create new tensors with the"
            " inputs' dtype (e.g. torch.zeros(..., dtype=X.dtype) or torch.zeros_like)."
        )
    raise CheckFailed(f"{message} {hint}".strip())


def assert_integer(name: str, actual: Any, expected: int, hint: str = "") -> None:
    """Fail unless ``actual`` is an integer (``int``, NumPy or 0-d torch integer) equal to ``expected``."""
    if issubclass(type(actual), torch.Tensor):
        actual = _plain(name, actual)
    if (
        isinstance(actual, torch.Tensor)
        and actual.dim() == 0
        and not actual.is_floating_point()
        and actual.dtype != torch.bool
    ):
        actual = int(actual)
    if isinstance(actual, bool) or not isinstance(actual, numbers.Integral):
        raise CheckFailed(f"{name} should be an integer, but it is {_describe(actual)} ({actual!r}). {hint}".strip())
    if int(actual) != int(expected):
        raise CheckFailed(f"{name} should be {expected}, but it is {int(actual)}. {hint}".strip())


def assert_unchanged(name: str, before: torch.Tensor, after: torch.Tensor) -> None:
    """Fail if a function modified one of its input tensors in place."""
    before, after = _plain(name, before), _plain(name, after)
    if before.shape != after.shape or not torch.equal(before, after):
        raise CheckFailed(
            f"{name} was modified in place. Exercise functions must return new tensors and leave their inputs "
            "untouched (avoid +=, .add_(), or writing into an argument)."
        )


def _resolve(dotted: str) -> tuple[Any, str]:
    """Split ``"torch.nn.RNNCell.forward"`` into (the object holding the attribute, the attribute name)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attr in parts[split:-1]:
                owner = getattr(owner, attr)
        except AttributeError:
            raise ValueError(f"forbid: {dotted!r} does not exist") from None
        if not hasattr(owner, parts[-1]):
            raise ValueError(f"forbid: {dotted!r} does not exist")
        return owner, parts[-1]
    raise ValueError(f"forbid: cannot import a module from {dotted!r}")


@contextmanager
def forbid(*targets: str, exercise: str = "This exercise") -> Iterator[None]:
    """Block calls to the named functions while the ``with`` body runs.

    Args:
        targets: dotted names, e.g. ``"torch.nn.RNNCell.forward"``, ``"torch.rnn_tanh_cell"``.
        exercise: how to name the exercise in the message.

    Each name is replaced by a function that raises while the body runs, and every call of the
    original function is watched for (``sys.setprofile``), however the student's code reached it:
    a copy kept in a default argument or a variable is still the same function.

    Raises:
        ForbiddenCallError: as soon as a blocked function is called by its name; when the block
            ends if it was called through a copy, if the student's code caught that error, or if
            the student's code switched the watch off.
    """
    if not targets:
        raise ValueError("forbid() needs at least one dotted name to block")
    calls: list[str] = []
    patched: list[tuple[Any, str, Any, bool]] = []

    def message(name: str) -> str:
        return (
            f"{exercise} must be written from scratch with tensor operations, but it called {name}, which the "
            "exercise asks you to implement yourself."
        )

    resolved = [(dotted, *_resolve(dotted)) for dotted in targets]  # fail before patching anything
    watched_code: dict[Any, str] = {}  # the code of Python functions
    watched_builtins: dict[int, str] = {}  # C functions, by identity
    keep_alive = []
    for dotted, owner, attr in resolved:
        original = getattr(owner, attr)
        keep_alive.append(original)
        code = getattr(getattr(original, "__func__", original), "__code__", None)
        if code is not None:
            watched_code.setdefault(code, dotted)
        else:
            watched_builtins.setdefault(id(original), dotted)
    previous = sys.getprofile()

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            name = watched_builtins.get(id(arg))
            if name is not None:
                calls.append(name)
        elif event == "call":
            name = watched_code.get(frame.f_code)
            if name is not None:
                calls.append(name)
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(watch)
    threading.setprofile(watch)
    try:
        for dotted, owner, attr in resolved:

            def blocked(*args: Any, _name: str = dotted, **kwargs: Any) -> Any:
                calls.append(_name)
                raise ForbiddenCallError(message(_name))

            namespace = getattr(owner, "__dict__", {})
            own = attr in namespace
            # keep the raw entry (a staticmethod/classmethod object), not what attribute lookup returns
            patched.append((owner, attr, namespace[attr] if own else None, own))
            setattr(owner, attr, blocked)
        yield
    finally:
        switched_off = sys.getprofile() is not watch
        sys.setprofile(previous)
        threading.setprofile(previous)
        for owner, attr, original, own in reversed(patched):
            if own:
                setattr(owner, attr, original)
            else:  # the attribute was inherited or looked up dynamically: remove our shadow
                delattr(owner, attr)
    if switched_off:
        raise ForbiddenCallError(
            f"{exercise} switched off the check for forbidden calls (sys.setprofile): exercise code must not do that."
        )
    if calls:
        raise ForbiddenCallError(message(calls[0]))
