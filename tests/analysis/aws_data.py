"""AWS-shaped data for the analysis notebook's tests, seeded into the emulator's moto server.

Four Power Tuning executions of ONE state machine (the notebook reads one ARN), made by swapping the fake's
definition between runs: with ``stats``, without (visualization URL only), SUCCEEDED with ``{}``, FAILED.
AWS/Lambda metrics under both dimension sets, REPORT lines in the log group, and a local results file.
Numbers are chosen so expected values can be worked out by hand in the tests.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from tests.support.power_tuning_fake import (
    ACCOUNT_ID,
    REGION,
    cpu_bound_measurements,
    create_fake_power_tuning,
    fake_definition,
    realistic_output,
)
from tuning.record import ExecutionInput, measured_run
from tuning.results import write_results

FUNCTION = "crud-fn"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION}"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
POWER_VALUES = (128, 256, 512, 1024, 1536, 3008)
CURRENT_MEMORY = 1024
# execution name → the fake's outcome; started in this order, so the last successful one is "no-stats"
EXECUTIONS = {
    "with-stats": "success",
    "no-stats": "no_stats",
    "caught-error": "caught_error",
    "failed-init": "failed",
}
# Duration values per alias put as single datapoints (ms): p90 of 10 values by nearest rank is the 9th
DURATIONS = {
    alias: [base + 10 * i for i in range(10)] for alias, base in (("RAM128", 4100), ("RAM1024", 520))
}
LIVE_INVOCATIONS = 7
# REPORT lines: memory sizes the log group covers; the local results file covers every power value
REPORT_MEMORY = (128, 1024)


def outputs(state_machine_arn: str | None) -> dict[str, Any]:
    """Stack outputs of the seeded function, the contract's keys."""
    return {
        "api_url": "https://example.execute-api.us-east-1.amazonaws.com/prod",
        "api_key": "not-a-secret",
        "function_name": FUNCTION,
        "function_arn": FUNCTION_ARN,
        "alias_arn": f"{FUNCTION_ARN}:live",
        "table_name": "items",
        "log_group_name": LOG_GROUP,
        "state_machine_arn": state_machine_arn,
        "region": REGION,
        "memory_size": CURRENT_MEMORY,
        "architecture": "x86_64",
    }


def wait_for(sfn: Any, execution_arn: str) -> dict:
    """Poll (with a sleep: busy polling slows moto's interpreter thread) until the execution ends."""
    for _ in range(200):
        description = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_arn} still running")


def seed_executions() -> str:
    """The four executions, one after the other; returns the state machine ARN."""
    sfn, iam = boto3.client("stepfunctions"), boto3.client("iam")
    arn = create_fake_power_tuning(sfn, iam, "success", name="power-tuning")
    execution_input = {
        "lambdaARN": FUNCTION_ARN,
        "num": 10,
        "powerValues": list(POWER_VALUES),
        "strategy": "cost",
        "includeOutputResults": True,
    }
    for name, outcome in EXECUTIONS.items():
        sfn.update_state_machine(stateMachineArn=arn, definition=fake_definition(outcome))
        started = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(execution_input))
        wait_for(sfn, started["executionArn"])  # one after the other: the notebook orders runs by start time
    return arn


def _put(cloudwatch: Any, metric: str, alias: str | None, values: list[float], when: datetime) -> None:
    dimensions = [{"Name": "FunctionName", "Value": FUNCTION}]
    if alias:
        dimensions.append({"Name": "Resource", "Value": f"{FUNCTION}:{alias}"})
    data = [
        {"MetricName": metric, "Dimensions": dimensions, "Timestamp": when - timedelta(seconds=i), "Value": v}
        for i, v in enumerate(values)
    ]
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)


