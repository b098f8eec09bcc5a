"""The one range check of command-line numbers: words, NaN, signs and bounds, in the caller's words."""

from __future__ import annotations

import argparse

import pytest

from settings.arguments import in_range, stack_argument, whole


def said(text: str) -> str:
    return f"{text!r} is refused"


@pytest.mark.parametrize("text", ["abc", "nan", "", "0", "10.5", "-1", "inf"])
def test_out_of_range_or_not_a_number_is_the_callers_message(text: str) -> None:
    check = in_range(float, 1, 10, said)
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        check(text)
    assert str(raised.value) == f"{text!r} is refused"


def test_both_bounds_are_included_unless_the_low_one_is_excluded() -> None:
    assert in_range(int, 1, 10, said)("1") == 1
    assert in_range(int, 1, 10, said)("10") == 10
    with pytest.raises(argparse.ArgumentTypeError):
        in_range(float, 0, 10, said, low_included=False)("0")
    assert in_range(float, 0, 10, said, low_included=False)("0.001") == 0.001


def test_the_caller_chooses_the_error_type() -> None:
    class UsageError(ValueError):
        pass

    with pytest.raises(UsageError, match="'11' is refused"):
        in_range(int, 1, 10, said, error=UsageError)("11")


@pytest.mark.parametrize("text", ["+5", "-0", " 5", "5 ", "²", "1e3", "٣"])
def test_whole_takes_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError, match="is not a whole number"):
        whole(text)
    assert whole("0042") == 42


def test_stack_argument_reads_the_named_stack_file() -> None:
    assert stack_argument("prod").source == "stack prod (Pulumi.prod.yaml)"
    assert stack_argument("prod").settings.api_type == "rest"


def test_an_unknown_stack_is_one_usage_line() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"no stack file Pulumi\.nope\.yaml"):
        stack_argument("nope")
