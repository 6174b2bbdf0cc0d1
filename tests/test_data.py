"""Unit tests for seqlab.data: seeded synthetic sequence tasks."""

import calendar
import datetime
import itertools
import math
import re

import pytest
import torch

from seqlab.data import (
    ADDING_BASELINE_MSE,
    DATE_BOS_ID,
    DATE_EOS_ID,
    DATE_FIRST,
    DATE_FORMATS,
    DATE_LAST,
    DATE_OUTPUT_FIELDS,
    DATE_PAD_ID,
    DATE_PIVOT_YEAR,
    DATE_SOURCE_VOCAB,
    DATE_TARGET_LENGTH,
    DATE_TARGET_VOCAB,
    PAD_LABEL,
    TOY_ALPHABET,
    TOY_BOS,
    TOY_ENTROPY_PER_CHAR,
    TOY_EOS,
    TOY_GRAMMAR,
    DateExample,
    adding_problem_batch,
    date_batch,
    date_batch_from_examples,
    date_examples,
    date_field_spans,
    date_source_decode,
    date_source_encode,
    date_split,
    date_target_decode,
    date_target_encode,
    echo_batch,
    format_date,
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


# --- the date task (lesson 06) ---------------------------------------------------------------------------------

_EXAMPLE_DATE = datetime.date(2021, 3, 3)
_EDGE_DATES = [
    datetime.date(1950, 1, 1),
    datetime.date(1999, 12, 31),
    datetime.date(2000, 2, 29),
    datetime.date(2011, 11, 11),
    datetime.date(2012, 12, 22),
    datetime.date(2049, 12, 31),
    _EXAMPLE_DATE,
]
_MONTH_NAMES = [calendar_name for calendar_name in calendar.month_name[1:]]


def _pivot(yy: int) -> int:
    return 2000 + yy if yy < DATE_PIVOT_YEAR else 1900 + yy


def _parse_ordinal(text: str) -> datetime.date:
    # "the 3rd of march, 2021"
    match = re.fullmatch(r"the (\d{1,2})(st|nd|rd|th) of ([a-z]+), (\d{4})", text)
    assert match, text
    day, suffix, month, year = match.groups()
    expected_suffix = "th" if 11 <= int(day) <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(int(day) % 10, "th")
    assert suffix == expected_suffix, text
    return datetime.date(int(year), [m.lower() for m in _MONTH_NAMES].index(month) + 1, int(day))


def _parse_chinese(text: str) -> datetime.date:
    match = re.fullmatch(r"(\d{4})年([1-9]\d?)月([1-9]\d?)日", text)
    assert match, text
    return datetime.date(*map(int, match.groups()))


def _parse_two_digit(text: str, pattern: str) -> datetime.date:
    parsed = datetime.datetime.strptime(text, pattern)  # %y: 69-99 -> 19yy, 00-68 -> 20yy: re-pivot
    return parsed.date().replace(year=_pivot(parsed.year % 100))


# An independent parser for each format of DATE_FORMATS (strptime in the C locale, or a regular expression).
_PARSERS = [
    lambda s: datetime.datetime.strptime(s, "%d %B %Y").date(),
    lambda s: datetime.datetime.strptime(s, "%a, %b %d, %Y").date(),
    lambda s: _parse_two_digit(s, "%m/%d/%y") if re.fullmatch(r"\d\d/\d\d/\d\d", s) else None,
    _parse_chinese,
    lambda s: datetime.datetime.strptime(s, "%d.%m.%Y").date() if re.fullmatch(r"\d\d\.\d\d\.\d{4}", s) else None,
    lambda s: datetime.datetime.strptime(s, "%B %d, %Y").date(),
    lambda s: datetime.datetime.strptime(s, "%d %b %Y").date() if s == s.lower() else None,
    lambda s: datetime.datetime.strptime(s, "%A %d %B %Y").date() if s == s.upper() else None,
    lambda s: datetime.datetime.strptime(s, "%Y/%m/%d").date() if re.fullmatch(r"\d{4}/\d\d/\d\d", s) else None,
    lambda s: datetime.datetime.strptime(s, "%Y%m%d").date() if re.fullmatch(r"\d{8}", s) else None,
    lambda s: (
        datetime.datetime.strptime(s, "%d-%b-%Y").date() if re.fullmatch(r"\d\d-[A-Z][a-z]{2}-\d{4}", s) else None
    ),
    lambda s: datetime.datetime.strptime(s, "%A, %d %B %Y").date(),
    lambda s: _parse_two_digit(s, "%d %b %y") if re.fullmatch(r"\d\d [A-Z][a-z]{2} \d\d", s) else None,
    _parse_ordinal,
]


def _weekday_checked(text: str, date: datetime.date) -> None:
    # strptime ignores %a / %A when it builds the date: check the weekday the string names is the date's
    names = [calendar.day_name[date.weekday()], calendar.day_abbr[date.weekday()]]
    if any(n in text for n in calendar.day_name) or re.match(r"[A-Z][a-z]{2},", text):
        assert any(n in text or n.upper() in text for n in names), (text, date)
    if text.isupper():
        assert calendar.day_name[date.weekday()].upper() in text, (text, date)


def test_date_formats_are_at_least_twelve_and_their_examples_are_right():
    assert len(DATE_FORMATS) >= 12
    assert len(_PARSERS) == len(DATE_FORMATS)
    names = [name for name, _, _ in DATE_FORMATS]
    assert len(set(names)) == len(names)
    for fmt, (_, example, _) in enumerate(DATE_FORMATS):
        assert format_date(_EXAMPLE_DATE, fmt) == example
    assert format_date(_EXAMPLE_DATE, 3) == "2021年3月3日"


@pytest.mark.parametrize("fmt", range(len(DATE_FORMATS)))
def test_every_format_parses_back_to_its_date(fmt):
    _, heldout = date_split(0)
    dates = _EDGE_DATES + heldout[::97]
    for date in dates:
        text = format_date(date, fmt)
        assert _PARSERS[fmt](text) == date, (fmt, text, date)
        _weekday_checked(text, date)
        assert torch.equal(date_source_encode(text), date_source_encode(text))
        assert date_source_decode(date_source_encode(text)) == text


def test_every_string_determines_exactly_one_date():
    # whichever format's parser accepts a string, it finds the same date: no string is ambiguous
    dates = _EDGE_DATES + date_split(0)[1][::211]
    for date in dates:
        for fmt in range(len(DATE_FORMATS)):
            text = format_date(date, fmt)
            found = set()
            for parser in _PARSERS:
                try:
                    parsed = parser(text)
                except (ValueError, AssertionError):
                    continue
                if parsed is not None:
                    found.add(parsed)
            assert found == {date}, (text, found)


def test_format_date_is_english_whatever_the_locale():
    assert format_date(datetime.date(1950, 1, 2), 7) == "MONDAY 2 JANUARY 1950"
    assert format_date(datetime.date(2049, 12, 31), 13) == "the 31st of december, 2049"
    assert format_date(datetime.date(2012, 12, 22), 13) == "the 22nd of december, 2012"
    assert format_date(datetime.date(2011, 11, 11), 13) == "the 11th of november, 2011"
    assert format_date(datetime.date(1950, 1, 1), 2) == "01/01/50"
    assert format_date(datetime.date(2049, 1, 1), 12) == "01 Jan 49"


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((datetime.date(1949, 12, 31), 0), ValueError, "date should be between"),
        ((datetime.date(2050, 1, 1), 0), ValueError, "date should be between"),
        ((datetime.datetime(2021, 3, 3), 0), TypeError, "datetime.date"),
        (("2021-03-03", 0), TypeError, "datetime.date"),
        ((_EXAMPLE_DATE, len(DATE_FORMATS)), ValueError, "fmt should be from 0"),
        ((_EXAMPLE_DATE, -1), ValueError, "fmt should be from 0"),
        ((_EXAMPLE_DATE, 1.0), TypeError, "fmt should be an int"),
        ((_EXAMPLE_DATE, True), TypeError, "fmt should be an int"),
    ],
)
def test_format_date_bad_arguments(args, error, words):
    with pytest.raises(error, match=words):
        format_date(*args)