def seed_metrics(now: datetime) -> None:
    """Both dimension sets, like Lambda: per alias, and the function total (the sum of all aliases)."""
    cloudwatch = boto3.client("cloudwatch")
    when = now - timedelta(minutes=30)
    everything: list[float] = []
    for alias, durations in DURATIONS.items():
        _put(cloudwatch, "Duration", alias, durations, when)
        _put(cloudwatch, "Invocations", alias, [1.0] * len(durations), when)
        _put(cloudwatch, "Errors", alias, [0.0] * len(durations), when)
        everything.extend(durations)
    _put(cloudwatch, "Invocations", "live", [1.0] * LIVE_INVOCATIONS, when)
    _put(cloudwatch, "Throttles", "live", [1.0, 1.0], when)
    _put(cloudwatch, "Duration", None, everything, when)
    _put(cloudwatch, "Invocations", None, [1.0] * (len(everything) + LIVE_INVOCATIONS), when)
    _put(cloudwatch, "ConcurrentExecutions", None, [3.0, 5.0, 4.0], when)


def report_line(request_id: str, duration: float, memory: int, used: int, init: float | None) -> str:
    """A Lambda text-format REPORT line."""
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms"
        f"\tBilled Duration: {math.ceil(duration)} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB"
    )
    return line + (f"\tInit Duration: {init:.2f} ms\t" if init is not None else "\t")


def seed_report_lines(now: datetime) -> int:
    """START/REPORT/END lines for 5 invocations at each of REPORT_MEMORY (first one cold); returns count."""
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    count = 0
    for version, memory in enumerate(REPORT_MEMORY, start=1):
        stream = f"{now:%Y/%m/%d}/[{version}]0123456789abcdef{version}"
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        events = []
        start_ms = int((now - timedelta(minutes=20)).timestamp() * 1000)
        for i in range(5):
            request_id = f"{memory}-{i}"
            duration = 300.0 * 1769 / min(memory, 1769) + i
            init = 250.0 * 1769 / min(memory, 1769) if i == 0 else None
            at = start_ms + i * 1000
            events.append({"timestamp": at, "message": f"START RequestId: {request_id} Version: {version}"})
            events.append(
                {"timestamp": at + 1, "message": report_line(request_id, duration, memory, 70 + i, init)}
            )
            events.append({"timestamp": at + 2, "message": f"END RequestId: {request_id}"})
            count += 1
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)
    return count


SKIPPED_CAUSE = "Runtime.OutOfMemory: the function ran out of memory at 64 MB"


def write_local_results(results_dir: Path, started: datetime) -> Path:
    """A local run's results file (H3's writer) with one invocation record per measurement, and one size
    (64 MB) skipped with its cause."""
    measurements = cpu_bound_measurements(POWER_VALUES, 10)
    invocations = [
        {
            "power": power,
            "duration_ms": duration,
            "billed_ms": billed,
            "init_ms": 250.0 if index == 0 else None,
            "max_memory_used_mb": 60 + power // 128,
            "error": None,
            "cold": index == 0,
        }
        for power, records in measurements
        for index, (duration, billed) in enumerate(records)
    ]
    run = measured_run(
        source="local",
        function_name=FUNCTION,
        region=REGION,
        architecture="arm64",
        api_type="rest",
        started=started,
        ended=started + timedelta(minutes=2),
        execution_input=ExecutionInput.from_json(
            {"lambdaARN": FUNCTION_ARN, "powerValues": list(POWER_VALUES), "num": 10, "strategy": "cost"}
        ),
        output=realistic_output(POWER_VALUES, 10),
        invocations=invocations,
        emulation={"cpu_limiter": "duty-cycle"},
        skipped=[{"power": 64, "cause": SKIPPED_CAUSE}],
    )
    return write_results(run, results_dir=results_dir)


def seed_all(tmp: Path) -> dict[str, Any]:
    """Everything the notebook reads; returns paths and the stack outputs."""
    now = datetime.now(UTC)
    state_machine_arn = seed_executions()
    seed_metrics(now)
    seed_report_lines(now)
    results_dir = tmp / "results"
    write_local_results(results_dir, now - timedelta(hours=2))
    stack_outputs = outputs(state_machine_arn)
    outputs_path = tmp / "outputs.json"
    outputs_path.write_text(json.dumps(stack_outputs), encoding="utf-8")
    return {"outputs": stack_outputs, "outputs_path": outputs_path, "results_dir": results_dir}
