"""`python -m tuning`: an AWS run against the moto fake end to end, and usage errors → exit code 2."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from tests.support import fake_pulumi
from tests.support.power_tuning_fake import fake_stack_outputs, queue_lambda_results, realistic_output
from tuning import pulumi_stack as outputs_module
from tuning.cli import main
from tuning.engine.analyzer import build_output
from tuning.errors import InterruptedRunError
from tuning.payloads import seed_events
from tuning.pulumi_stack import pulumi_cli as real_pulumi_cli
from tuning.runners.rounds import Sampling


def _fake_stack(endpoint: str, tmp_path: Path, outcome: str, executions: int = 1, **fake: object) -> Path:
    """A fake stack's outputs file; the function answers the seeding of ``executions`` executions."""
    outputs = fake_stack_outputs(
        endpoint, boto3.client("lambda"), boto3.client("stepfunctions"), boto3.client("iam"), outcome, **fake
    )
    seeding = [{"statusCode": 200, "body": "{}"}] * len(seed_events()) * executions
    queue_lambda_results(endpoint, seeding)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs))
    return path


def _aws_run(outputs: Path, results: Path, *flags: str) -> int:
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
            *flags,
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


def _apply_run(stack: str, results: Path) -> int:
    argv = ["run", "--target", "aws", "--stack", stack, "--apply", "--poll-interval", "0.05"]
    return main([*argv, "--results-dir", str(results)])