def test_date_split_is_disjoint_complete_seeded():
    train, heldout = date_split(0)
    n_days = (DATE_LAST - DATE_FIRST).days + 1
    assert n_days == 36525
    assert len(train) + len(heldout) == n_days
    assert len(heldout) == round(0.2 * n_days)
    assert not set(train) & set(heldout)
    assert set(train) | set(heldout) == {DATE_FIRST + datetime.timedelta(days=i) for i in range(n_days)}
    assert train == sorted(train) and heldout == sorted(heldout)
    assert date_split(0) == (train, heldout)
    assert date_split(1)[1] != heldout
    assert len(date_split(0, heldout_fraction=0.05)[1]) == round(0.05 * n_days)


def test_date_examples_from_heldout_never_show_a_training_date_in_any_format():
    train, heldout = date_split(0)
    train_texts = {format_date(d, f) for d in train[::7] for f in range(len(DATE_FORMATS))}
    for example in date_examples(heldout, 500, _gen(3)):
        assert datetime.date.fromisoformat(example.iso) in set(heldout)
        assert example.text not in train_texts
        assert _PARSERS[example.fmt](example.text) == datetime.date.fromisoformat(example.iso)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"seed": 1.5}, TypeError, "seed"),
        ({"heldout_fraction": 0.0}, ValueError, "heldout_fraction"),
        ({"heldout_fraction": 1.0}, ValueError, "heldout_fraction"),
        ({"heldout_fraction": "0.2"}, TypeError, "heldout_fraction"),
    ],
)
def test_date_split_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        date_split(**kwargs)


