"""Seeded synthetic sequence tasks.  Nothing is downloaded: every batch is generated.

Each function takes a ``torch.Generator`` so that a notebook controls its own randomness::

    gen = torch.Generator().manual_seed(0)
    X, Y = adding_problem_batch(64, 100, gen)

All tensors are batch-first: inputs ``(B, T, D)`` float32.  Tasks with sequences of different
lengths pad them at the end and also return ``lengths`` ``(B,)`` (int64); their padded inputs are
zeros and their padded labels are ``PAD_LABEL``.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import importlib.resources
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import torch

from seqlab.validate import check_int

__all__ = [
    "POEM_END",
    "QUATRAIN_FORM",
    "QUATRAIN_LENGTH",
    "QUATRAIN_SPLITS",
    "load_quatrains",
    "CharVocabulary",
    "quatrain_vocabulary",
    "quatrain_tokens",
    "is_quatrain",
    "quatrain_form_rate",
    "unigram_perplexity",
    "consecutive_batches",
    "echo_batch",
    "adding_problem_batch",
    "ADDING_BASELINE_MSE",
    "PAD_LABEL",
    "repeats_later_batch",
    "TOY_GRAMMAR",
    "TOY_ALPHABET",
    "TOY_BOS",
    "TOY_EOS",
    "TOY_ENTROPY_PER_CHAR",
    "toy_sentence",
    "toy_language_batch",
    "toy_encode",
    "toy_decode",
    "toy_is_sentence",
    "DATE_FIRST",
    "DATE_LAST",
    "DATE_PIVOT_YEAR",
    "DATE_FORMATS",
    "DATE_PAD_ID",
    "DATE_BOS_ID",
    "DATE_EOS_ID",
    "DATE_SOURCE_VOCAB",
    "DATE_TARGET_VOCAB",
    "DATE_TARGET_LENGTH",
    "format_date",
    "date_split",
    "date_source_encode",
    "date_source_decode",
    "date_target_encode",
    "date_target_decode",
    "DateExample",
    "DateBatch",
    "date_examples",
    "date_batch_from_examples",
    "date_batch",
    "DATE_OUTPUT_FIELDS",
    "date_field_spans",
    "COPY_FIRST_SYMBOL",
    "CopyBatch",
    "copy_batch",
    "reversal_batch",
    "reversal_order_blind_accuracy",
    "MEMORY_BLANK",
    "MEMORY_ALPHABET",
    "MEMORY_CUE",
    "MEMORY_VOCAB",
    "MEMORY_CHANCE_ACCURACY",
]

#: MSE of always predicting the mean (1.0) on the adding problem: Var(U1 + U2) = 2/12 = 1/6.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator should be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(generator).__name__}"
        )
    return generator


def echo_batch(
    batch_size: int, length: int, delay: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The delayed-echo task: repeat the input ``delay`` steps later.

    Inputs are random signs ``±1``; the target at step ``t`` is the input at step ``t - delay``,
    and 0 for the first ``delay`` steps.  A model that sees only the current input (no memory)
    cannot beat predicting 0, whose MSE is ``(length - delay) / length``.

    Returns:
        ``X`` ``(B, T, 1)`` and ``Y`` ``(B, T, 1)``, float32.
    """
    check_int("batch_size", batch_size)
    check_int("length", length)
    check_int("delay", delay)
    if delay >= length:
        raise ValueError(f"delay should be smaller than length, got delay={delay}, length={length}")
    _check_generator(generator)
    signs = torch.randint(0, 2, (batch_size, length, 1), generator=generator).float() * 2 - 1
    targets = torch.zeros_like(signs)
    targets[:, delay:] = signs[:, :-delay]
    return signs, targets


