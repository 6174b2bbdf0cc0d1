"""Unit tests for seqlab.data: seeded synthetic sequence tasks."""

import itertools
import math

import pytest
import torch

from seqlab.data import (
    ADDING_BASELINE_MSE,
    PAD_LABEL,
    TOY_ALPHABET,
    TOY_BOS,
    TOY_ENTROPY_PER_CHAR,
    TOY_EOS,
    TOY_GRAMMAR,
    adding_problem_batch,
    echo_batch,
    repeats_later_batch,
    toy_decode,
    toy_encode,
    toy_is_sentence,
    toy_language_batch,
    toy_sentence,
)


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


# ------------------------------------------------------------------------------------ repeats_later_batch


def _repeats_later_reference(tokens, length):
    """The rule, written as plainly as possible: 1 if tokens[t] occurs again at a later step before the end."""
    return [int(tokens[t] in tokens[t + 1 : length]) for t in range(length)]


def test_repeats_later_reference_on_the_docstring_example():
    assert _repeats_later_reference([0, 2, 1, 2, 0], 5) == [1, 1, 0, 0, 0]


def test_repeats_later_shapes_and_dtypes():
    X, Y, lengths = repeats_later_batch(5, 9, 4, _gen())
    assert X.shape == (5, 9, 4) and X.dtype == torch.float32
    assert Y.shape == (5, 9) and Y.dtype == torch.int64
    assert lengths.shape == (5,) and lengths.dtype == torch.int64


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_repeats_later_rule_holds(seed):
    X, Y, lengths = repeats_later_batch(64, 12, 3, _gen(seed), min_length=1)
    for b in range(64):
        n = int(lengths[b])
        tokens = X[b, :n].argmax(dim=-1).tolist()
        assert Y[b, :n].tolist() == _repeats_later_reference(tokens, n)


def test_repeats_later_padding():
    X, Y, lengths = repeats_later_batch(64, 10, 5, _gen(3), min_length=2)
    for b in range(64):
        n = int(lengths[b])
        assert torch.equal(X[b, :n].sum(dim=-1), torch.ones(n)), "one-hot inside the sequence"
        assert torch.equal(X[b, n:], torch.zeros(10 - n, 5)), "zeros at padded steps"
        assert (Y[b, n:] == PAD_LABEL).all()
        assert set(Y[b, :n].tolist()) <= {0, 1}
        assert Y[b, n - 1] == 0, "nothing comes after the last step"


def test_repeats_later_lengths_cover_the_range():
    _, _, lengths = repeats_later_batch(500, 8, 3, _gen(), min_length=3)
    assert set(lengths.tolist()) == set(range(3, 9))


def test_repeats_later_fixed_length_and_length_one():
    _, Y, lengths = repeats_later_batch(4, 6, 2, _gen(), min_length=6)
    assert lengths.tolist() == [6] * 4 and (Y != PAD_LABEL).all()
    _, Y, lengths = repeats_later_batch(4, 1, 2, _gen())
    assert lengths.tolist() == [1] * 4 and Y.tolist() == [[0]] * 4


def test_repeats_later_labels_are_not_trivial():
    _, Y, _ = repeats_later_batch(400, 20, 4, _gen(), min_length=5)
    ones = (Y == 1).sum() / (Y != PAD_LABEL).sum()
    assert 0.4 < ones < 0.9


def test_repeats_later_seeded_reproducibility():
    first = repeats_later_batch(8, 10, 4, _gen(5))
    again = repeats_later_batch(8, 10, 4, _gen(5))
    other = repeats_later_batch(8, 10, 4, _gen(6))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"max_length": 0}, ValueError, "max_length"),
        ({"max_length": 5.0}, TypeError, "max_length"),
        ({"n_symbols": 1}, ValueError, "n_symbols"),
        ({"min_length": 0}, ValueError, "min_length"),
        ({"min_length": 11}, ValueError, "min_length"),
        ({"generator": 3}, TypeError, "generator"),
    ],
)
def test_repeats_later_bad_arguments(kwargs, error, name):
    args = {"batch_size": 4, "max_length": 10, "n_symbols": 3, "generator": _gen(), **kwargs}
    with pytest.raises(error, match=name):
        repeats_later_batch(**args)


