"""`python -m tuning`: an AWS run against the moto fake end to end, and usage errors → exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.support.power_tuning_fake import fake_stack_outputs, queue_lambda_results, realistic_output
from tuning.cli import main
from tuning.payloads import seed_events


def _fake_stack(endpoint: str, tmp_path: Path, outcome: str) -> Path:
    outputs = fake_stack_outputs(
        endpoint, boto3.client("lambda"), boto3.client("stepfunctions"), boto3.client("iam"), outcome
    )
    queue_lambda_results(endpoint, [{"statusCode": 200, "body": "{}"}] * len(seed_events()))
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def _aws_run(outputs: Path, results: Path) -> int:
    return main(
        [
            "run",
            "--target",
            "aws",
            "--outputs",
            str(outputs),
            "--poll-interval",
            "0.05",
            "--results-dir",
            str(results),
        ]
    )


def test_aws_run_saves_results_and_prints_the_pulumi_line(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    assert _aws_run(_fake_stack(moto_endpoint, tmp_path, "success"), results) == 0
    [path] = list(results.glob("*.json"))
    assert path.name.endswith("_aws_crud-fn.json")
    saved = json.loads(path.read_text())
    assert saved["output"] == realistic_output()
    assert saved["metadata"]["source"] == "aws"
    assert saved["metadata"]["execution_arn"].startswith("arn:aws:states:")
    assert saved["input"]["powerValues"] == [128, 256, 512, 1024, 1536, 3008]
    assert saved["input"]["payload"][0]["weight"] == 70
    printed = capsys.readouterr().out
    # CPU-bound fake: ceil(ms)·memory is lowest at 128 MB; fastest is 3008 MB (1536 MB < one vCPU)
    assert "pulumi config set memorySize 128 -s <stack>" in printed
    assert "  cost       128 MB" in printed
    assert "  speed     3008 MB" in printed
    assert "128*" in printed


def test_empty_output_exits_1_and_writes_nothing(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    assert _aws_run(_fake_stack(moto_endpoint, tmp_path, "caught_error"), results) == 1
    assert "Runtime exited with error" in capsys.readouterr().err
    assert not results.exists() or not list(results.iterdir())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required"),
        (["run"], "--target"),
        (["run", "--target", "gcp"], "invalid choice"),
        (["run", "--target", "local", "--num", "4"], "at least 5"),
        (["run", "--target", "local", "--num", "ten"], "at least 5"),
        (["run", "--target", "local", "--power-values", "64,128"], "from 128 to 10240"),
        (["run", "--target", "local", "--power-values", "128,x"], "invalid literal"),
        (["run", "--target", "local", "--mix", "get=70,fly=30"], "Unknown operation 'fly'"),
        (["run", "--target", "local", "--mix", "get"], "Bad mix entry"),
        (["run", "--target", "local", "--balanced-weight", "2"], "from 0 to 1"),
        (["run", "--target", "local", "--num", "5"], "Invalid payload weight (num is too small)"),
        (["run", "--target", "local", "--strategy", "cheap"], "invalid choice"),
        (["run", "--target", "local", "--parallel", "--serial"], "not allowed with"),
        (["run", "--target", "local", "--stack", "a", "--outputs", "b"], "not allowed with"),
        (["run", "--target", "aws"], "needs --stack NAME or --outputs FILE"),
        (["run", "--target", "aws", "--outputs", "/nonexistent/outputs.json"], "Cannot read stack outputs"),
        (["run", "--target", "local", "--apply"], "--apply needs --target aws and --stack"),
        (["run", "--target", "local", "--poll-interval", "0"], "from 0 to 600"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_outputs_missing_keys_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"function_name": "f", "region": "us-east-1"}))
    with pytest.raises(SystemExit) as exited:
        main(["run", "--target", "aws", "--outputs", str(outputs)])
    assert exited.value.code == 2
    assert (
        "lack function_arn, table_name, architecture, memory_size, state_machine_arn"
        in capsys.readouterr().err
    )


def test_stack_without_pulumi_cli_says_how_to_proceed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SystemExit) as exited:
        main(["run", "--target", "aws", "--stack", "prod"])
    assert exited.value.code == 2
    assert "Pulumi CLI is not on PATH" in capsys.readouterr().err


def test_help_documents_every_run_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    flags = (
        "--target --stack --outputs --power-values --num --mix --strategy --balanced-weight --parallel "
        "--serial --poll-interval --results-dir --init-cpu --cpu-limiter --apply"
    )
    for flag in flags.split():
        assert f"  {flag}" in text
