"""The AWS runner against the emulator's moto server with the Power Tuning fake: results, `{}` and FAILED."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.support.power_tuning_fake import (
    DEFAULT_CAUGHT_CAUSE,
    fake_stack_outputs,
    queue_lambda_results,
    realistic_output,
)
from tuning.errors import InterruptedRunError, TuningError
from tuning.payloads import parse_mix, seed_events, weighted_payload
from tuning.runners.aws import (
    build_execution_input,
    read_report_invocations,
    result_output,
    run_aws,
    validate_function_arn,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:crud-fn"


def _clients():
    return boto3.client("lambda"), boto3.client("stepfunctions"), boto3.client("iam")


def _input(outputs: dict, num: int = 5) -> dict:
    payload = weighted_payload(parse_mix("get=60,create=40"))
    return build_execution_input(
        outputs["function_arn"], power_values=[128, 256, 512], num=num, payload=payload
    )


def _run(endpoint: str, outcome: str, **fake):
    lambda_client, sfn, iam = _clients()
    outputs = fake_stack_outputs(endpoint, lambda_client, sfn, iam, outcome, **fake)
    seeds = seed_events(["a", "b"])
    queue_lambda_results(endpoint, [{"statusCode": 200, "body": "{}"}] * len(seeds))
    return run_aws(
        outputs, _input(outputs), seed=seeds, poll_interval_s=0.05, log_delivery_wait_s=0, show_progress=False
    )


def test_succeeded_run_returns_the_analyzer_output(moto_endpoint: str) -> None:
    run = _run(moto_endpoint, "success")
    assert run.output == realistic_output()
    assert run.execution_arn.startswith("arn:aws:states:us-east-1:")
    assert run.execution_input["includeOutputResults"] is True
    assert "autoOptimize" not in run.execution_input
    assert run.started <= run.ended


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
        run_aws(outputs, _input(outputs), seed=seed_events(["a"]), poll_interval_s=0.05, show_progress=False)
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
    assert built == {
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
    outputs = {"region": "us-east-1", "function_name": "crud-fn", "state_machine_arn": "arn:sm"}
    execution_input = build_execution_input(ARN, power_values=[128], num=5, payload={})
    with pytest.raises(
        InterruptedRunError, match=r"keeps running on AWS: .*execution:pt:run-1 .*stop-execution"
    ):
        run_aws(
            outputs,
            execution_input,
            show_progress=False,
            client_factory=lambda *_, **__: _InterruptedStepFunctions(),
        )


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
