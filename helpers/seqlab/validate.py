"""Checks of the arguments the course's functions take: one validator per kind of argument.

The messages are what a student reads when a call is wrong, and tests match them, so each wording that the
package uses stays reachable (``expected=`` below) rather than being replaced by one new sentence.
"""

from __future__ import annotations

__all__ = ["check_int"]


def check_int(
    name: str, value: object, minimum: int | None = 1, maximum: int | None = None, *, expected: str | None = None
) -> int:
    """``value`` unchanged if it is an int (``True``/``False`` are not) from ``minimum`` to ``maximum``.

    Otherwise it raises an error naming the argument, in one of two wordings:

    - without ``expected``: ``TypeError("<name> should be an int, got <type>")`` for a value that is not an int,
      ``ValueError("<name> should be at least <minimum>, got <value>")`` (or ``at most <maximum>``) for one out of
      range, e.g. ``batch_size should be at least 1, got 0``;
    - with ``expected``: ``ValueError("<name> should be <expected>, got <value!r>")`` for either, e.g.
      ``check_int("hidden_size", h, expected="a positive int")`` says ``hidden_size should be a positive int, got
      0.5``.  ``expected`` describes the same bounds as ``minimum`` and ``maximum`` (which do the checking).

    Args:
        name: the argument's name, as the caller wrote it.
        value: what was passed.
        minimum: the smallest value allowed (default 1: a positive int); None for no lower bound.
        maximum: the largest value allowed; None (the default) for no upper bound.
        expected: the words for what the argument should be, which makes every failure a ``ValueError``.

    Returns:
        ``value``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        if expected is not None:
            raise ValueError(f"{name} should be {expected}, got {value!r}")
        raise TypeError(f"{name} should be an int, got {type(value).__name__}")
    too_small = minimum is not None and value < minimum
    too_large = maximum is not None and value > maximum
    if expected is not None and (too_small or too_large):
        raise ValueError(f"{name} should be {expected}, got {value!r}")
    if too_small:
        raise ValueError(f"{name} should be at least {minimum}, got {value}")
    if too_large:
        raise ValueError(f"{name} should be at most {maximum}, got {value}")
    return value