# ------------------------------------------------------------------------------------ the toy language


def test_toy_alphabet_has_every_character_once():
    assert len(set(TOY_ALPHABET)) == len(TOY_ALPHABET)
    for group in TOY_GRAMMAR:
        for word in group:
            assert set(word) <= set(TOY_ALPHABET)
    assert TOY_ALPHABET[:4] == TOY_BOS + TOY_EOS + " ."


def test_toy_sentences_are_grammatical_and_cover_the_grammar():
    gen = _gen(0)
    sentences = {toy_sentence(gen) for _ in range(2000)}
    expected = {" ".join(words) + "." for words in itertools.product(*TOY_GRAMMAR)}
    assert sentences == expected
    assert all(toy_is_sentence(s) for s in sentences)


@pytest.mark.parametrize(
    "text",
    ["old cat runs", "old cat runs. ", "cat old runs.", "old cat cat.", "old  cat runs.", "", None, "^old cat runs."],
)
def test_toy_is_sentence_rejects(text):
    assert not toy_is_sentence(text)


def test_toy_encode_decode_round_trip():
    text = TOY_BOS + "small bird sings." + TOY_EOS
    ids = toy_encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (len(text),)
    assert toy_decode(ids) == text
    assert toy_decode(ids.tolist()) == text


@pytest.mark.parametrize("bad, error", [("Cat", ValueError), (3, TypeError)])
def test_toy_encode_bad_arguments(bad, error):
    with pytest.raises(error):
        toy_encode(bad)


@pytest.mark.parametrize("bad", [[0, len(TOY_ALPHABET)], [-1], [[0, 1]], torch.zeros(2, 2, dtype=torch.long)])
def test_toy_decode_bad_arguments(bad):
    with pytest.raises(ValueError, match="ids"):
        toy_decode(bad)


def test_toy_language_batch_rule_and_padding():
    X, Y, lengths = toy_language_batch(32, _gen(1))
    B, T, n_chars = X.shape
    assert B == 32
    assert n_chars == len(TOY_ALPHABET)
    assert Y.shape == (B, T)
    assert int(lengths.max()) == T
    assert X.dtype == torch.float32 and Y.dtype == torch.int64 and lengths.dtype == torch.int64
    for b in range(B):
        n = int(lengths[b])
        inputs = toy_decode(X[b, :n].argmax(dim=-1))
        targets = toy_decode(Y[b, :n])
        assert inputs[0] == TOY_BOS and targets[-1] == TOY_EOS
        assert toy_is_sentence(inputs[1:])
        assert inputs[1:] == targets[:-1], "the target at t is the input at t + 1"
        assert torch.equal(X[b, :n].sum(dim=-1), torch.ones(n))
        assert torch.equal(X[b, n:], torch.zeros(T - n, n_chars))
        assert (Y[b, n:] == PAD_LABEL).all()


def test_toy_language_batch_seeded_reproducibility():
    first, again, other = (toy_language_batch(8, _gen(s)) for s in (4, 4, 5))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[1], other[1])


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.0}, TypeError, "batch_size"),
        ({"generator": None}, TypeError, "generator"),
    ],
)
def test_toy_language_batch_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        toy_language_batch(**{"batch_size": 4, "generator": _gen(), **kwargs})


def test_toy_entropy_per_char():
    # ln 64 nats per sentence; on average 3.5 + 3.25 + 4.75 letters, two spaces, "." and the end mark
    assert pytest.approx(math.log(64) / 15.5) == TOY_ENTROPY_PER_CHAR
    _, _, lengths = toy_language_batch(4000, _gen(0))
    assert abs(lengths.float().mean().item() - 15.5) < 0.05
