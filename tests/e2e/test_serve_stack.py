"""``python -m emulator serve --stack NAME``: the local stack with that stack's settings (issue 17 §2)."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from emulator import __main__ as cli
from emulator.local_stack import LocalStack, StackSettings
from settings.stack_files import StackConfig, read_stack_settings
from tests.e2e.served_stack import PROJECT_ROOT, start_stack, stop_stack


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of Pulumi.yaml whose stack files serve reads instead of the repository's."""
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    monkeypatch.setattr(cli, "read_stack_settings", lambda stack: read_stack_settings(stack, tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "serverless-crud:throttleRateLimit: 0",
            "error: config 'throttleRateLimit' = '0' is not allowed: an integer from 1 to 10000. "
            "Change it with `pulumi config set throttleRateLimit <value>` (declared in Pulumi.yaml).",
        ),
        ("serverless-crud:corsAllowOrigin: app.example.com", "error: config 'corsAllowOrigin' = "),
        (
            "serverless-crud:authMode: iam",
            "error: stack dev (Pulumi.dev.yaml) sets authMode iam, which the local gateway cannot check on REST",  # noqa: E501
        ),
    ],
)
def test_a_stack_the_local_stack_cannot_serve_stops_it_naming_the_key(
    project: Path, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "Pulumi.dev.yaml").write_text(f"config:\n  {value}\n", encoding="utf-8")
    try:
        code = cli.main(["serve", "--stack", "dev", "--port", "0"])
    except SystemExit as exited:  # a usage error, as argparse's
        code = exited.code
    assert code == 2
    assert capsys.readouterr().err.startswith(message)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "settings_line", "memory_mb"),
    [
        (
            ("--stack", "prod"),
            "settings   stack prod (Pulumi.prod.yaml): throttling 50 req/s, burst 100, CORS *, timeout 10 s",
            1024,
        ),
        ((), "settings   project defaults (Pulumi.yaml): throttling 100 req/s, burst 200, CORS *", 1024),
    ],
)
def test_serve_says_whose_settings_it_runs(
    tmp_path: Path, extra: tuple[str, ...], settings_line: str, memory_mb: int
) -> None:
    stack = start_stack(tmp_path / "outputs.json", *extra)
    try:
        assert stack.outputs["memory_size"] == memory_mb
        assert stack.outputs["architecture"] == "arm64"
    finally:
        assert stop_stack(stack.process) == 0
    banner = stack.process.stdout.read() if stack.process.stdout else ""
    assert settings_line in banner


def status_without_key(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
@pytest.mark.parametrize(("auth_mode", "status"), [("none", 200), ("api_key", 403)])
def test_auth_mode_none_serves_without_a_key(tmp_path: Path, auth_mode: str, status: int) -> None:
    prod = read_stack_settings("prod")
    stack = StackConfig(replace(prod.settings, auth_mode=auth_mode), prod.source)
    settings = StackSettings(stack=stack, port=0, outputs_path=tmp_path / "outputs.json", max_environments=1)
    with LocalStack(settings) as local:
        assert status_without_key(local.outputs["api_url"] + "/items") == status