def test_date_vocabularies():
    assert DATE_SOURCE_VOCAB[DATE_PAD_ID] == "<pad>" and DATE_TARGET_VOCAB[DATE_PAD_ID] == "<pad>"
    assert DATE_TARGET_VOCAB[DATE_BOS_ID] == "<bos>" and DATE_TARGET_VOCAB[DATE_EOS_ID] == "<eos>"
    assert set(DATE_TARGET_VOCAB[3:]) == set("-0123456789")
    assert len(set(DATE_SOURCE_VOCAB)) == len(DATE_SOURCE_VOCAB)
    assert {"年", "月", "日"} <= set(DATE_SOURCE_VOCAB)
    used = {
        c for d in _EDGE_DATES + date_split(0)[0][::13] for f in range(len(DATE_FORMATS)) for c in format_date(d, f)
    }
    assert used == set(DATE_SOURCE_VOCAB[1:]), "the source vocabulary is exactly the characters the formats use"


def test_date_target_encode_decode_round_trip():
    ids = date_target_encode("2021-03-03")
    assert ids.dtype == torch.int64 and ids.shape == (DATE_TARGET_LENGTH,)
    assert int(ids[-1]) == DATE_EOS_ID
    assert date_target_decode(ids) == "2021-03-03"
    assert date_target_decode([DATE_BOS_ID, *ids.tolist()]) == "2021-03-03"
    assert date_target_decode(ids.tolist() + [DATE_PAD_ID] * 3) == "2021-03-03"
    # a model that writes specials in the middle or stops early never decodes to the right date
    assert date_target_decode(ids[:4].tolist() + [DATE_BOS_ID] + ids[4:].tolist()) != "2021-03-03"
    assert date_target_decode(ids[:5].tolist() + [DATE_EOS_ID]) == "2021-"


@pytest.mark.parametrize(
    "function, bad, error, words",
    [
        ("target_encode", "2021-3-3", ValueError, "ISO date"),
        ("target_encode", "2021-02-30", ValueError, "ISO date"),
        ("target_encode", 20210303, TypeError, "str"),
        ("target_decode", [0, len(DATE_TARGET_VOCAB)], ValueError, "ids"),
        ("target_decode", torch.zeros(2, 3, dtype=torch.long), ValueError, "one-dimensional"),
        ("source_encode", "3 März 2021", ValueError, "DATE_SOURCE_VOCAB"),
        ("source_encode", None, TypeError, "str"),
        ("source_decode", [-1], ValueError, "ids"),
    ],
)
def test_date_encode_decode_bad_arguments(function, bad, error, words):
    functions = {
        "target_encode": date_target_encode,
        "target_decode": date_target_decode,
        "source_encode": date_source_encode,
        "source_decode": date_source_decode,
    }
    with pytest.raises(error, match=words):
        functions[function](bad)


