"""seqlab.validate.check_int: both wordings students read, and what counts as an int."""

import pytest

from seqlab.validate import check_int


@pytest.mark.parametrize("value", [1, 5, 10**20])
def test_an_int_in_range_comes_back_unchanged(value):
    assert check_int("n", value) is value
    assert check_int("n", value, expected="a positive int") is value


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("n", 1.0), TypeError, "n should be an int, got float"),
        (("n", True), TypeError, "n should be an int, got bool"),
        (("n", "3"), TypeError, "n should be an int, got str"),
        (("n", 0), ValueError, "n should be at least 1, got 0"),
        (("n", 1, 2), ValueError, "n should be at least 2, got 1"),
        (("n", 9, 0, 8), ValueError, "n should be at most 8, got 9"),
    ],
)
def test_default_wording_tells_type_from_range(args, error, message):
    with pytest.raises(error) as raised:
        check_int(*args)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("args", "expected", "message"),
    [
        (("window", 0), "a positive int", "window should be a positive int, got 0"),
        (("window", 2.0), "a positive int", "window should be a positive int, got 2.0"),
        (("window", False), "a positive int", "window should be a positive int, got False"),
        (("steps", -1, 0), "a non-negative int", "steps should be a non-negative int, got -1"),
        (("steps", 7, 3, 6), "an int from 3 to 6", "steps should be an int from 3 to 6, got 7"),
        (("steps", "4", 3, 6), "an int from 3 to 6", "steps should be an int from 3 to 6, got '4'"),
    ],
)
def test_expected_wording_is_one_value_error(args, expected, message):
    with pytest.raises(ValueError) as raised:
        check_int(*args, expected=expected)
    assert str(raised.value) == message


def test_no_bounds_checks_only_the_type():
    assert check_int("seed", -5, minimum=None) == -5
    with pytest.raises(TypeError, match="seed should be an int, got NoneType"):
        check_int("seed", None, minimum=None)
