"""Telemetry published per invocation: log lines in the function's log group, AWS/Lambda metrics."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws

from emulator.cloudwatch_publisher import MeteredInvoker, Telemetry
from tests.e2e.lambda_metrics import lambda_metric_sum

FUNCTION = "fn-under-test"


@dataclass
class FakeInvocation:
    duration_ms: float
    error: dict | None = None
    log_lines: list[str] = field(default_factory=list)
    log_stream: str = ""
    init_ms: float | None = None


def invocation(
    request_id: str, duration_ms: float, error: dict | None = None, stream: str = ""
) -> FakeInvocation:
    lines = [
        f"START RequestId: {request_id} Version: $LATEST",
        f'{{"requestId": "{request_id}", "level": "INFO"}}',
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
        f"{int(duration_ms) + 1} ms\tMemory Size: 1024 MB\tMax Memory Used: 60 MB",
    ]
    return FakeInvocation(duration_ms, error, lines, stream)


@pytest.fixture
def aws():
    with mock_aws():
        yield (
            boto3.client("logs", region_name="us-east-1"),
            boto3.client("cloudwatch", region_name="us-east-1"),
        )


def test_invocations_reach_logs_and_metrics_with_both_dimension_sets(aws) -> None:
    logs, cloudwatch = aws
    with Telemetry(function_name=FUNCTION, logs_client=logs, cloudwatch_client=cloudwatch) as telemetry:
        telemetry.record(invocation("r1", 12.5), concurrent=1)
        telemetry.record(invocation("r2", 30.0, {"errorType": "E", "errorMessage": "m"}), concurrent=2)
        telemetry.record(invocation("r3", 7.25), concurrent=1)
        assert telemetry.flush(timeout_s=30)

    (stream,) = logs.describe_log_streams(logGroupName=f"/aws/lambda/{FUNCTION}")["logStreams"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream["logStreamName"])
    events = logs.get_log_events(
        logGroupName=f"/aws/lambda/{FUNCTION}", logStreamName=stream["logStreamName"], startFromHead=True
    )["events"]
    messages = [event["message"] for event in events]
    assert len(messages) == 12
    for request_id in ("r1", "r2", "r3"):
        mine = [m for m in messages if request_id in m]
        assert mine[0].startswith("START"), mine
        assert mine[-1].startswith("REPORT"), mine
    reports = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{FUNCTION}", filterPattern='"REPORT RequestId"'
    )
    assert len(reports["events"]) == 3

    for resource in (None, f"{FUNCTION}:live"):  # {FunctionName} and {FunctionName, Resource}

        def metric(name: str, resource: str | None = resource) -> float:
            return lambda_metric_sum(cloudwatch, FUNCTION, name, resource)

        assert metric("Invocations") == 3
        assert metric("Errors") == 1
        assert metric("Throttles") == 0
        assert metric("Duration") == pytest.approx(12.5 + 30.0 + 7.25)
        assert metric("ConcurrentExecutions") == 4


def test_a_deleted_log_group_is_recreated_as_lambda_does(aws) -> None:
    logs, cloudwatch = aws
    telemetry = Telemetry(function_name=FUNCTION, logs_client=logs, cloudwatch_client=cloudwatch).start()
    try:
        telemetry.record(invocation("r1", 1.0), concurrent=1)
        assert telemetry.flush(timeout_s=30)
        logs.delete_log_group(logGroupName=f"/aws/lambda/{FUNCTION}")
        telemetry.record(invocation("r2", 1.0), concurrent=1)
        assert telemetry.flush(timeout_s=30)
    finally:
        telemetry.close()
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{FUNCTION}")["events"]
    assert [e["message"] for e in events if e["message"].startswith("REPORT")] == [
        invocation("r2", 1.0).log_lines[-1]
    ]
    assert lambda_metric_sum(cloudwatch, FUNCTION, "Invocations") == 2


class RecordingTelemetry:
    def __init__(self) -> None:
        self.concurrency: list[int] = []

    def record(self, invocation: object, *, concurrent: int) -> None:
        self.concurrency.append(concurrent)


def test_metered_invoker_counts_invocations_in_flight() -> None:
    both_inside = threading.Barrier(2, timeout=10)

    def slow_invoke(event: dict) -> FakeInvocation:
        if event["wait"]:
            both_inside.wait()
        return FakeInvocation(1.0)

    recorder = RecordingTelemetry()
    invoker = MeteredInvoker(slow_invoke, recorder)  # type: ignore[arg-type]
    threads = [threading.Thread(target=invoker, args=({"wait": True},)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    invoker({"wait": False})
    assert sorted(recorder.concurrency[:2]) == [1, 2]
    assert recorder.concurrency[2] == 1


def test_each_execution_environment_logs_to_its_own_stream(aws) -> None:
    logs, cloudwatch = aws
    streams = ["2026/11/27/[$LATEST]" + "a" * 32, "2026/11/27/[$LATEST]" + "b" * 32]
    with Telemetry(function_name=FUNCTION, logs_client=logs, cloudwatch_client=cloudwatch) as telemetry:
        telemetry.record(invocation("r1", 1.0, stream=streams[0]), concurrent=1)
        telemetry.record(invocation("r2", 1.0, stream=streams[1]), concurrent=2)
        telemetry.record(invocation("r3", 1.0, stream=streams[0]), concurrent=1)
        assert telemetry.flush(timeout_s=30)
    for stream, request_ids in zip(streams, (["r1", "r3"], ["r2"]), strict=True):
        events = logs.get_log_events(
            logGroupName=f"/aws/lambda/{FUNCTION}", logStreamName=stream, startFromHead=True
        )["events"]
        assert [e["message"].split()[2] for e in events if e["message"].startswith("START")] == request_ids


def test_a_cold_start_logs_its_init_before_start(aws) -> None:
    logs, cloudwatch = aws
    cold = invocation("r1", 20.0)
    cold.log_lines = ["INIT_START Runtime Version: python:3.13", "loading", *cold.log_lines]
    cold.init_ms = 300.0
    with Telemetry(function_name=FUNCTION, logs_client=logs, cloudwatch_client=cloudwatch) as telemetry:
        telemetry.record(cold, concurrent=1)
        assert telemetry.flush(timeout_s=30)
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{FUNCTION}")["events"]
    assert [e["message"] for e in events] == cold.log_lines
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] == 320  # the init and the invocation, end to end
