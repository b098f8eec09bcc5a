"""Range checks of command-line numbers, as argparse types: every CLI builds its own from `in_range`, in its
own words (the message), so a word, NaN or an out-of-range value is one usage line naming what is allowed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from settings.stack_files import StackConfig, StackFileError, read_stack_settings
from settings.stack_settings import SettingsError

Number = TypeVar("Number", int, float)


def whole(text: str) -> int:
    """A whole number in ASCII digits: no sign, no spaces, no "²" (which int() would refuse only later)."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{text!r} is not a whole number")
    return int(text)


def in_range(
    parse: Callable[[str], Number],
    low: float,
    high: float,
    message: Callable[[str], str],
    *,
    low_included: bool = True,
    error: type[Exception] = argparse.ArgumentTypeError,
) -> Callable[[str], Number]:
    """A type for a number ``parse`` reads, in [low, high] (or (low, high]); else ``error(message(text))``.

    NaN fails both comparisons, so ``float`` refuses it here too.
    """

    def check(text: str) -> Number:
        try:
            value = parse(text)
        except ValueError:
            raise error(message(text)) from None
        if not (low <= value if low_included else low < value) or not value <= high:
            raise error(message(text))
        return value

    return check


def stack_argument(name: str) -> StackConfig:
    """``--stack NAME``: Pulumi.NAME.yaml's settings, checked as `pulumi up` does; else a usage line."""
    try:
        return read_stack_settings(name)
    except (StackFileError, SettingsError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
