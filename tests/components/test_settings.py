"""The program's adapter of the settings parser: a bad value or no region stops it at start."""

from __future__ import annotations

import pytest

from settings.rules import SettingsError
from tests.components.harness import run_program


def test_the_program_stops_at_start_on_a_bad_value() -> None:
    with pytest.raises(SettingsError, match="'memorySize' = '64'"):
        run_program("prod", {"memorySize": 64})


def test_the_program_stops_without_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # the provider (and so the program) would fall back to these; without them there is no region at all
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(Exception, match="aws:region"):
        run_program("prod", {"aws:region": ""})
