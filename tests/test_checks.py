"""Unit tests for seqlab.checks: student-facing assertions and ``forbid``."""

import contextlib
import sys
import types

import numpy as np
import pytest
import torch

from seqlab.checks import (
    RNN_SHORTCUTS,
    CheckFailed,
    ForbiddenCallError,
    assert_close,
    assert_integer,
    assert_shape,
    assert_unchanged,
    forbid,
)

# ------------------------------------------------------------------------------------ assert_shape


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)
    assert issubclass(ForbiddenCallError, CheckFailed)


def test_assert_shape_passes_on_right_shape():
    assert_shape("h", torch.zeros(2, 3), (2, 3))
    assert_shape("h", torch.zeros(4), [4])


def test_assert_shape_wrong_shape_names_both_shapes():
    with pytest.raises(CheckFailed) as info:
        assert_shape("rnn_cell(x, h)", torch.zeros(2, 5), (2, 3), hint="H is the hidden size.")
    message = str(info.value)
    assert "rnn_cell(x, h)" in message
    assert "(2, 3)" in message
    assert "(2, 5)" in message
    assert "H is the hidden size." in message
    assert "wrong order" not in message


def test_assert_shape_wrong_rank_fails():
    with pytest.raises(CheckFailed, match=r"\(2, 3, 1\)"):
        assert_shape("h", torch.zeros(2, 3, 1), (2, 3))


def test_assert_shape_permutation_mentions_transpose():
    with pytest.raises(CheckFailed) as info:
        assert_shape("H_all", torch.zeros(5, 2, 3), (2, 5, 3))
    message = str(info.value)
    assert "wrong order" in message
    assert "transpose" in message


@pytest.mark.parametrize("value, type_name", [([[0.0, 1.0]], "list"), (None, "NoneType")])
def test_assert_shape_non_tensor_fails_clearly(value, type_name):
    with pytest.raises(CheckFailed) as info:
        assert_shape("h", value, (1, 2))
    message = str(info.value)
    assert "torch.Tensor" in message
    assert type_name in message


# ------------------------------------------------------------------------------------ assert_close


def test_assert_close_passes_for_equal_float64():
    expected = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert_close("y", expected.clone(), expected)


def test_assert_close_float32_answer_to_float64_reference_fails_and_names_the_dtype():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(8, 5, dtype=torch.float64, generator=gen)
    W = torch.randn(5, 7, dtype=torch.float64, generator=gen)
    expected = torch.tanh(x @ W)
    got = torch.tanh(x.float() @ W.float())  # precision silently dropped
    with pytest.raises(CheckFailed, match="dtype torch.float32 although the inputs were float64"):
        assert_close("tanh(x @ W)", got, expected)


def test_assert_close_float64_answer_to_float32_reference_passes():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(8, 5, generator=gen)
    W = torch.randn(5, 7, generator=gen)
    expected = torch.tanh(x @ W)
    got = torch.tanh(x.double() @ W.double())  # more precise than the reference: a right answer
    assert not torch.equal(got.float(), expected)
    assert_close("tanh(x @ W)", got, expected)


def test_assert_close_float32_answer_beyond_tolerance_mentions_dtype():
    expected = torch.linspace(0, 1, 6, dtype=torch.float64)
    got = (expected + 1e-3).float()
    with pytest.raises(CheckFailed) as info:
        assert_close("y", got, expected)
    message = str(info.value)
    assert "float32" in message
    assert "float64" in message


def test_assert_close_float64_tolerance_is_tighter_than_float32():
    expected = torch.ones(3, dtype=torch.float64)
    with pytest.raises(CheckFailed):
        assert_close("y", expected + 1e-5, expected)
    # the same difference is within float32 tolerance when the reference is float32
    assert_close("y", expected.float() + 1e-6, expected.float())


def test_assert_close_float64_wrong_values_does_not_blame_dtype():
    expected = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(CheckFailed) as info:
        assert_close("y", expected + 1.0, expected)
    assert "dtype" not in str(info.value)


def test_assert_close_nan_in_answer_fails():
    expected = torch.zeros(2, 3, dtype=torch.float64)
    got = expected.clone()
    got[1, 1] = float("nan")
    with pytest.raises(CheckFailed, match="NaN"):
        assert_close("y", got, expected)


def test_assert_close_reports_index_and_values_of_largest_difference():
    expected = torch.zeros(2, 3, dtype=torch.float64)
    got = expected.clone()
    got[0, 0] = 0.25
    got[1, 2] = 0.5
    with pytest.raises(CheckFailed) as info:
        assert_close("y", got, expected)
    message = str(info.value)
    assert "(1, 2)" in message
    assert "0.5" in message
    assert "reference is 0 " in message