def test_date_batch_shapes_padding_and_teacher_forcing():
    train, _ = date_split(0)
    batch = date_batch(train, 64, _gen(2))
    src, src_lengths, tgt_in, tgt_out, formats = batch
    B, S = src.shape
    assert B == 64 and int(src_lengths.max()) == S
    for tensor in batch:
        assert tensor.dtype == torch.int64
    assert tgt_in.shape == tgt_out.shape == (B, DATE_TARGET_LENGTH)
    assert formats.shape == src_lengths.shape == (B,)
    assert (tgt_in[:, 0] == DATE_BOS_ID).all()
    assert torch.equal(tgt_in[:, 1:], tgt_out[:, :-1]), "tgt_in is tgt_out shifted right after the start mark"
    assert (tgt_out[:, -1] == DATE_EOS_ID).all()
    assert len(set(formats.tolist())) > 5
    for b in range(B):
        n = int(src_lengths[b])
        text = date_source_decode(src[b, :n])
        assert (src[b, :n] != DATE_PAD_ID).all() and (src[b, n:] == DATE_PAD_ID).all()
        date = datetime.date.fromisoformat(date_target_decode(tgt_out[b]))
        assert date in set(train)
        assert format_date(date, int(formats[b])) == text


def test_date_batch_seeded_and_formats_argument():
    train, _ = date_split(0)
    first, again, other = (date_batch(train, 16, _gen(s)) for s in (4, 4, 5))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first.tgt_out, other.tgt_out)
    only = date_batch(train, 32, _gen(0), formats=[3, 13])
    assert set(only.formats.tolist()) == {3, 13}
    examples = date_examples(train, 16, _gen(4))
    assert all(isinstance(e, DateExample) for e in examples)
    assert all(torch.equal(a, b) for a, b in zip(date_batch_from_examples(examples), first, strict=True))


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"batch_size": 0}, ValueError, "n should be at least 1"),
        ({"batch_size": 2.0}, TypeError, "n should be an int"),
        ({"generator": 0}, TypeError, "generator"),
        ({"dates": []}, ValueError, "dates is empty"),
        ({"dates": "2021-03-03"}, TypeError, "list of datetime.date"),
        ({"dates": [datetime.date(2050, 1, 1)]}, ValueError, r"dates\[0\]"),
        ({"formats": []}, ValueError, "formats is empty"),
        ({"formats": [14]}, ValueError, "fmt should be from 0"),
    ],
)
def test_date_batch_bad_arguments(kwargs, error, words):
    arguments = {"dates": [_EXAMPLE_DATE], "batch_size": 4, "generator": _gen(), **kwargs}
    with pytest.raises(error, match=words):
        date_batch(**arguments)


@pytest.mark.parametrize("bad", [[], DateExample("3 March 2021", "2021-03-03", 0), [("3 March 2021", "2021-03-03", 0)]])
def test_date_batch_from_examples_bad_arguments(bad):
    with pytest.raises(TypeError, match="DateExample"):
        date_batch_from_examples(bad)


def test_date_field_spans_point_at_the_day_month_and_year():
    assert date_field_spans("3 March 2021", 0) == {"year": range(8, 12), "month": range(2, 7), "day": range(0, 1)}
    assert date_field_spans("20210303", 9) == {"year": range(0, 4), "month": range(4, 6), "day": range(6, 8)}
    assert date_field_spans("the 3rd of march, 2021", 13)["day"] == range(4, 5)
    assert date_field_spans("Wed, Mar 3, 2021", 1)["month"] == range(5, 8), "the weekday is not the month"
    assert date_field_spans("2021年3月3日", 3) == {"year": range(0, 4), "month": range(5, 6), "day": range(7, 8)}
    months = [m.lower() for m in calendar.month_name[1:]]
    for date in _EDGE_DATES + date_split(0)[1][::101]:
        for fmt in range(len(DATE_FORMATS)):
            text = format_date(date, fmt)
            spans = date_field_spans(text, fmt)
            day, month, year = (text[spans[f].start : spans[f].stop] for f in ("day", "month", "year"))
            assert int(day) == date.day, (text, spans)
            assert (int(month) if month.isdigit() else [m[: len(month)] for m in months].index(month.lower()) + 1) == (
                date.month
            ), (text, spans)
            assert int(year) == (date.year if len(year) == 4 else date.year % 100), (text, spans)
    iso = "2021-03-03<eos>"
    assert [iso[DATE_OUTPUT_FIELDS[f].start : DATE_OUTPUT_FIELDS[f].stop] for f in ("year", "month", "day")] == [
        "2021",
        "03",
        "03",
    ]


