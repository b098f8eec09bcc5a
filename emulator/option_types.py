"""argparse types of the emulator's command lines (serve, chaos): bad values are usage errors (exit 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

from emulator.runtime import check_function_dir


def function_dir_argument(text: str) -> Path:
    """An argparse type for ``--function-dir`` (serve, chaos): a folder ``check_function_dir`` accepts."""
    try:
        check_function_dir(Path(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return Path(text)