def adding_problem_batch(batch_size: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015).

    Each step carries two numbers: a value drawn uniformly from ``[0, 1)`` and a marker.  Exactly two
    markers are 1, one in the first half of the sequence and one in the second; the target is the
    sum of the two marked values.  Predicting the mean (1.0) scores ``ADDING_BASELINE_MSE = 1/6``.

    Returns:
        ``X`` ``(B, T, 2)`` (channel 0 values, channel 1 markers) and ``Y`` ``(B, 1)``, float32.
    """
    check_int("batch_size", batch_size)
    check_int("length", length, minimum=2)
    _check_generator(generator)
    values = torch.rand(batch_size, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)
    second = torch.randint(half, length, (batch_size,), generator=generator)
    markers = torch.zeros(batch_size, length)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = torch.stack([values, markers], dim=-1)
    Y = (values * markers).sum(dim=1, keepdim=True)
    return X, Y


#: Label of padded steps: ``torch.nn.functional.cross_entropy`` ignores it by default (``ignore_index``).
PAD_LABEL = -100


def _check_lengths_range(min_length: int, max_length: int) -> None:
    if min_length > max_length:
        raise ValueError(
            f"min_length should be at most max_length, got min_length={min_length}, max_length={max_length}"
        )


def repeats_later_batch(
    batch_size: int, max_length: int, n_symbols: int, generator: torch.Generator, min_length: int = 1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sequence labelling that needs the future: "will this symbol appear again later?".

    Each sequence ``b`` has a length ``lengths[b]`` drawn uniformly from ``min_length … max_length`` and
    symbols drawn uniformly from ``0 … n_symbols - 1``.  The label at a step ``t < lengths[b]`` is 1 if
    the symbol at ``t`` occurs again at a later step of the same sequence (before its end), else 0.
    Example with 3 symbols: the sequence ``0 2 1 2 0`` is labelled ``1 1 0 0 0``.

    The label depends only on what comes *after* step ``t``, so a left-to-right model can do no better
    than guessing from the position; a model that reads the sequence backwards solves it.

    Returns:
        ``X`` ``(B, T, n_symbols)`` one-hot float32, zeros at padded steps, with ``T = max_length``;
        ``Y`` ``(B, T)`` int64 labels, ``PAD_LABEL`` at padded steps;
        ``lengths`` ``(B,)`` int64.
    """
    check_int("batch_size", batch_size)
    check_int("max_length", max_length)
    check_int("n_symbols", n_symbols, minimum=2)
    check_int("min_length", min_length)
    _check_lengths_range(min_length, max_length)
    _check_generator(generator)
    T = max_length
    tokens = torch.randint(0, n_symbols, (batch_size, T), generator=generator)
    lengths = torch.randint(min_length, max_length + 1, (batch_size,), generator=generator)
    steps = torch.arange(T)
    valid = steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
    same = tokens.unsqueeze(2) == tokens.unsqueeze(1)  # (B, t, s): symbol at t equals symbol at s
    later = steps.unsqueeze(1) < steps.unsqueeze(0)  # (t, s): s comes after t
    Y = (same & later & valid.unsqueeze(1)).any(dim=2).long()
    Y[~valid] = PAD_LABEL
    X = torch.nn.functional.one_hot(tokens, n_symbols).float() * valid.unsqueeze(-1)
    return X, Y, lengths


#: The toy language: a sentence is one word from each group, in order, chosen uniformly, e.g.
#: "red fox sleeps."  (4 x 4 x 4 = 64 sentences, all equally likely).
TOY_GRAMMAR = (
    ("big", "small", "red", "old"),
    ("cat", "dog", "fox", "bird"),
    ("runs", "sleeps", "eats", "sings"),
)
#: Marks the start of a sentence (the first input) and its end (the last target).
TOY_BOS, TOY_EOS = "^", "$"
#: Every character of the toy language; a character's index is its id.
TOY_ALPHABET = TOY_BOS + TOY_EOS + " ." + "".join(sorted({c for group in TOY_GRAMMAR for w in group for c in w}))
_TOY_IDS = {c: i for i, c in enumerate(TOY_ALPHABET)}


def _toy_entropy_per_char() -> float:
    """Nats per predicted character of the best model that reads only the past (see TOY_ENTROPY_PER_CHAR)."""
    choices = sum(math.log(len(group)) for group in TOY_GRAMMAR)
    # predicted characters per sentence: the words, the spaces between them, "." and the end mark
    mean_chars = sum(sum(len(w) for w in group) / len(group) for group in TOY_GRAMMAR) + len(TOY_GRAMMAR) + 1
    return choices / mean_chars


#: The toy language's entropy per predicted character, in nats: every sentence carries ln 64 nats of
#: choice, spread over 15.5 predicted characters on average.  No next-character model that reads only
#: the past can reach a lower expected loss.  All of the uncertainty sits where a word is chosen: at its first
#: letter, and for "sleeps" and "sings" (the same first letter) also at the second.
TOY_ENTROPY_PER_CHAR = _toy_entropy_per_char()


def toy_sentence(generator: torch.Generator) -> str:
    """One sentence of the toy language, e.g. ``"red fox sleeps."`` (without start and end marks)."""
    _check_generator(generator)
    words = [group[int(torch.randint(0, len(group), (1,), generator=generator))] for group in TOY_GRAMMAR]
    return " ".join(words) + "."


def toy_encode(text: str) -> torch.Tensor:
    """Character ids ``(len(text),)`` int64 of a string over ``TOY_ALPHABET``."""
    if not isinstance(text, str):
        raise TypeError(f"text should be a str, got {type(text).__name__}")
    unknown = sorted(set(text) - set(TOY_ALPHABET))
    if unknown:
        raise ValueError(f"characters not in TOY_ALPHABET: {unknown!r}")
    return torch.tensor([_TOY_IDS[c] for c in text], dtype=torch.long)


def toy_decode(ids: torch.Tensor | list[int]) -> str:
    """The string of a sequence of character ids (a 1-D tensor or a list of ints)."""
    values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    if any(isinstance(i, list) for i in values):
        raise ValueError("ids should be one-dimensional: decode one sequence at a time")
    bad = [i for i in values if not (isinstance(i, int) and 0 <= i < len(TOY_ALPHABET))]
    if bad:
        raise ValueError(f"ids should be ints from 0 to {len(TOY_ALPHABET) - 1}, got {bad[:5]!r}")
    return "".join(TOY_ALPHABET[i] for i in values)