@pytest.mark.parametrize(
    "text, fmt, error", [("3 March 2021", 2, ValueError), ("2021-03-03", 0, ValueError), (None, 0, TypeError)]
)
def test_date_field_spans_bad_arguments(text, fmt, error):
    with pytest.raises(error):
        date_field_spans(text, fmt)


# ---- copy task ------------------------------------------------------------------------------------------------


def test_copy_batch_fields_agree():
    from seqlab.data import COPY_FIRST_SYMBOL, DATE_BOS_ID, DATE_EOS_ID, DATE_PAD_ID, copy_batch

    src, lengths, tgt_in, tgt_out = copy_batch(200, 7, 3, 9, torch.Generator().manual_seed(0))
    B, S = src.shape
    assert B == 200 and int(lengths.max()) == S and tgt_in.shape == tgt_out.shape == (200, S + 1)
    assert all(t.dtype == torch.int64 for t in (src, lengths, tgt_in, tgt_out))
    assert set(lengths.tolist()) == set(range(3, 10)), "every length from min to max occurs in 200 rows"
    for b in range(B):
        n = int(lengths[b])
        symbols = src[b, :n]
        assert ((symbols >= COPY_FIRST_SYMBOL) & (symbols < COPY_FIRST_SYMBOL + 7)).all()
        assert (src[b, n:] == DATE_PAD_ID).all()
        assert tgt_in[b, 0] == DATE_BOS_ID and torch.equal(tgt_in[b, 1 : n + 1], symbols)
        assert (tgt_in[b, n + 1 :] == DATE_PAD_ID).all()
        assert torch.equal(tgt_out[b, :n], symbols) and tgt_out[b, n] == DATE_EOS_ID
        assert (tgt_out[b, n + 1 :] == PAD_LABEL).all()
    assert set(src[src != DATE_PAD_ID].unique().tolist()) == set(range(COPY_FIRST_SYMBOL, COPY_FIRST_SYMBOL + 7))


def test_copy_batch_is_seeded():
    from seqlab.data import copy_batch

    one = copy_batch(16, 10, 4, 20, torch.Generator().manual_seed(3))
    two = copy_batch(16, 10, 4, 20, torch.Generator().manual_seed(3))
    other = copy_batch(16, 10, 4, 20, torch.Generator().manual_seed(4))
    assert all(torch.equal(a, b) for a, b in zip(one, two, strict=True))
    assert not torch.equal(one.src_lengths, other.src_lengths) or not torch.equal(one.src, other.src)
    fixed = copy_batch(5, 2, 6, 6, torch.Generator().manual_seed(0))
    assert fixed.src_lengths.tolist() == [6] * 5 and fixed.src.shape == (5, 6)


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((0, 10, 4, 20), ValueError, "batch_size"),
        ((8, 1, 4, 20), ValueError, "n_symbols"),
        ((8, 10, 0, 20), ValueError, "min_length"),
        ((8, 10, 21, 20), ValueError, "min_length should be at most max_length"),
        ((8, 10.0, 4, 20), TypeError, "n_symbols should be an int"),
    ],
)
def test_copy_batch_bad_arguments(args, error, words):
    from seqlab.data import copy_batch

    with pytest.raises(error, match=words):
        copy_batch(*args, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="torch.Generator"):
        copy_batch(8, 10, 4, 20, 0)


# ---------------------------------------------------------------------------------------------------------------
# Reversal (lesson 07)
# ---------------------------------------------------------------------------------------------------------------


