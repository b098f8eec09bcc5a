"""Stack outputs: from a file or `pulumi stack output`, with clear errors for every way they can be wrong."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tuning.outputs import REQUIRED_KEYS, OutputsError, load_outputs

OUTPUTS = {
    "function_name": "crud",
    "function_arn": "arn:aws:lambda:us-east-1:1:function:crud",
    "table_name": "items",
    "region": "us-east-1",
    "architecture": "arm64",
    "memory_size": 256,
    "api_key": "secret",
}


def test_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS))
    assert load_outputs(outputs_path=path) == OUTPUTS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "are not JSON"),
        ("[1]", "must be a JSON object, got list"),
        (json.dumps({"function_name": "crud", "table_name": ""}), "lack function_arn, table_name, region"),
    ],
)
def test_bad_files_are_explained(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(content)
    with pytest.raises(OutputsError, match=message):
        load_outputs(outputs_path=path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OutputsError, match="Cannot read stack outputs file"):
        load_outputs(outputs_path=tmp_path / "absent.json")


def test_exactly_one_source() -> None:
    with pytest.raises(OutputsError, match="exactly one"):
        load_outputs()
    with pytest.raises(OutputsError, match="exactly one"):
        load_outputs("prod", "outputs.json")


def _fake_pulumi(directory: Path, script: str) -> None:
    pulumi = directory / "pulumi"
    pulumi.write_text("#!/bin/sh\n" + script)
    pulumi.chmod(pulumi.stat().st_mode | stat.S_IEXEC)


def test_reads_the_stack_through_the_pulumi_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args_file = tmp_path / "args"
    _fake_pulumi(tmp_path, f"echo \"$@\" > {args_file}\necho '{json.dumps(OUTPUTS)}'\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert load_outputs(stack="prod", required=REQUIRED_KEYS) == OUTPUTS
    assert args_file.read_text().split() == ["stack", "output", "--json", "--show-secrets", "-s", "prod"]


def test_a_failing_pulumi_cli_reports_its_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pulumi(tmp_path, "echo 'error: no stack named prod found' >&2\nexit 255\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OutputsError, match="failed: error: no stack named prod found"):
        load_outputs(stack="prod")


def test_no_pulumi_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OutputsError, match=r"Pulumi CLI is not on PATH.*--outputs FILE"):
        load_outputs(stack="prod")