def toy_is_sentence(text: str) -> bool:
    """True if ``text`` is exactly one sentence of the toy language, e.g. ``"old cat runs."``."""
    if not isinstance(text, str) or not text.endswith("."):
        return False
    words = text[:-1].split(" ")
    return len(words) == len(TOY_GRAMMAR) and all(w in group for w, group in zip(words, TOY_GRAMMAR, strict=True))


def toy_language_batch(batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch for a next-character model of the toy language: one sentence per row, padded.

    Row ``b`` reads ``"^" + sentence`` and must predict ``sentence + "$"``: the target at step ``t`` is
    the input at step ``t + 1`` (and the end mark after the last character).  For ``"old cat runs."``
    the inputs are ``^old cat runs.`` and the targets ``old cat runs.$`` (14 steps).

    Returns:
        ``X`` ``(B, T, len(TOY_ALPHABET))`` one-hot float32, zeros at padded steps;
        ``Y`` ``(B, T)`` int64 target character ids, ``PAD_LABEL`` at padded steps;
        ``lengths`` ``(B,)`` int64; ``T`` is the longest row's length.
    """
    check_int("batch_size", batch_size)
    _check_generator(generator)
    rows = [toy_encode(TOY_BOS + toy_sentence(generator) + TOY_EOS) for _ in range(batch_size)]
    lengths = torch.tensor([len(row) - 1 for row in rows], dtype=torch.long)
    T = int(lengths.max())
    X = torch.zeros(batch_size, T, len(TOY_ALPHABET))
    Y = torch.full((batch_size, T), PAD_LABEL, dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row) - 1
        X[b, torch.arange(n), row[:-1]] = 1.0
        Y[b, :n] = row[1:]
    return X, Y, lengths


# ---------------------------------------------------------------------------------------------------------------
# Human-readable dates -> ISO dates (lesson 06: attention and sequence-to-sequence)
# ---------------------------------------------------------------------------------------------------------------

#: First and last date of the date task.  Two-digit years use the pivot ``DATE_PIVOT_YEAR``: ``yy < 50`` means
#: ``20yy`` and ``yy >= 50`` means ``19yy``, so every two-digit year names exactly one year of this range.
DATE_FIRST = datetime.date(1950, 1, 1)
DATE_LAST = datetime.date(2049, 12, 31)
DATE_PIVOT_YEAR = 50

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


#: The formats of the date task: ``(name, example for 3 March 2021, function date -> str)``.  Each string
#: determines exactly one date: slashes with a two-digit year are always US month/day/year, dots always
#: European day.month.year, a four-digit year first always year, month, day.
DATE_FORMATS: tuple[tuple[str, str, Callable[[datetime.date], str]], ...] = (
    ("d Month yyyy", "3 March 2021", lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}"),
    ("Wkd, Mon d, yyyy", "Wed, Mar 3, 2021",
     lambda d: f"{_WEEKDAYS[d.weekday()][:3]}, {_MONTHS[d.month - 1][:3]} {d.day}, {d.year}"),
    ("mm/dd/yy (US)", "03/03/21", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}"),
    ("yyyy年m月d日", "2021年3月3日", lambda d: f"{d.year}年{d.month}月{d.day}日"),
    ("dd.mm.yyyy (European)", "03.03.2021", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}"),
    ("Month d, yyyy", "March 3, 2021", lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"),
    ("d mon yyyy (lowercase)", "3 mar 2021", lambda d: f"{d.day} {_MONTHS[d.month - 1][:3].lower()} {d.year}"),
    ("WEEKDAY D MONTH YYYY (uppercase)", "WEDNESDAY 3 MARCH 2021",
     lambda d: f"{_WEEKDAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}".upper()),
    ("yyyy/mm/dd", "2021/03/03", lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}"),
    ("yyyymmdd", "20210303", lambda d: f"{d.year}{d.month:02d}{d.day:02d}"),
    ("dd-Mon-yyyy", "03-Mar-2021", lambda d: f"{d.day:02d}-{_MONTHS[d.month - 1][:3]}-{d.year}"),
    ("Weekday, d Month yyyy", "Wednesday, 3 March 2021",
     lambda d: f"{_WEEKDAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}"),
    ("dd Mon yy", "03 Mar 21", lambda d: f"{d.day:02d} {_MONTHS[d.month - 1][:3]} {d.year % 100:02d}"),
    ("the dth of month, yyyy", "the 3rd of march, 2021",
     lambda d: f"the {_ordinal(d.day)} of {_MONTHS[d.month - 1].lower()}, {d.year}"),
)  # fmt: skip

#: Padding id, in both vocabularies: padded source steps hold it (and ``tgt_in`` would).
DATE_PAD_ID = 0
#: Source vocabulary: padding, then every character any format can produce (letters, digits, punctuation,
#: and the CJK characters 年, 月, 日).  A token's index is its id.
DATE_SOURCE_VOCAB: tuple[str, ...] = ("<pad>",) + tuple(
    sorted(
        {c for name in _MONTHS for c in name + name.upper() + name.lower()}
        | {c for name in _WEEKDAYS for c in name + name.upper()}
        | set("0123456789 ,./-年月日")
    )
)
#: Target vocabulary: padding, start mark, end mark, then the characters of an ISO date.
DATE_TARGET_VOCAB: tuple[str, ...] = ("<pad>", "<bos>", "<eos>", "-", *"0123456789")
DATE_BOS_ID, DATE_EOS_ID = 1, 2
#: Length of an encoded target: ``YYYY-MM-DD`` (10 characters) and the end mark.
DATE_TARGET_LENGTH = 11
_SOURCE_IDS = {c: i for i, c in enumerate(DATE_SOURCE_VOCAB)}
_TARGET_IDS = {c: i for i, c in enumerate(DATE_TARGET_VOCAB)}


def _check_date(value: object, name: str = "date") -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise TypeError(f"{name} should be a datetime.date, got {type(value).__name__}")
    if not DATE_FIRST <= value <= DATE_LAST:
        raise ValueError(f"{name} should be between {DATE_FIRST} and {DATE_LAST}, got {value}")
    return value


def _check_format_index(fmt: object) -> int:
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise TypeError(f"fmt should be an int (an index into DATE_FORMATS), got {type(fmt).__name__}")
    if not 0 <= fmt < len(DATE_FORMATS):
        raise ValueError(f"fmt should be from 0 to {len(DATE_FORMATS) - 1} (an index into DATE_FORMATS), got {fmt}")
    return fmt


def format_date(date: datetime.date, fmt: int) -> str:
    """``date`` written in format ``DATE_FORMATS[fmt]``, e.g. ``format_date(datetime.date(2021, 3, 3), 3)``
    is ``"2021年3月3日"``.  Month and weekday names are English whatever the machine's locale."""
    _check_date(date)
    _check_format_index(fmt)
    return DATE_FORMATS[fmt][2](date)


def date_split(seed: int = 0, heldout_fraction: float = 0.2) -> tuple[list[datetime.date], list[datetime.date]]:
    """Split every date from ``DATE_FIRST`` to ``DATE_LAST`` (36,525 days) into training and held-out dates.

    The split is by *date*: a held-out date never appears in training, in any format.  Both lists are sorted.

    Args:
        seed: seeds the random split (the same seed always gives the same split).
        heldout_fraction: share of the dates held out, strictly between 0 and 1.

    Returns:
        ``(train_dates, heldout_dates)``.
    """
    check_int("seed", seed, minimum=None)
    if isinstance(heldout_fraction, bool) or not isinstance(heldout_fraction, (int, float)):
        raise TypeError(f"heldout_fraction should be a float, got {type(heldout_fraction).__name__}")
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"heldout_fraction should be strictly between 0 and 1, got {heldout_fraction}")
    n_days = (DATE_LAST - DATE_FIRST).days + 1
    order = torch.randperm(n_days, generator=torch.Generator().manual_seed(seed))
    n_heldout = max(1, round(n_days * heldout_fraction))
    heldout = sorted(int(i) for i in order[:n_heldout])
    train = sorted(int(i) for i in order[n_heldout:])
    day = datetime.timedelta(days=1)
    return [DATE_FIRST + i * day for i in train], [DATE_FIRST + i * day for i in heldout]


