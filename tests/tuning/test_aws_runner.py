"""The AWS runner against the emulator's moto server with the Power Tuning fake: results, `{}` and FAILED, a
size that fails (diagnosed from the history, rerun without it), --num auto's rounds of executions."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import boto3
import pytest

from tests.support.power_tuning_fake import (
    DEFAULT_CAUGHT_CAUSE,
    fake_stack_outputs,
    queue_lambda_results,
    realistic_output,
)
from tuning.engine.analyzer import build_output
from tuning.engine.inputs import validate_function_arn
from tuning.errors import InterruptedRunError, TuningError
from tuning.payloads import parse_mix, seed_events, weighted_payload
from tuning.record import ExecutionInput, TuningRun
from tuning.runners import aws as aws_runner
from tuning.runners.aws import build_execution_input, read_report_invocations, result_output, run_aws
from tuning.runners.request import Finished, RunRequest, front_door_of
from tuning.runners.rounds import Sampling

ARN = "arn:aws:lambda:us-east-1:123456789012:function:crud-fn"


def _clients():
    return boto3.client("lambda"), boto3.client("stepfunctions"), boto3.client("iam")


def _input(outputs: dict, num: int = 5) -> ExecutionInput:
    payload = weighted_payload(parse_mix("get=60,create=40"))
    return build_execution_input(
        outputs["function_arn"], power_values=[128, 256, 512], num=num, payload=payload
    )


def _aws(
    outputs: dict,
    execution_input: ExecutionInput,
    *,
    sampling: Sampling | None = None,
    skip_failing: bool = False,
    **options: Any,
) -> Finished:
    """``run_aws`` of a request for ``execution_input`` (its ``num`` fixed unless ``sampling``), quietly."""
    request = RunRequest(
        "aws",
        execution_input,
        sampling or Sampling(execution_input.num),
        {"get": 60, "create": 40},
        front_door_of(outputs),
        poll_interval_s=0.05,
        skip_failing=skip_failing,
    )
    return run_aws(request, outputs, show_progress=False, **options)


def _run(endpoint: str, outcome: str, **fake):
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(endpoint, lambda_client, sfn, iam, outcome, **fake)
    seeds = seed_events(["a", "b"])
    queue_lambda_results(endpoint, [{"statusCode": 200, "body": "{}"}] * len(seeds))
    return _aws(outputs, _input(outputs), seed=seeds, log_delivery_wait_s=0).run


def test_succeeded_run_returns_the_analyzer_output(moto_endpoint: str) -> None:
    run = _run(moto_endpoint, "success")
    assert run.output == realistic_output()
    assert run.metadata["execution_arn"].startswith("arn:aws:states:us-east-1:")
    assert run.input.to_json()["includeOutputResults"] is True
    assert "autoOptimize" not in run.input.to_json()
    assert run.metadata["started"] <= run.metadata["ended"]


def test_empty_output_is_an_error_with_the_caught_cause(moto_endpoint: str) -> None:
    with pytest.raises(TuningError, match=r"ended with output \{\}.*Runtime exited with error"):
        _run(moto_endpoint, "caught_error")
    assert "Runtime exited with error" in json.loads(DEFAULT_CAUGHT_CAUSE)["errorMessage"]


def test_failed_execution_is_an_error_with_its_cause(moto_endpoint: str) -> None:
    with pytest.raises(TuningError, match=r"FAILED.*Missing num or num below 5"):
        _run(moto_endpoint, "failed")


def test_a_failing_seed_request_stops_before_the_execution(moto_endpoint: str) -> None:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(moto_endpoint, lambda_client, sfn, iam)
    queue_lambda_results(moto_endpoint, [{"statusCode": 500, "body": "boom"}])
    with pytest.raises(TuningError, match="Seeding /items/a answered 500"):
        _aws(outputs, _input(outputs), seed=seed_events(["a"]))
    assert sfn.list_executions(stateMachineArn=outputs["state_machine_arn"])["executions"] == []


def test_report_lines_of_the_run_become_invocations(moto_endpoint: str) -> None:
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/lambda/crud-fn")
    logs.create_log_stream(logGroupName="/aws/lambda/crud-fn", logStreamName="s")
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)  # CloudWatch refuses old events
    at = int((started + timedelta(seconds=2)).timestamp() * 1000)
    lines = [
        "START RequestId: 1 Version: 3",
        "REPORT RequestId: 1\tDuration: 10.50 ms\tBilled Duration: 11 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 70 MB\tInit Duration: 200.25 ms\t",
        "REPORT RequestId: 2\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 71 MB",
    ]
    events = [{"timestamp": at, "message": line} for line in lines]
    events.append({"timestamp": at + 60_000, "message": lines[2]})  # after the run: not ours
    logs.put_log_events(logGroupName="/aws/lambda/crud-fn", logStreamName="s", logEvents=events)
    invocations = read_report_invocations(
        logs, "/aws/lambda/crud-fn", started, started + timedelta(seconds=5)
    )
    assert invocations == [
        {
            "power": 512,
            "duration_ms": 210.75,
            "billed_ms": 11,
            "init_ms": 200.25,
            "max_memory_used_mb": 70,
            "error": None,
            "cold": True,
        },
        {
            "power": 512,
            "duration_ms": 3.0,
            "billed_ms": 3,
            "init_ms": None,
            "max_memory_used_mb": 71,
            "error": None,
            "cold": False,
        },
    ]


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        (ARN + ":live", "drop the alias"),
        ("crud-fn", "unqualified Lambda function ARN"),
        ("arn:aws:s3:us-east-1:123456789012:function:x", "unqualified Lambda function ARN"),
    ],
)
def test_function_arn_must_be_unqualified(arn: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_function_arn(arn)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num": 4}, "num must be an integer of at least 5"),
        ({"strategy": "cheap"}, "strategy must be one of"),
        ({"balanced_weight": 1.5}, "balancedWeight must be between 0 and 1"),
        ({"balanced_weight": -0.1}, "balancedWeight must be between 0 and 1"),
        ({"power_values": [64]}, "from 128 to 10240"),
        ({"power_values": [10241]}, "from 128 to 10240"),
        ({"power_values": [128, 128]}, "must not repeat"),
        ({"power_values": []}, "at least one"),
        (
            {"payload": [{"payload": {"a": 1}, "weight": 1}, {"payload": {"b": 1}, "weight": 9}]},
            "num is too small",
        ),
    ],
)
def test_bad_execution_input_is_refused_before_starting(change: dict, message: str) -> None:
    arguments = {"power_values": [128, 256], "num": 5, "payload": {}, **change}
    with pytest.raises(ValueError, match=message):
        build_execution_input(ARN, **arguments)


def test_execution_input_has_the_tool_fields() -> None:
    built = build_execution_input(
        ARN,
        power_values=[128, 10240],
        num=5,
        payload=[],
        strategy="balanced",
        balanced_weight=0,
        parallel=False,
    )
    assert built.to_json() == {
        "lambdaARN": ARN,
        "powerValues": [128, 10240],
        "num": 5,
        "payload": [],
        "parallelInvocation": False,
        "strategy": "balanced",
        "balancedWeight": 0,
        "includeOutputResults": True,
    }


def test_aborted_execution_is_an_error(moto_endpoint: str) -> None:
    sfn, iam = boto3.client("stepfunctions"), boto3.client("iam")
    role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = {
        "StartAt": "Initializer",
        "States": {"Initializer": {"Type": "Wait", "Seconds": 60, "End": True}},
    }
    machine = sfn.create_state_machine(name="slow", definition=json.dumps(definition), roleArn=role)
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run", input="{}")
    sfn.stop_execution(executionArn=execution["executionArn"], error="User", cause="stopped by hand")
    # moto runs executions on a thread of its own, which can still report RUNNING for a moment after the stop
    # (seen once in a full run); AWS too answers describe_execution eventually consistently.
    deadline = time.monotonic() + 10
    description = sfn.describe_execution(executionArn=execution["executionArn"])
    while description["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
        description = sfn.describe_execution(executionArn=execution["executionArn"])
    assert description["status"] == "ABORTED"
    with pytest.raises(TuningError, match="execution ABORTED"):
        result_output(sfn, description)


class _InterruptedStepFunctions:
    """Starts an execution, then Ctrl-C arrives while the runner polls it."""

    def start_execution(self, **_: object) -> dict:
        return {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:pt:run-1"}

    def describe_execution(self, **_: object) -> dict:
        raise KeyboardInterrupt


def test_ctrl_c_while_polling_says_the_execution_keeps_running() -> None:
    outputs = {
        "region": "us-east-1",
        "function_name": "crud-fn",
        "state_machine_arn": "arn:sm",
        "architecture": "arm64",
        "memory_size": 1024,
    }
    execution_input = build_execution_input(ARN, power_values=[128], num=5, payload={})
    with pytest.raises(
        InterruptedRunError, match=r"keeps running on AWS: .*execution:pt:run-1 .*stop-execution"
    ):
        _aws(outputs, execution_input, client_factory=lambda *_, **__: _InterruptedStepFunctions())


class _EmptyHistory:
    def get_paginator(self, _: str) -> _EmptyHistory:
        return self

    def paginate(self, **_: object) -> list[dict]:
        return [{"events": []}]


def test_a_null_output_is_not_called_a_caught_error() -> None:
    """A dryRun succeeds with output null: no result, but nothing was caught either."""
    description = {"status": "SUCCEEDED", "executionArn": "arn:x", "output": "null"}
    with pytest.raises(TuningError, match=r"^Power Tuning ended with output null, which holds no result"):
        result_output(_EmptyHistory(), description)


def _failing_run(endpoint: str, outcome: str, failing: tuple[int, ...], *, skip_failing: bool) -> TuningRun:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(
        endpoint, lambda_client, sfn, iam, outcome, failing_sizes=failing, power_values=[128, 256, 512]
    )
    return _aws(outputs, _input(outputs), log_delivery_wait_s=0, skip_failing=skip_failing).run


# The fake Executor's error (tests/support/power_tuning_fake.DEFAULT_SIZE_CAUSE) as the history gives it
OOM = (
    "Error: Invocation error (running in series): "
    '{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: 1 Error: Runtime exited with error: '
    'signal: killed"}'
)


@pytest.mark.parametrize(
    ("outcome", "status"), [("size_caught", "ended with output {}"), ("size_failed", "execution FAILED")]
)
def test_a_failing_size_is_named_with_its_cause_and_how_to_skip_it(
    moto_endpoint: str, outcome: str, status: str
) -> None:
    with pytest.raises(TuningError) as failed:
        _failing_run(moto_endpoint, outcome, (256,), skip_failing=False)
    assert status in str(failed.value)
    assert OOM in str(failed.value)
    assert "It failed at 256 MB; rerun with --skip-failing" in str(failed.value)


@pytest.mark.parametrize(
    ("outcome", "status"), [("size_caught", "SUCCEEDED with output {}"), ("size_failed", "FAILED")]
)
def test_skip_failing_reruns_without_the_failing_size(moto_endpoint: str, outcome: str, status: str) -> None:
    run = _failing_run(moto_endpoint, outcome, (256,), skip_failing=True)
    assert run.output == realistic_output([128, 512])  # the rerun's own Analyzer output, untouched
    assert run.skipped == ({"power": 256, "cause": OOM},)
    first, rerun = run.metadata["executions"]
    assert (first["powerValues"], first["status"], first["failedAt"]) == ([128, 256, 512], status, [256])
    assert OOM in first["error"]
    assert (rerun["powerValues"], rerun["status"]) == ([128, 512], "SUCCEEDED")
    assert run.metadata["execution_arn"] == rerun["executionArn"]
    assert any("rerun without the sizes they failed at" in note for note in run.metadata["notes"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("failing", "deployed_cause"),
    [((128, 256, 512), "(Error: |not measured)"), ((128, 512), "not measured: every other size failed")],
)
def test_reruns_end_when_every_size_has_failed(
    moto_endpoint: str, failing: tuple, deployed_cause: str
) -> None:
    """Each rerun drops the sizes it failed at, so the reruns are bounded by the number of sizes; the
    deployed size (256 in the fake stack) left alone never brings back a size that failed as its partner."""
    with pytest.raises(
        TuningError, match=rf"Every memory size failed.*128 MB: Error: .*; 256 MB: {deployed_cause}"
    ):
        _failing_run(moto_endpoint, "size_caught", failing, skip_failing=True)
    sfn = boto3.client("stepfunctions")
    [machine] = sfn.list_state_machines()["stateMachines"]
    listed = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    sizes = [
        json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])["powerValues"]
        for execution in sorted(listed, key=lambda execution: execution["startDate"])
    ]
    # as on AWS, a failing Map iteration may abort the others before they fail: then a rerun finds the next
    assert 1 <= len(sizes) <= 3
    assert sizes[0] == [128, 256, 512]
    assert all(set(later) < set(earlier) for earlier, later in pairwise(sizes))


def _fake_reports(sfn: Any, spread: dict[int, float], drawn: list[dict]) -> Any:
    """Stands in for the REPORT lines of each execution (the fake's Executors invoke nothing): the sizes and
    num of the execution that just ended, durations drawn seeded around a known mean per size."""
    rng = random.Random(11)
    seen: set[str] = set()

    def read(_logs: Any, _log_group: str, _started: datetime, _ended: datetime) -> list[dict]:
        [machine] = sfn.list_state_machines()["stateMachines"]
        listed = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        [latest] = [execution for execution in listed if execution["executionArn"] not in seen]
        seen.add(latest["executionArn"])
        execution_input = json.loads(sfn.describe_execution(executionArn=latest["executionArn"])["input"])
        records = []
        for power in execution_input["powerValues"]:
            for _ in range(execution_input["num"]):
                duration = 100_000 / power * rng.lognormvariate(0, spread[power])
                records.append({"power": power, "duration_ms": duration, "billed_ms": int(duration) + 1})
        drawn.extend(records)
        return records

    return read


def test_auto_runs_executions_until_each_size_is_precise_and_merges_them(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(moto_endpoint, lambda_client, sfn, iam, power_values=[128, 256, 512])
    drawn: list[dict] = []
    monkeypatch.setattr(
        aws_runner, "read_report_invocations", _fake_reports(sfn, {128: 0.3, 256: 0.01, 512: 0.01}, drawn)
    )
    execution_input = _input(outputs, num=10)
    done = _aws(
        outputs, execution_input, log_delivery_wait_s=0, sampling=Sampling(None, precision=0.05, max_num=200)
    )
    run = done.run
    first, *later = run.metadata["executions"]
    assert (first["powerValues"], first["num"]) == ([128, 256, 512], 10)
    assert [execution["powerValues"] for execution in later] == [[128]] * len(later)  # quiet sizes stopped
    assert later
    assert done.sampled.n == {128: 10 + sum(e["num"] for e in later), 256: 10, 512: 10}
    assert list(run.invocations) == drawn
    by_size = [
        (p, [(r["duration_ms"], r["billed_ms"]) for r in drawn if r["power"] == p]) for p in (128, 256, 512)
    ]
    expected = build_output(by_size, architecture="x86_64", region="us-east-1")
    assert run.output["stats"] == expected["stats"]
    assert run.output["power"] == expected["power"]
    # the tool's estimate per execution, rounded to 5 decimals: 6 + 3 × 3 sizes = 15 transitions × $0.000025
    # → 0.00038, then 6 + 3 = 9 → 0.00023 for each 128 MB-only execution
    assert run.output["stateMachine"]["executionCost"] == round(0.00038 + 0.00023 * len(later), 5)
    notes = run.metadata["notes"]
    assert any("analyzer (tuning.engine.analyzer.build_output) over the REPORT lines" in n for n in notes)


def test_auto_without_a_log_group_is_refused_before_starting(moto_endpoint: str) -> None:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(moto_endpoint, lambda_client, sfn, iam)
    del outputs["log_group_name"]
    with pytest.raises(ValueError, match="no log_group_name"):
        _aws(outputs, _input(outputs), sampling=Sampling(None))
    assert sfn.list_executions(stateMachineArn=outputs["state_machine_arn"])["executions"] == []


def test_the_deployed_size_is_never_the_first_an_execution_publishes(moto_endpoint: str) -> None:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(moto_endpoint, lambda_client, sfn, iam)  # deployed at 256 MB
    execution_input = _input(outputs).with_values([256, 128, 512], 5)
    run = _aws(outputs, execution_input, log_delivery_wait_s=0).run
    (execution,) = run.metadata["executions"]
    assert execution["powerValues"] == [128, 512, 256]
    (listed,) = sfn.list_executions(stateMachineArn=outputs["state_machine_arn"])["executions"]
    sent = json.loads(sfn.describe_execution(executionArn=listed["executionArn"])["input"])
    assert sent["powerValues"] == [128, 512, 256]


def test_only_the_deployed_size_is_refused_before_starting(moto_endpoint: str) -> None:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(moto_endpoint, lambda_client, sfn, iam)
    with pytest.raises(ValueError, match=r"powerValues \[256\] is only the deployed memory size"):
        _aws(outputs, _input(outputs).with_values([256], 5))
    assert sfn.list_executions(stateMachineArn=outputs["state_machine_arn"])["executions"] == []


def test_a_round_left_with_only_the_deployed_size_measures_another_beside_it(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(moto_endpoint, lambda_client, sfn, iam, power_values=[128, 256, 512])
    monkeypatch.setattr(
        aws_runner, "read_report_invocations", _fake_reports(sfn, {128: 0.01, 256: 0.3, 512: 0.01}, [])
    )
    run = _aws(
        outputs,
        _input(outputs, num=10),
        log_delivery_wait_s=0,
        sampling=Sampling(None, precision=0.05, max_num=200),
    ).run
    _, *later = run.metadata["executions"]
    assert later
    assert all(execution["powerValues"] == [128, 256] for execution in later)  # 256 MB alone would fail