def test_assert_close_shape_mismatch_fails():
    with pytest.raises(CheckFailed) as info:
        assert_close("y", torch.zeros(3, 2, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    assert "(2, 3)" in str(info.value)
    assert "(3, 2)" in str(info.value)


def test_assert_close_hint_in_message():
    expected = torch.zeros(2, dtype=torch.float64)
    with pytest.raises(CheckFailed, match="the new state is tanh"):
        assert_close("y", expected + 1, expected, hint="the new state is tanh(...)")


def test_assert_close_non_tensor_fails():
    with pytest.raises(CheckFailed, match="torch.Tensor"):
        assert_close("y", [0.0, 0.0], torch.zeros(2))


def test_assert_close_integer_tensor_fails():
    with pytest.raises(CheckFailed, match="floating-point"):
        assert_close("y", torch.zeros(2, dtype=torch.int64), torch.zeros(2))


def test_assert_close_explicit_tolerance_overrides_default():
    expected = torch.zeros(2, dtype=torch.float64)
    assert_close("y", expected + 0.05, expected, atol=0.1)
    with pytest.raises(CheckFailed):
        assert_close("y", expected + 0.05, expected)


# ------------------------------------------------------------------------------------ assert_integer


@pytest.mark.parametrize("value", [5, np.int64(5), torch.tensor(5), torch.tensor(5, dtype=torch.int32)])
def test_assert_integer_accepts_integers(value):
    assert_integer("count", value, 5)


@pytest.mark.parametrize("value", [5.0, True, torch.tensor(5.0)])
def test_assert_integer_rejects_non_integers(value):
    with pytest.raises(CheckFailed, match="should be an integer"):
        assert_integer("count", value, 1 if value is True else 5)


def test_assert_integer_rejects_bool_tensor():
    """A 0-d bool tensor is no more an integer than Python's True."""
    with pytest.raises(CheckFailed, match="should be an integer"):
        assert_integer("count", torch.tensor(True), 1)


@pytest.mark.parametrize("value", [4, np.int64(4), torch.tensor(4)])
def test_assert_integer_wrong_value_names_expected(value):
    with pytest.raises(CheckFailed) as info:
        assert_integer("count", value, 5, hint="count the steps")
    message = str(info.value)
    assert "should be 5" in message
    assert "it is 4" in message
    assert "count the steps" in message


# ------------------------------------------------------------------------------------ assert_unchanged


def test_assert_unchanged_passes_if_equal():
    x = torch.arange(6.0).reshape(2, 3)
    assert_unchanged("x", x.clone(), x)


def test_assert_unchanged_fails_if_modified():
    before = torch.arange(6.0).reshape(2, 3)
    after = before.clone()
    after[0, 0] += 1
    with pytest.raises(CheckFailed, match="modified in place"):
        assert_unchanged("x", before, after)


def test_assert_unchanged_fails_if_reshaped():
    before = torch.arange(6.0)
    with pytest.raises(CheckFailed, match="modified in place"):
        assert_unchanged("x", before, before.reshape(2, 3))


# ------------------------------------------------------------------------------------ forbid


def _keys(cls):
    return set(cls.__dict__)


def test_forbid_blocks_method_call_with_dotted_name():
    cell = torch.nn.RNNCell(3, 4)
    x = torch.randn(2, 3)
    with pytest.raises(ForbiddenCallError) as info, forbid("torch.nn.RNNCell.forward", exercise="rnn_cell"):
        cell(x)
    assert "torch.nn.RNNCell.forward" in str(info.value)
    assert "rnn_cell" in str(info.value)


def test_forbid_raises_at_exit_if_error_was_swallowed():
    ran_after = []
    with (
        pytest.raises(ForbiddenCallError, match=r"torch\.nn\.RNNCell\.forward"),
        forbid("torch.nn.RNNCell.forward", exercise="rnn_cell"),
    ):
        try:  # noqa: SIM105  (written the way a student would swallow the error)
            torch.nn.RNNCell(3, 4)(torch.randn(2, 3))
        except Exception:
            pass
        ran_after.append(True)
    assert ran_after == [True]


def test_forbid_no_error_when_nothing_forbidden_is_called():
    with forbid("torch.nn.RNNCell.forward"):
        y = torch.tanh(torch.ones(2))
    assert torch.allclose(y, torch.full((2,), 0.7615941559557649))


def test_forbid_restores_classes_after_block():
    before = {cls: (_keys(cls), cls.__dict__.get("forward")) for cls in (torch.nn.RNNCell, torch.nn.RNN)}
    with (
        pytest.raises(ForbiddenCallError),
        forbid("torch.nn.RNNCell.forward", "torch.nn.RNN.forward", exercise="rnn"),
        contextlib.suppress(ForbiddenCallError),
    ):
        torch.nn.RNNCell(3, 4)(torch.randn(2, 3))
    for cls, (keys, forward) in before.items():
        assert _keys(cls) == keys
        assert cls.__dict__.get("forward") is forward
    assert torch.nn.RNNCell(3, 4)(torch.randn(2, 3)).shape == (2, 4)
    assert torch.nn.RNN(3, 4)(torch.randn(5, 3))[0].shape == (5, 4)


def test_forbid_restores_inherited_attribute_by_removing_shadow():
    # RNNCell inherits extra_repr from RNNCellBase: the shadow must be removed, not left behind.
    assert "extra_repr" not in torch.nn.RNNCell.__dict__
    cell = torch.nn.RNNCell(3, 4)
    text = repr(cell)
    keys = _keys(torch.nn.RNNCell)
    with forbid("torch.nn.RNNCell.extra_repr"):
        assert "extra_repr" in torch.nn.RNNCell.__dict__
    assert _keys(torch.nn.RNNCell) == keys
    assert repr(cell) == text == "RNNCell(3, 4)"


def test_forbid_restores_after_exception_escapes_block():
    keys = _keys(torch.nn.RNNCell)
    forward = torch.nn.RNNCell.forward
    with pytest.raises(ZeroDivisionError), forbid("torch.nn.RNNCell.forward"):
        1 / 0  # noqa: B018
    assert _keys(torch.nn.RNNCell) == keys
    assert torch.nn.RNNCell.forward is forward
    assert torch.nn.RNNCell(3, 4)(torch.randn(2, 3)).shape == (2, 4)


def test_forbid_module_level_function():
    original = torch.rnn_tanh_cell
    args = (torch.randn(2, 3), torch.zeros(2, 4), torch.randn(4, 3), torch.randn(4, 4))
    with pytest.raises(ForbiddenCallError, match=r"torch\.rnn_tanh_cell"), forbid("torch.rnn_tanh_cell"):
        torch.rnn_tanh_cell(*args)
    assert torch.rnn_tanh_cell is original
    assert torch.rnn_tanh_cell(*args).shape == (2, 4)


def test_forbid_vf_function_blocks_rnn_cell_and_is_restored():
    keys = set(vars(torch._VF))
    with (
        pytest.raises(ForbiddenCallError, match=r"torch\._VF\.rnn_tanh_cell"),
        forbid("torch._VF.rnn_tanh_cell"),
    ):
        torch.nn.RNNCell(3, 4)(torch.randn(2, 3))
    assert set(vars(torch._VF)) == keys
    assert callable(torch._VF.rnn_tanh_cell)
    out = torch._VF.rnn_tanh_cell(torch.randn(2, 3), torch.zeros(2, 4), torch.randn(4, 3), torch.randn(4, 4))
    assert out.shape == (2, 4)
    assert torch.nn.RNNCell(3, 4)(torch.randn(2, 3)).shape == (2, 4)


def test_forbid_allowed_operations_unaffected():
    x = torch.randn(2, 3, dtype=torch.float64)
    W = torch.randn(3, 4, dtype=torch.float64)
    expected = torch.tanh(x @ W)
    with forbid("torch.nn.RNNCell.forward", "torch.rnn_tanh_cell", "torch._VF.rnn_tanh_cell"):
        got = torch.tanh(x @ W)
    assert torch.equal(got, expected)


@pytest.mark.parametrize(
    "dotted",
    [
        "torch.nn.RNNCell.no_such_method",
        "torch.no_such_function",
        "no_such_module_xyz.f",
        "torch.nn.NoSuchClass.forward",
    ],
)
def test_forbid_unknown_name_raises_value_error(dotted):
    with pytest.raises(ValueError, match="forbid"), forbid(dotted):
        pass


def test_forbid_without_targets_raises_value_error():
    with pytest.raises(ValueError), forbid():
        pass


def test_forbid_unknown_name_leaves_earlier_targets_unpatched():
    """If one target does not resolve, the targets patched before it must not stay blocked."""
    original = torch.tanh
    try:
        with pytest.raises(ValueError), forbid("torch.tanh", "torch.no_such_function"):
            pass
        assert torch.tanh is original
    finally:
        torch.tanh = original  # repair the global state whatever happened


def test_forbid_restores_staticmethod_descriptor(monkeypatch):
    """Restoring an own attribute must put back the descriptor itself, not what getattr returned."""

    class Tools:
        @staticmethod
        def double(x):
            return 2 * x

    module = types.ModuleType("seqlab_test_fake_module")
    module.Tools = Tools
    monkeypatch.setitem(sys.modules, module.__name__, module)
    descriptor = Tools.__dict__["double"]
    with pytest.raises(ForbiddenCallError), forbid(f"{module.__name__}.Tools.double"):
        Tools.double(1)
    assert Tools.__dict__["double"] is descriptor
    assert Tools().double(3) == 6


def test_autograd_shortcuts_block_every_route_to_autograd():
    from seqlab.checks import AUTOGRAD_SHORTCUTS

    x = torch.randn(3, requires_grad=True)
    routes = [
        lambda: (x**2).sum().backward(),
        lambda: torch.autograd.grad((x**2).sum(), x),
        lambda: torch.autograd.backward((x**2).sum()),
        lambda: torch.autograd.functional.jacobian(lambda a: a**2, x),
        lambda: torch.func.grad(lambda a: (a**2).sum())(x),
        lambda: torch.func.jacrev(lambda a: a**2)(x),
    ]
    for route in routes:
        with pytest.raises(ForbiddenCallError), forbid(*AUTOGRAD_SHORTCUTS, exercise="rnn_backward"):
            route()
    (x**2).sum().backward()  # restored afterwards
    assert torch.equal(x.grad, 2 * x.detach())


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_recurrent_shortcuts_block_every_ready_made_layer_of_their_kind(kind):
    from seqlab import checks

    shortcuts = getattr(checks, f"{kind.upper()}_SHORTCUTS")
    layer, cell = {"rnn": (torch.nn.RNN, torch.nn.RNNCell), "gru": (torch.nn.GRU, torch.nn.GRUCell)}.get(
        kind, (torch.nn.LSTM, torch.nn.LSTMCell)
    )
    x = torch.randn(2, 3, 4)
    routes = [lambda: layer(4, 5, batch_first=True)(x), lambda: cell(4, 5)(x[:, 0])]
    for route in routes:
        with pytest.raises(ForbiddenCallError), forbid(*shortcuts, exercise=f"{kind}_cell"):
            route()
    layer(4, 5, batch_first=True)(x)  # restored afterwards


class _Agreeable(torch.Tensor):
    """A tensor subclass that answers yes to every comparison and hides behind detach()."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.isclose, torch.Tensor.__eq__):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def detach(self):
        return self


def test_checks_compare_a_tensor_subclass_by_its_values_only():
    wrong = torch.zeros(3, dtype=torch.float64).as_subclass(_Agreeable)
    right = torch.ones(3, dtype=torch.float64)
    assert torch.allclose(wrong, right)  # what the subclass makes torch answer
    with pytest.raises(CheckFailed, match="wrong values"):
        assert_close("x", wrong, right)
    with pytest.raises(CheckFailed, match="modified in place"):
        assert_unchanged("x", right, wrong)
    assert_close("x", right.clone().as_subclass(_Agreeable), right)  # right values still pass
    assert_close("p", torch.nn.Parameter(right.clone()), right)


def test_checks_do_not_trust_a_lying_class_attribute():
    class Pretender:
        __class__ = torch.Tensor  # isinstance() believes it

    assert isinstance(Pretender(), torch.Tensor)
    with pytest.raises(CheckFailed, match="should be a torch.Tensor"):
        assert_close("x", Pretender(), torch.ones(1))


def _rnn_args():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(*s, generator=g) for s in ((2, 3), (2, 4), (3, 4), (4, 4), (4,))]


def test_forbid_catches_a_shortcut_kept_in_a_default_argument():
    def cell(x, h, W_xh, W_hh, b_h, _step=torch.rnn_tanh_cell):
        return _step(x, h, W_xh.T.contiguous(), W_hh.T.contiguous(), b_h, torch.zeros_like(b_h))

    with pytest.raises(ForbiddenCallError, match="rnn_tanh_cell"), forbid(*RNN_SHORTCUTS, exercise="rnn_cell"):
        cell(*_rnn_args())
    assert sys.getprofile() is None


def test_forbid_catches_a_bound_method_captured_before_the_block():
    layer = torch.nn.RNNCell(3, 4)
    step = layer.forward
    x, h = _rnn_args()[:2]
    with pytest.raises(ForbiddenCallError), forbid(*RNN_SHORTCUTS):
        step(x, h)


def test_forbid_fails_when_the_watch_is_switched_off():
    with pytest.raises(ForbiddenCallError, match="switched off"), forbid(*RNN_SHORTCUTS):
        sys.setprofile(None)


def test_forbid_lets_honest_tensor_code_run():
    x, h, W_xh, W_hh, b_h = _rnn_args()
    with forbid(*RNN_SHORTCUTS):
        torch.tanh(x @ W_xh + h @ W_hh + b_h)
    assert sys.getprofile() is None