def test_a_stack_is_read_and_the_pick_applied_through_pulumi(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_outputs = json.loads(_fake_stack(moto_endpoint, tmp_path, "success").read_text())
    pulumi = fake_pulumi.install(monkeypatch, {"prod": stack_outputs})
    assert _apply_run("prod", tmp_path / "results") == 0
    printed = capsys.readouterr().out
    assert "pulumi config set memorySize 128 -s prod" in printed  # the cost pick of the fake (above)
    assert "Config updated; deploy it with `pulumi up`." in printed
    [config_set] = [args for args, _ in pulumi.calls if args[:2] == ["config", "set"]]
    assert config_set[2] == "memorySize"
    assert config_set[config_set.index("--stack") + 1] == "prod"
    assert config_set[-1] == "128"


def test_apply_without_the_pulumi_cli_says_what_to_run(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outputs come from the fake; when --apply needs the CLI again it is gone (PATH without pulumi)."""
    stack_outputs = json.loads(_fake_stack(moto_endpoint, tmp_path, "success").read_text())
    reads = iter([fake_pulumi.FakePulumi({"prod": stack_outputs})])
    monkeypatch.setattr(outputs_module, "pulumi_cli", lambda: next(reads, None) or real_pulumi_cli())
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _apply_run("prod", tmp_path / "results") == 1
    assert "--apply: the Pulumi CLI is not on PATH; run the command above yourself" in capsys.readouterr().err
    assert len(list((tmp_path / "results").glob("*.json"))) == 1  # the run itself is kept


def test_empty_output_exits_1_and_writes_nothing(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    assert _aws_run(_fake_stack(moto_endpoint, tmp_path, "caught_error"), results) == 1
    assert "Runtime exited with error" in capsys.readouterr().err
    assert not results.exists() or not list(results.iterdir())


def test_skip_failing_saves_one_results_file_with_the_skipped_size(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _fake_stack(moto_endpoint, tmp_path, "size_caught", executions=2, failing_sizes=(256,))
    results = tmp_path / "results"
    assert _aws_run(stack, results, "--skip-failing") == 0
    [path] = list(results.glob("*.json"))
    saved = json.loads(path.read_text())
    assert saved["output"] == realistic_output([128, 512, 1024, 1536, 3008])
    [skipped] = saved["skipped"]
    assert skipped["power"] == 256
    assert "Runtime.OutOfMemory" in skipped["cause"]
    assert "skipped" not in saved["output"]
    first, rerun = saved["metadata"]["executions"]
    assert (first["failedAt"], rerun["status"]) == ([256], "SUCCEEDED")
    assert 256 not in rerun["powerValues"]
    assert saved["metadata"]["execution_arn"] == rerun["executionArn"]
    printed = capsys.readouterr().out
    assert re.search(r"^\s*256  skipped: Error: Invocation error", printed, re.MULTILINE)


def test_a_failing_size_without_skip_failing_exits_1_naming_it(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _fake_stack(moto_endpoint, tmp_path, "size_failed", failing_sizes=(256,))
    results = tmp_path / "results"
    assert _aws_run(stack, results) == 1
    assert "It failed at 256 MB; rerun with --skip-failing" in capsys.readouterr().err
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
        (["run", "--target", "local", "--num", "often"], "must be 'auto' or an integer of at least 5"),
        (["run", "--target", "local", "--precision", "2"], "--precision and --max-num go with --num auto"),
        (["run", "--target", "local", "--num", "20", "--max-num", "50"], "go with --num auto"),
        (["run", "--target", "local", "--num", "auto", "--precision", "0"], "from 0 to 100"),
        (["run", "--target", "local", "--num", "auto", "--max-num", "4"], "at least 5"),
        (
            ["run", "--target", "local", "--num", "auto", "--max-num", "9"],
            "too few for the payload's weights",
        ),
        (["run", "--target", "aws", "--function-dir", "function"], "--function-dir is for --target local"),
        (["run", "--target", "local", "--function-dir", "/nonexistent/fn"], "does not exist"),
        (["run", "--target", "local", "--function-dir", "tests"], "holds no app.py"),
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


def _capture_local_runs(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace run_local by a fake that records what the CLI passes and measures nothing: fixed invocation
    records, named and priced as the real runner does (``_target``), become the record as both runners make
    it (``finished``)."""
    import tuning.run
    from tuning.runners import local
    from tuning.runners.request import finished
    from tuning.runners.rounds import Sampled

    calls: dict = {}

    def fake_run_local(request, outputs, *, seed, on_invocation, on_round):
        calls.update(execution_input=request.execution_input.to_json(), outputs=outputs, seed=seed)
        calls.update(init_cpu=request.init_cpu, limiter=request.cpu_limiter, sampling=request.sampling)
        calls.update(function_dir=request.function_dir)
        records = []
        for power, durations in ((128, [30.0, 10.0, 11.0, 12.0, 13.0]), (1024, [9.0, 2.0, 2.0, 2.0, 2.0])):
            for duration in durations:
                records.append(
                    {"power": power, "duration_ms": duration, "billed_ms": int(duration), "error": None}
                )
                records[-1]["max_memory_used_mb"] = 50 + len(records)
                on_invocation(records[-1])
        output = build_output(
            [
                (p, [(r["duration_ms"], r["billed_ms"]) for r in records if r["power"] == p])
                for p in (128, 1024)
            ],
            architecture="arm64",
        )
        moment = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
        sampled = Sampled(request.sampling, records, [], [{"powerValues": [128, 1024], "num": 5}], {}, [])
        return finished(
            request,
            local._target(request, outputs).priced,
            sampled,
            started=moment,
            ended=moment,
            output=output,
            invocations=records,
            notes=[],
            emulation=FAKE_EMULATION,
            extra={"function_dir": "function"},
        )

    monkeypatch.setattr(tuning.run, "run_local", fake_run_local)
    return calls


FAKE_EMULATION = {"architecture_priced": "arm64", "runtime": "python3.13 · awslambdaric 4.2.2"}
LOCAL_ARGS = [
    "run",
    "--target",
    "local",
    "--power-values",
    "128,1024",
    "--num",
    "5",
    "--mix",
    "get=3,create=2",
]


def test_num_auto_wiring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--num auto reaches the runner as its sampling (precision as a fraction); the input's num is the first
    round's: 10, or more when the mix needs it."""
    calls = _capture_local_runs(monkeypatch)
    monkeypatch.chdir(tmp_path)
    auto = ["--num", "auto", "--precision", "2.5", "--max-num", "50"]
    assert (
        main([*LOCAL_ARGS[:-4], *auto, "--mix", "get=14,list=1", "--function-dir", str(MEMORY_HUNGRY)]) == 0
    )
    assert calls["sampling"] == Sampling(None, precision=0.025, max_num=50)
    assert calls["execution_input"]["num"] == 15  # list's share of 1/15 needs 15 invocations to get one
    assert calls["function_dir"] == MEMORY_HUNGRY
    assert main([*LOCAL_ARGS[:-4], "--num", "auto"]) == 0
    assert calls["sampling"] == Sampling(None, precision=0.05, max_num=200)
    assert calls["execution_input"]["num"] == 10


def test_local_run_wiring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI gives the runner the execution input, seed events and a progress callback; saves its result."""
    calls = _capture_local_runs(monkeypatch)
    monkeypatch.chdir(tmp_path)  # no .local/outputs.json here: the runner gets outputs=None
    assert main([*LOCAL_ARGS, "--init-cpu", "capped", "--cpu-limiter", "dutycycle"]) == 0
    assert calls["outputs"] is None
    assert (calls["init_cpu"], calls["limiter"]) == ("capped", "dutycycle")
    assert calls["execution_input"]["powerValues"] == [128, 1024]
    assert [e["httpMethod"] for e in calls["seed"]] == ["PUT"] * len(calls["seed"])
    [path] = (tmp_path / "results").glob("*_local_serverless-crud-local.json")
    saved = json.loads(path.read_text())
    assert saved["metadata"]["emulated"] is True
    assert len(saved["invocations"]) == 10
    assert saved["emulation"] == FAKE_EMULATION
    out, err = capsys.readouterr()
    assert "emulated on this machine, python3.13 · awslambdaric 4.2.2; arm64" in out  # the runtime it ran on
    # 128 MB: 5 invocations, trimmed mean of 10..30 drops 10 and 30 → 12.00, an interval around it; p90 of
    # five is the largest, 30.00; memory 55 MB; the cost optimum (*): ceil(12) · 1.7e-9 · 1 beats 1024 MB's
    # 2 · 1.7e-9 · 8
    assert re.search(r"^\s+128\*\s+5\s+12\.00\s+\d+\.\d\d–\d+\.\d\d\s+30\.00\s.*\s55\s+0$", out, re.MULTILINE)
    # 1024 MB: [9, 2, 2, 2, 2] trims one value at each end. A resample keeps mean 2 with at most one 9
    # (P = 0.8^5 + 5·0.2·0.8^4 = 73.7%), becomes (2+2+9)/3 with two, (2+9+9)/3 = 6.67 with three
    # (P(≥ 3) = 5.8%, P(≥ 4) = 0.7%): the 2.5% and 97.5% quantiles are 2 and 20/3.
    [entry] = [e for e in saved["confidence"] if e["power"] == 1024]
    assert entry["n"] == 5
    assert (entry["durationLow"], entry["durationHigh"]) == (pytest.approx(2), pytest.approx(20 / 3))
    assert (entry["costLow"], entry["costHigh"]) == (
        pytest.approx(2 * 1.7e-9 * 8),
        pytest.approx(7 * 1.7e-9 * 8),
    )
    assert re.search(r"^\s+1024\s+5\s+2\.00\s+2\.00–6\.67\s", out, re.MULTILINE)
    # every trimmed mean of 128 MB's resamples is at least 10 ms: no overlap with 1024 MB's [2, 6.67]
    assert "speed     1024 MB  2.00 ms  $2.720e-08 per invocation; no other size is within noise" in out
    assert "10/10" in err  # the progress bar counted every invocation


def _local_outputs_file(directory: Path, endpoint_url: str, **extra: str) -> None:
    outputs = {
        **extra,
        "api_url": "http://127.0.0.1:3000/prod",
        "function_name": "serverless-crud-local",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:serverless-crud-local",
        "table_name": "serverless-crud-local",
        "region": "us-east-1",
        "memory_size": 1024,
        "architecture": "arm64",
        "endpoint_url": endpoint_url,
    }
    (directory / ".local").mkdir()
    (directory / ".local" / "outputs.json").write_text(json.dumps(outputs))


def test_local_run_uses_the_running_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    calls = _capture_local_runs(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _local_outputs_file(tmp_path, moto_endpoint)  # its emulator answers
    assert main(LOCAL_ARGS) == 0
    assert calls["outputs"]["endpoint_url"] == moto_endpoint


def test_an_http_stack_is_tuned_and_seeded_with_payload_2_0_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    calls = _capture_local_runs(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _local_outputs_file(tmp_path, moto_endpoint, api_type="http", auth_mode="iam")
    assert main(LOCAL_ARGS) == 0
    routes = [entry["payload"]["routeKey"] for entry in calls["execution_input"]["payload"]]
    assert routes == ["GET /items/{id}", "POST /items"]
    assert {event["version"] for event in calls["seed"]} == {"2.0"}


# $ per million requests of the fake's sizes (arm64, us-east-1, mix get=3,create=2), by hand from
# tuning.engine.pricing's table: Lambda ceil(ms)/1000 s × GB × $0.0000133334 (1024 MB, 2 ms: 0.0266668;
# 128 MB, 12 ms: 0.0200001) + $0.20 request fee + DynamoDB 0.6 × 0.5 RRU × $0.125 + 0.4 × 1 WRU × $0.625 =
# 0.2875 + the front door's first tier: REST $3.50, HTTP API $1.00.
@pytest.mark.parametrize(
    ("api_type", "per_million"),
    [("http", {128: "1.5075", 1024: "1.5142"}), ("rest", {128: "4.0075", 1024: "4.0142"})],
)
def test_a_run_prices_each_request_with_its_stacks_front_door(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    moto_endpoint: str,
    api_type: str,
    per_million: dict[int, str],
) -> None:
    _capture_local_runs(monkeypatch)
    monkeypatch.chdir(tmp_path)
    _local_outputs_file(
        tmp_path, moto_endpoint, api_type=api_type, auth_mode="iam" if api_type == "http" else "none"
    )
    assert main(LOCAL_ARGS) == 0
    out = capsys.readouterr().out
    assert f"arm64, us-east-1, {api_type.upper()} API;" in out
    for power, price in per_million.items():
        # columns: power, n, avg ms, its interval, p90, $/invocation, its interval, then $/1M requests
        assert re.search(rf"^\s+{power}\*?(\s+\S+){{6}}\s+{re.escape(price)}\s", out, re.MULTILINE), out
    [path] = (tmp_path / "results").glob("*.json")
    saved = json.loads(path.read_text())
    assert saved["metadata"]["api_type"] == api_type
    # the intervals are of Power Tuning's price per invocation, which has no request fee on either door:
    # 1024 MB's trimmed billed mean lies in [2, 20/3] ms → ceil → 2 and 7 ms × $1.7e-9 (arm64, 128 MB) × 8
    [entry] = [e for e in saved["confidence"] if e["power"] == 1024]
    assert (entry["costLow"], entry["costHigh"]) == (
        pytest.approx(2 * 1.7e-9 * 8),
        pytest.approx(7 * 1.7e-9 * 8),
    )


def test_local_run_skips_an_outputs_file_left_by_a_dead_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _capture_local_runs(monkeypatch)
    monkeypatch.chdir(tmp_path)
    with socket.socket() as closed:  # a port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _local_outputs_file(tmp_path, f"http://127.0.0.1:{port}")
    assert main(LOCAL_ARGS) == 0
    assert calls["outputs"] is None  # a private emulator instead of failing at the first request
    assert "no longer runs; ignoring it" in capsys.readouterr().err


@pytest.mark.parametrize(
    "interruption",
    [KeyboardInterrupt(), InterruptedRunError("Interrupted; the execution keeps running on AWS: arn:x")],
)
def test_ctrl_c_exits_130_with_one_line_and_saves_nothing(
    interruption: BaseException,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tuning.cli

    def interrupted_run(*_: object, **__: object) -> None:
        raise interruption

    monkeypatch.setattr(tuning.cli, "run_and_save", interrupted_run)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--target", "local", "--results-dir", str(tmp_path / "results")]) == 130
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("interrupted: ")
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()


MEMORY_HUNGRY = Path(__file__).parent / "functions" / "memory_hungry"


@pytest.mark.slow
def test_a_size_out_of_memory_is_skipped_and_the_results_name_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real local run of a function that needs 150 MB: 128 MB runs out of memory, 512 MB works."""
    monkeypatch.chdir(tmp_path)  # a private emulator; the folder is outside the working directory
    flags = [
        "--function-dir",
        str(MEMORY_HUNGRY),
        "--power-values",
        "128,512",
        "--num",
        "5",
        "--mix",
        "get=1",
    ]
    assert main(["run", "--target", "local", *flags]) == 0
    [path] = (tmp_path / "results").glob("*_local_serverless-crud-local_memory_hungry.json")
    saved = json.loads(path.read_text())
    assert saved["metadata"]["function_dir"] == str(MEMORY_HUNGRY)
    [skipped] = saved["skipped"]
    assert skipped["power"] == 128
    assert skipped["cause"].startswith("Runtime.OutOfMemory: ")
    at_128 = [record for record in saved["invocations"] if record["power"] == 128]
    assert len(at_128) == 1  # the size stopped at its first failure
    assert at_128[0]["max_memory_used_mb"] == 128
    assert at_128[0]["error"] is not None
    assert [stat["value"] for stat in saved["output"]["stats"]] == [512]
    assert saved["output"]["power"] == 512
    printed = capsys.readouterr().out
    assert f"with the code in {MEMORY_HUNGRY}" in printed
    assert f"  128  skipped: {skipped['cause']}\n" in printed