def date_source_encode(text: str) -> torch.Tensor:
    """Source ids ``(len(text),)`` int64 of a date string over ``DATE_SOURCE_VOCAB`` (one id per character)."""
    if not isinstance(text, str):
        raise TypeError(f"text should be a str, got {type(text).__name__}")
    unknown = sorted(set(text) - set(DATE_SOURCE_VOCAB[1:]))
    if unknown:
        raise ValueError(f"characters not in DATE_SOURCE_VOCAB: {unknown!r}")
    return torch.tensor([_SOURCE_IDS[c] for c in text], dtype=torch.long)


def date_source_decode(ids: torch.Tensor | list[int]) -> str:
    """The string of a sequence of source ids (1-D tensor or list); padding ids are dropped."""
    values = _one_sequence(ids, len(DATE_SOURCE_VOCAB))
    return "".join(DATE_SOURCE_VOCAB[i] for i in values if i != DATE_PAD_ID)


def date_target_encode(iso: str) -> torch.Tensor:
    """Target ids ``(DATE_TARGET_LENGTH,)`` int64 of an ISO date ``"YYYY-MM-DD"``: its 10 characters, then the
    end mark."""
    if not isinstance(iso, str):
        raise TypeError(f"iso should be a str, got {type(iso).__name__}")
    try:
        valid = len(iso) == 10 and datetime.date.fromisoformat(iso).isoformat() == iso
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"iso should be an ISO date 'YYYY-MM-DD', got {iso!r}")
    return torch.tensor([_TARGET_IDS[c] for c in iso] + [DATE_EOS_ID], dtype=torch.long)


def date_target_decode(ids: torch.Tensor | list[int]) -> str:
    """The string a model wrote: target ids (1-D tensor or list) up to the first end mark.

    A start mark at the beginning and padding are dropped; special tokens elsewhere are kept as ``<bos>`` /
    ``<pad>`` so that a wrong output never decodes to a right date.
    """
    values = _one_sequence(ids, len(DATE_TARGET_VOCAB))
    if values and values[0] == DATE_BOS_ID:
        values = values[1:]
    if DATE_EOS_ID in values:
        values = values[: values.index(DATE_EOS_ID)]
    return "".join(DATE_TARGET_VOCAB[i] for i in values)


