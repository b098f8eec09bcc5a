"""The Makefile's bootstrap: a Python older than 3.11 is refused with one line before any venv is made."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.e2e.served_stack import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def test_an_old_python_is_refused_before_a_venv_is_made(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path)
    shutil.copy(PROJECT_ROOT / "requirements.txt", tmp_path)
    old_python = tmp_path / "python3.9"
    old_python.write_text("#!/bin/sh\nexec python3 -c 'import sys; sys.exit(1)'\n")  # what 3.9 answers
    old_python.chmod(old_python.stat().st_mode | stat.S_IXUSR)
    completed = subprocess.run(
        ["make", "venv", f"PYTHON={old_python}"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 2
    assert f"error: {old_python} is not Python 3.11 or newer" in completed.stderr
    assert not (tmp_path / ".venv").exists()
