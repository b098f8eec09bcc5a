"""The program's adapter of the settings parser: a bad value or no region stops it at start."""

from __future__ import annotations

import re

import pytest

from settings.stack_settings import SettingsError
from tests.components.harness import PROJECT, run_program


def test_the_program_stops_at_start_on_a_bad_value() -> None:
    with pytest.raises(SettingsError, match="'memorySize' = '64'"):
        run_program("prod", {"memorySize": 64})


def test_the_program_stops_at_start_on_http_with_api_keys() -> None:
    with pytest.raises(SettingsError, match="apiType 'http'"):
        run_program("prod", {"apiType": "http"})  # the prod stack's authMode is api_key


def test_the_program_stops_without_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    # the provider (and so the program) would fall back to these; without them there is no region at all
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(Exception, match="aws:region"):
        run_program("prod", {"aws:region": ""})


@pytest.mark.parametrize(
    ("stack", "rule"),
    [
        ("my_stack", "letters, digits and '-' only"),
        ("prod.eu", "letters, digits and '-' only"),
        ("a" * 49, "at most 48"),
    ],
)
def test_a_stack_name_that_cannot_name_aws_resources_stops_the_program(stack: str, rule: str) -> None:
    with pytest.raises(Exception, match=re.escape(rule)) as raised:
        run_program(stack, {"aws:region": "us-east-1"})
    assert stack in str(raised.value)


def test_the_longest_allowed_stack_name_deploys() -> None:
    run = run_program("a" * 48, {"aws:region": "us-east-1"})
    assert run.export("function_name") == f"{PROJECT}-{'a' * 48}"