def _one_sequence(ids: torch.Tensor | list[int], vocab_size: int) -> list[int]:
    values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    if any(isinstance(i, list) for i in values):
        raise ValueError("ids should be one-dimensional: decode one sequence at a time")
    bad = [i for i in values if isinstance(i, bool) or not (isinstance(i, int) and 0 <= i < vocab_size)]
    if bad:
        raise ValueError(f"ids should be ints from 0 to {vocab_size - 1}, got {bad[:5]!r}")
    return values


class DateExample(NamedTuple):
    """One example of the date task: the source string, its ISO date and the index of its format."""

    text: str
    iso: str
    fmt: int


class DateBatch(NamedTuple):
    """A padded batch of the date task (every tensor int64).

    Attributes:
        src: ``(B, S)`` source ids, ``DATE_PAD_ID`` after each row's end; ``S`` is the longest row.
        src_lengths: ``(B,)`` number of source characters in each row.
        tgt_in: ``(B, DATE_TARGET_LENGTH)`` decoder inputs for teacher forcing: the start mark, then the date.
        tgt_out: ``(B, DATE_TARGET_LENGTH)`` targets: the date, then the end mark (``tgt_in`` shifted by one).
        formats: ``(B,)`` index into ``DATE_FORMATS`` of each row's format.
    """

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    formats: torch.Tensor


def date_examples(
    dates: Sequence[datetime.date], n: int, generator: torch.Generator, formats: Sequence[int] | None = None
) -> list[DateExample]:
    """``n`` examples: each a date drawn uniformly from ``dates`` written in a format drawn uniformly from
    ``formats`` (default: all of ``DATE_FORMATS``)."""
    check_int("n", n)
    _check_generator(generator)
    _check_dates(dates)
    fmts = list(range(len(DATE_FORMATS))) if formats is None else [_check_format_index(f) for f in formats]
    if not fmts:
        raise ValueError("formats is empty: pass at least one index into DATE_FORMATS (or None for all)")
    which = torch.randint(0, len(dates), (n,), generator=generator).tolist()
    for i in which:  # only the dates drawn are checked: a batch costs the same from 10 dates or 30,000
        _check_date(dates[i], f"dates[{i}]")
    how = torch.randint(0, len(fmts), (n,), generator=generator).tolist()
    return [
        DateExample(format_date(dates[i], fmts[f]), dates[i].isoformat(), fmts[f])
        for i, f in zip(which, how, strict=True)
    ]


def _check_dates(dates: object) -> None:
    if isinstance(dates, (str, bytes)) or not isinstance(dates, Sequence):
        raise TypeError(f"dates should be a list of datetime.date (e.g. from date_split), got {type(dates).__name__}")
    if not dates:
        raise ValueError("dates is empty")


def date_batch_from_examples(examples: Sequence[DateExample]) -> DateBatch:
    """Encode and pad a list of :class:`DateExample` into a :class:`DateBatch` (rows in the same order)."""
    if isinstance(examples, DateExample) or not isinstance(examples, Sequence) or not examples:
        raise TypeError("examples should be a non-empty list of DateExample (e.g. from date_examples)")
    for index, example in enumerate(examples):
        if not isinstance(example, DateExample):
            raise TypeError(f"examples[{index}] should be a DateExample, got {type(example).__name__}")
    sources = [date_source_encode(e.text) for e in examples]
    lengths = torch.tensor([len(s) for s in sources], dtype=torch.long)
    src = torch.full((len(examples), int(lengths.max())), DATE_PAD_ID, dtype=torch.long)
    for b, s in enumerate(sources):
        src[b, : len(s)] = s
    tgt_out = torch.stack([date_target_encode(e.iso) for e in examples])
    tgt_in = torch.cat([torch.full((len(examples), 1), DATE_BOS_ID, dtype=torch.long), tgt_out[:, :-1]], dim=1)
    formats = torch.tensor([e.fmt for e in examples], dtype=torch.long)
    return DateBatch(src, lengths, tgt_in, tgt_out, formats)


def date_batch(
    dates: Sequence[datetime.date], batch_size: int, generator: torch.Generator, formats: Sequence[int] | None = None
) -> DateBatch:
    """A padded batch of ``batch_size`` random examples from ``dates`` (see :func:`date_examples`).

    ::

        train_dates, heldout_dates = date_split(seed=0)
        src, src_lengths, tgt_in, tgt_out, formats = date_batch(train_dates, 64, gen)
    """
    return date_batch_from_examples(date_examples(dates, batch_size, generator, formats))


# Order of the numeric fields (runs of digits) in each format; a month written as a word is found by name.
_DIGIT_FIELDS = ("dy", "dy", "mdy", "ymd", "dmy", "dy", "dy", "dy", "ymd", "ymd", "dy", "dy", "dy", "dy")
_MONTH_WORDS = {m.lower() for m in _MONTHS} | {m[:3].lower() for m in _MONTHS}
#: Output positions of each field in the target ``YYYY-MM-DD<eos>`` (step ``t`` of the decoder writes ``tgt_out[t]``).
DATE_OUTPUT_FIELDS: dict[str, range] = {"year": range(0, 4), "month": range(5, 7), "day": range(8, 10)}


