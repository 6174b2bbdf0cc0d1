"""Seeded synthetic sequence tasks.  Nothing is downloaded: every batch is generated.

Each function takes a ``torch.Generator`` so that a notebook controls its own randomness::

    gen = torch.Generator().manual_seed(0)
    X, Y = adding_problem_batch(64, 100, gen)

All tensors are batch-first: inputs ``(B, T, D)`` float32.  Tasks with sequences of different
lengths pad them at the end and also return ``lengths`` ``(B,)`` (int64); their padded inputs are
zeros and their padded labels are ``PAD_LABEL``.
"""

from __future__ import annotations

import math

import torch

__all__ = [
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
]

#: MSE of always predicting the mean (1.0) on the adding problem: Var(U1 + U2) = 2/12 = 1/6.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} should be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} should be at least {minimum}, got {value}")
    return value


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
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("length", length)
    _check_positive_int("delay", delay)
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
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("length", length, minimum=2)
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
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("max_length", max_length)
    _check_positive_int("n_symbols", n_symbols, minimum=2)
    _check_positive_int("min_length", min_length)
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
#: the past can reach a lower expected loss; inside a word, letters are determined, so all of the
#: uncertainty sits at the first letters of words.
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
    _check_positive_int("batch_size", batch_size)
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
