"""Stack outputs: from a file or `pulumi stack output`, with clear errors for every way they can be wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import fake_pulumi
from tuning.pulumi_stack import (
    REQUIRED_KEYS,
    OutputsError,
    PulumiMissingError,
    StackError,
    load_outputs,
    set_memory_size,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]  # where Pulumi.yaml is
assert (PROJECT_DIR / "Pulumi.yaml").is_file()

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


# --- a stack, through Pulumi's Automation API (its LocalWorkspace against a fake CLI) ---------------------


def test_reads_the_stack_with_secrets_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    pulumi = fake_pulumi.install(monkeypatch, {"prod": OUTPUTS})
    assert load_outputs(stack="prod", required=REQUIRED_KEYS) == OUTPUTS  # api_key in plain text
    commands = [args for args, _ in pulumi.calls]
    assert ["stack", "output", "--json", "--show-secrets", "--stack", "prod"] in commands
    assert {cwd for _, cwd in pulumi.calls} == {str(PROJECT_DIR)}  # where Pulumi.yaml is
    assert not any("select" in args for args in commands)  # the user's selected stack is left alone


def test_sets_memory_size_on_the_named_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    pulumi = fake_pulumi.install(monkeypatch, {"prod": OUTPUTS, "dev": OUTPUTS})
    set_memory_size("dev", 512)
    [(args, cwd)] = pulumi.calls
    assert args[:3] == ["config", "set", "memorySize"]
    assert args[args.index("--stack") + 1] == "dev"
    assert args[-2:] == ["--", "512"]
    assert "--secret" not in args
    assert cwd == str(PROJECT_DIR)


def test_an_unknown_stack_reports_the_cli_message(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pulumi.install(monkeypatch, {"prod": OUTPUTS})
    cli_says = "error: no stack named 'dev' found"
    with pytest.raises(OutputsError) as read:
        load_outputs(stack="dev")
    assert str(read.value) == f"`pulumi stack output -s dev` failed: {cli_says}"
    with pytest.raises(StackError) as changed:
        set_memory_size("dev", 512)
    assert str(changed.value) == f"`pulumi config set memorySize 512 -s dev` failed: {cli_says}"


def test_no_pulumi_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the real PulumiCommand finds no `pulumi` to start
    with pytest.raises(OutputsError, match=r"Pulumi CLI is not on PATH.*--outputs FILE"):
        load_outputs(stack="prod")
    with pytest.raises(PulumiMissingError):
        set_memory_size("prod", 512)