def date_field_spans(text: str, fmt: int) -> dict[str, range]:
    """Where the day, month and year are written in ``text`` (a date in format ``DATE_FORMATS[fmt]``).

    Returns ``{"year": range, "month": range, "day": range}`` of character positions in ``text``: the digits of a
    numeric field (without an ordinal suffix such as "rd"), or the month's word ("March", "mar", "MARCH").
    Weekday names belong to no field.  Example: ``date_field_spans("3 March 2021", 0)`` is
    ``{"day": range(0, 1), "month": range(2, 7), "year": range(8, 12)}``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text should be a str, got {type(text).__name__}")
    _check_format_index(fmt)
    digits = [m.span() for m in re.finditer(r"\d+", text)]
    if fmt == 9 and len(digits) == 1 and digits[0][1] - digits[0][0] == 8:  # yyyymmdd: one run, split 4 + 2 + 2
        start = digits[0][0]
        digits = [(start, start + 4), (start + 4, start + 6), (start + 6, start + 8)]
    order = _DIGIT_FIELDS[fmt]
    months = [m.span() for m in re.finditer(r"[A-Za-z]+", text) if m.group().lower() in _MONTH_WORDS]
    if len(digits) != len(order) or ("m" not in order and len(months) != 1):
        raise ValueError(f"text {text!r} is not a date in format {fmt} ({DATE_FORMATS[fmt][0]!r})")
    names = {"d": "day", "m": "month", "y": "year"}
    spans = {names[c]: range(*span) for c, span in zip(order, digits, strict=True)}
    if "m" not in order:
        spans["month"] = range(*months[0])
    return {field: spans[field] for field in ("year", "month", "day")}


# ---------------------------------------------------------------------------------------------------------------
# Copying a symbol string (lesson 06): a sequence-to-sequence task whose information grows with its length
# ---------------------------------------------------------------------------------------------------------------

#: Id of the first symbol of the copy task: ids 0, 1 and 2 are the padding, start and end marks, as in the date
#: task (``DATE_PAD_ID``, ``DATE_BOS_ID``, ``DATE_EOS_ID``), so one encoder-decoder serves both tasks.
COPY_FIRST_SYMBOL = 3


class CopyBatch(NamedTuple):
    """A padded batch of the copy task (every tensor int64); the fields mean what they mean in ``DateBatch``.

    Attributes:
        src: ``(B, S)`` symbol ids ``COPY_FIRST_SYMBOL ...``, ``DATE_PAD_ID`` after each row's end; ``S`` is the
            longest row.
        src_lengths: ``(B,)`` number of symbols in each row.
        tgt_in: ``(B, S + 1)`` decoder inputs for teacher forcing: the start mark, the row's symbols, then padding.
        tgt_out: ``(B, S + 1)`` targets: the row's symbols, the end mark, then ``PAD_LABEL`` (ignored by the loss).
    """

    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor


def copy_batch(
    batch_size: int, n_symbols: int, min_length: int, max_length: int, generator: torch.Generator
) -> CopyBatch:
    """Strings of ``min_length`` to ``max_length`` symbols (lengths and symbols uniform) to be copied as they are.

    Unlike a date, whose dozen or so characters of information stay the same however long it is written, a
    string of ``L`` random symbols carries ``L log2(n_symbols)`` bits: a decoder that only sees the encoder's
    last state must squeeze all of them into it.

    ::

        src, src_lengths, tgt_in, tgt_out = copy_batch(64, 10, 4, 20, gen)
        # src[0] = [7, 3, 12, 5, 0, ...] (length 4): tgt_in[0] = [1, 7, 3, 12, 5, 0, ...],
        # tgt_out[0] = [7, 3, 12, 5, 2, -100, ...]

    Returns:
        A ``CopyBatch``; symbols are ids ``COPY_FIRST_SYMBOL`` to ``COPY_FIRST_SYMBOL + n_symbols - 1``, so a model
        needs ``COPY_FIRST_SYMBOL + n_symbols`` ids in its source and target vocabularies.
    """
    check_int("batch_size", batch_size)
    check_int("n_symbols", n_symbols, minimum=2)
    check_int("min_length", min_length)
    check_int("max_length", max_length)
    _check_lengths_range(min_length, max_length)
    _check_generator(generator)
    lengths = torch.randint(min_length, max_length + 1, (batch_size,), generator=generator)
    longest = int(lengths.max())
    symbols = torch.randint(
        COPY_FIRST_SYMBOL, COPY_FIRST_SYMBOL + n_symbols, (batch_size, longest), generator=generator
    )
    real = torch.arange(longest).unsqueeze(0) < lengths.unsqueeze(1)  # (B, S) True on a symbol
    src = torch.where(real, symbols, DATE_PAD_ID)
    rows = torch.arange(batch_size)
    tgt_in = torch.full((batch_size, longest + 1), DATE_PAD_ID, dtype=torch.long)
    tgt_in[:, 0] = DATE_BOS_ID
    tgt_in[:, 1:] = src
    tgt_out = torch.full((batch_size, longest + 1), PAD_LABEL, dtype=torch.long)
    tgt_out[:, :longest] = torch.where(real, symbols, PAD_LABEL)
    tgt_out[rows, lengths] = DATE_EOS_ID
    return CopyBatch(src, lengths, tgt_in, tgt_out)


# ---------------------------------------------------------------------------------------------------------------
# Reversing a symbol string (lesson 07): a task that is all about positions
# ---------------------------------------------------------------------------------------------------------------


def reversal_batch(
    batch_size: int, length: int, n_symbols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Strings of ``length`` symbols drawn uniformly from ``0 … n_symbols - 1``, to be written backwards.

    The target at position ``t`` is the input at position ``length - 1 - t``: the symbols are easy, *where* to
    look is everything.  ``X = [[3, 1, 4, 1]]`` gives ``Y = [[1, 4, 1, 3]]``.

    Returns:
        ``X`` ``(B, T)`` and ``Y = X.flip(1)`` ``(B, T)``, int64 symbol ids, ``T = length``.
    """
    check_int("batch_size", batch_size)
    check_int("length", length)
    check_int("n_symbols", n_symbols, minimum=2)
    _check_generator(generator)
    X = torch.randint(0, n_symbols, (batch_size, length), generator=generator)
    return X, X.flip(1)