def test_reversal_batch_shapes_targets_and_symbols():
    from seqlab.data import reversal_batch

    X, Y = reversal_batch(300, 16, 10, torch.Generator().manual_seed(0))
    assert X.shape == Y.shape == (300, 16) and X.dtype == Y.dtype == torch.long
    assert torch.equal(Y[:, 0], X[:, -1]) and torch.equal(Y[:, 5], X[:, 10])
    assert torch.equal(Y.flip(1), X)
    assert set(X.unique().tolist()) == set(range(10))
    counts = torch.bincount(X.flatten(), minlength=10).double() / X.numel()
    assert counts.min() > 0.08 and counts.max() < 0.12, "symbols are uniform"
    X1, _ = reversal_batch(3, 1, 2, torch.Generator().manual_seed(0))
    assert X1.shape == (3, 1)


def test_reversal_batch_is_seeded():
    from seqlab.data import reversal_batch

    one = reversal_batch(8, 16, 10, torch.Generator().manual_seed(5))
    two = reversal_batch(8, 16, 10, torch.Generator().manual_seed(5))
    other = reversal_batch(8, 16, 10, torch.Generator().manual_seed(6))
    assert torch.equal(one[0], two[0]) and not torch.equal(one[0], other[0])


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((0, 16, 10), ValueError, "batch_size"),
        ((4, 0, 10), ValueError, "length"),
        ((4, 16, 1), ValueError, "n_symbols should be at least 2"),
        ((4, 16.0, 10), TypeError, "length should be an int"),
    ],
)
def test_reversal_batch_bad_arguments(args, error, words):
    from seqlab.data import reversal_batch

    with pytest.raises(error, match=words):
        reversal_batch(*args, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="torch.Generator"):
        reversal_batch(4, 16, 10, None)


def _order_blind_by_enumeration(row):
    """Best accuracy of a rule token -> answer, averaged over every order of the row's multiset."""
    T = len(row)
    orders = set(itertools.permutations(row))
    right = {}
    for order in orders:
        for i in range(T):
            key = (order[i], order[T - 1 - i])
            right[key] = right.get(key, 0) + 1
    best = sum(max(n for (s, _), n in right.items() if s == token) for token in set(row))
    return best / (len(orders) * T)


@pytest.mark.parametrize(
    "row", [[0, 0, 1, 2], [0, 1, 1, 2, 2], [3, 3, 3], [0, 1], [0, 1, 2, 0, 1, 2, 2], [4, 0, 4, 0, 4, 1]]
)
def test_reversal_order_blind_accuracy_equals_enumeration(row):
    from seqlab.data import reversal_order_blind_accuracy

    assert reversal_order_blind_accuracy(torch.tensor([row])) == pytest.approx(_order_blind_by_enumeration(row))


def test_reversal_order_blind_accuracy_averages_rows_and_matches_a_counting_model():
    from seqlab.data import reversal_batch, reversal_order_blind_accuracy

    rows = torch.tensor([[0, 0, 1, 2], [3, 3, 3, 3]])
    assert reversal_order_blind_accuracy(rows) == pytest.approx((0.5 + 1.0) / 2)
    X, Y = reversal_batch(2000, 16, 10, torch.Generator().manual_seed(0))
    bound = reversal_order_blind_accuracy(X)
    assert 0.2 < bound < 0.3
    # the rule the bound describes: answer the most frequent symbol among the others (ties: smallest id)
    counts = torch.nn.functional.one_hot(X, 10).sum(dim=1, keepdim=True) - torch.nn.functional.one_hot(X, 10)
    accuracy = (counts.argmax(dim=-1) == Y).double().mean().item()
    assert abs(accuracy - bound) < 0.01


@pytest.mark.parametrize(
    "X, words",
    [
        (torch.zeros(2, 4), "int64"),
        (torch.zeros(4, dtype=torch.long), r"\(B, T\)"),
        (torch.zeros(2, 1, dtype=torch.long), "two positions"),
        (-torch.ones(2, 3, dtype=torch.long), ">= 0"),
    ],
)
def test_reversal_order_blind_accuracy_bad_arguments(X, words):
    from seqlab.data import reversal_order_blind_accuracy

    with pytest.raises(ValueError, match=words):
        reversal_order_blind_accuracy(X)