def reversal_order_blind_accuracy(X: torch.Tensor) -> float:
    """The best expected token accuracy at reversing ``X`` of any model that cannot tell positions apart.

    A model that sees a sequence only as a multiset of tokens (self-attention without positional encoding and
    without a mask is one: it is permutation-equivariant) gives every position that holds the same token the same
    output.  Knowing the multiset, the target of a position holding ``s`` is the token at the mirrored position,
    which, over all orders of that multiset, is any of the *other* tokens with equal probability (for an odd
    length, the middle position is its own mirror).  The best such model answers the most frequent of them; this
    returns its expected accuracy, exactly, averaged over the rows of ``X``.  For ``T = 16`` and 10 symbols it is
    about 0.24, above the 0.1 of guessing but far from reversing: counting symbols is all a position-blind model
    can do.  A trained model's accuracy on one batch can exceed it only by sampling noise.

    Args:
        X: ``(B, T)`` int64 input tokens (e.g. from :func:`reversal_batch`), ``T >= 2``.

    Returns:
        A float in ``[0, 1]``.
    """
    if not isinstance(X, torch.Tensor) or X.dim() != 2 or X.dtype != torch.long:
        raise ValueError(
            f"X should be a (B, T) int64 tensor of tokens, got "
            f"{getattr(X, 'dtype', type(X).__name__)} {tuple(getattr(X, 'shape', ()))}"
        )
    B, T = X.shape
    if T < 2 or B < 1:
        raise ValueError(f"X should have at least one row and two positions, got shape {(B, T)}")
    if int(X.min()) < 0:
        raise ValueError("X should hold token ids >= 0")
    mirrored_pairs = 2 * (T // 2)  # ordered pairs (i, T-1-i) with i != T-1-i
    total = 0.0
    for row in X:
        counts = torch.bincount(row).double()  # (V,)
        present = counts > 0
        # expected number of right answers when every position holding s answers u:
        # pairs * c_s * (c_u - [u == s]) / (T (T - 1))  +  [T odd] * [u == s] * c_s / T
        same = torch.eye(len(counts), dtype=torch.float64)
        right = mirrored_pairs * counts[:, None] * (counts[None, :] - same) / (T * (T - 1))
        right += (T % 2) * same * counts[:, None] / T
        total += float(right[present].max(dim=1).values.sum()) / T
    return total / B


# ---------------------------------------------------------------------------------------------------------------
# The copy-memory task (lesson 10): token ids shared by the student's copy_memory_batch and the showdown
# ---------------------------------------------------------------------------------------------------------------

#: Token id of a blank: the delay, the answer slots of the input, and every target before the answer.
MEMORY_BLANK = 0
#: Number of symbols to remember; the symbols are the ids ``1 … MEMORY_ALPHABET``.
MEMORY_ALPHABET = 8
#: Token id of the cue that asks for the symbols back.
MEMORY_CUE = 9
#: Size of the copy-memory vocabulary: the blank, the symbols and the cue (ids ``0 … 9``).
MEMORY_VOCAB = 10
#: Accuracy on the answer positions of a model without memory: symbols are uniform, so guessing any one scores 1/8.
MEMORY_CHANCE_ACCURACY = 1 / MEMORY_ALPHABET


# ---------------------------------------------------------------------------------------------------------------
# Five-character quatrains of the Complete Tang Poems (lesson 08): a character corpus with a form you can count
# ---------------------------------------------------------------------------------------------------------------

#: The character that ends every poem of the token stream (id 0 of :func:`quatrain_vocabulary`).
POEM_END = "\n"
#: A quatrain (五言绝句): four lines of five characters, a comma after the first and third, a full stop after the
#: second and fourth: 24 characters.
QUATRAIN_FORM = re.compile(r"[^，。\n]{5}，[^，。\n]{5}。[^，。\n]{5}，[^，。\n]{5}。")
#: Characters in one quatrain, punctuation included.
QUATRAIN_LENGTH = 24
QUATRAIN_SPLITS = ("train", "valid")


def load_quatrains(split: str) -> list[str]:
    """The quatrains of one split, ``"train"`` (3337 poems) or ``"valid"`` (370), each a 24-character string.

    Shipped in ``seqlab/quatrains/`` (made once by ``seqlab quatrains`` from the MIT-licensed npm package
    ``chinese-poetry`` 2.0.1; see its ``SOURCE.md``); nothing is downloaded.
    """
    if split not in QUATRAIN_SPLITS:
        raise ValueError(f"split should be one of {QUATRAIN_SPLITS}, got {split!r}")
    text = importlib.resources.files("seqlab").joinpath("quatrains", f"{split}.txt").read_text(encoding="utf-8")
    return text.splitlines()


@dataclasses.dataclass(frozen=True)
class CharVocabulary:
    """Characters as tokens: ``itos[i]`` is the character of id ``i``; ``POEM_END`` is id 0."""

    itos: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stoi", {ch: i for i, ch in enumerate(self.itos)})

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> torch.Tensor:
        """``(len(text),)`` int64 ids; a character outside the vocabulary raises ``KeyError`` naming it."""
        stoi = self._stoi  # type: ignore[attr-defined]
        missing = sorted({ch for ch in text if ch not in stoi})
        if missing:
            raise KeyError(f"characters not in the vocabulary: {''.join(missing[:20])!r}")
        return torch.tensor([stoi[ch] for ch in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The characters of a 1-D sequence of ids."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode takes a 1-D sequence of ids, got shape {tuple(ids.shape)}")
            ids = ids.tolist()
        return "".join(self.itos[i] for i in ids)


@functools.cache
def quatrain_vocabulary() -> CharVocabulary:
    """Every character of both splits (sorted by code point) after ``POEM_END``: 3730 tokens."""
    chars = sorted({ch for split in QUATRAIN_SPLITS for poem in load_quatrains(split) for ch in poem})
    return CharVocabulary((POEM_END, *chars))


def quatrain_tokens(split: str) -> torch.Tensor:
    """The split as one stream of ids, ``(25 * n_poems + 1,)`` int64: ``POEM_END`` before and after every poem."""
    return quatrain_vocabulary().encode(POEM_END + "".join(poem + POEM_END for poem in load_quatrains(split)))


def is_quatrain(text: str) -> bool:
    """True when ``text`` is exactly one quatrain in form: 4 lines of 5 characters, punctuation ，。，。 in place."""
    return QUATRAIN_FORM.fullmatch(text) is not None


def quatrain_form_rate(texts: Sequence[str]) -> float:
    """The share of ``texts`` that are quatrains in form (:func:`is_quatrain`); 0.0 for no texts."""
    if isinstance(texts, str):
        raise TypeError("quatrain_form_rate takes a list of texts, got one string")
    return sum(is_quatrain(t) for t in texts) / len(texts) if len(texts) else 0.0


def unigram_perplexity(train: torch.Tensor, valid: torch.Tensor, vocab_size: int) -> float:
    """Perplexity on ``valid`` of token frequencies counted on ``train`` (add-one smoothed): the baseline that
    knows which characters are common and nothing about order."""
    counts = torch.bincount(train, minlength=vocab_size).double() + 1.0
    log_p = (counts / counts.sum()).log()
    return math.exp(-log_p[valid].mean().item())


def consecutive_batches(
    tokens: torch.Tensor, batch_size: int, block_size: int, cycle: bool = True
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Windows for truncated BPTT: row ``b`` of each batch continues row ``b`` of the batch before.

    The stream is cut into ``batch_size`` consecutive pieces of ``n = (N - 1) // batch_size`` tokens, one per row,
    and each piece is walked through in windows of ``block_size``: batch ``i`` is
    ``X[:, i*block_size : (i+1)*block_size]`` of the pieces, ``Y`` the same shifted by one token.  With ``cycle``
    the walk starts again at the beginning after the last whole window (forever), else it stops there.

    Args:
        tokens: (N,) int64 stream.
        batch_size: B, the number of pieces.
        block_size: T, the window length; each piece must hold at least one window.

    Yields:
        (X, Y), both (B, T) int64.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 1 or tokens.dtype != torch.long:
        raise ValueError("tokens should be a 1-D int64 tensor")
    check_int("batch_size", batch_size)
    check_int("block_size", block_size)
    per_row = (len(tokens) - 1) // batch_size
    windows = per_row // block_size
    if windows < 1:
        raise ValueError(f"{len(tokens)} tokens in {batch_size} rows hold no window of {block_size}")
    X_all = tokens[: per_row * batch_size].view(batch_size, per_row)
    Y_all = tokens[1 : per_row * batch_size + 1].view(batch_size, per_row)
    while True:
        for i in range(windows):
            span = slice(i * block_size, (i + 1) * block_size)
            yield X_all[:, span], Y_all[:, span]
        if not cycle:
            return
