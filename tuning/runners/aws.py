"""Power Tuning on AWS: validate and build the input, seed data, run the state machine, read the result.

Power Tuning reports a caught Publisher/Executor error as SUCCEEDED with ``{}``; like FAILED, TIMED_OUT and
ABORTED it becomes a ``TuningError`` whose message carries the cause from the execution history. The REPORT
lines of the run are read back from the function's log group when possible, for percentiles and memory used.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from api.names import ALIAS
from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT, STRATEGIES, is_failed_output
from tuning.engine.inputs import check_num, check_power_values, validate_function_arn
from tuning.engine.reports import parse_report_line, total_billed_ms, total_duration_ms
from tuning.errors import InterruptedRunError, TuningError
from tuning.history import execution_history, failure_cause
from tuning.payloads import expand_payloads

DEFAULT_POLL_INTERVAL_S = 5.0
_FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
# Pause after the run before reading logs: CloudWatch Logs delivers REPORT lines a few seconds late.
LOG_DELIVERY_WAIT_S = 5.0


@dataclass
class AwsRun:
    """One finished Power Tuning execution and what was read around it."""

    execution_arn: str
    execution_input: dict[str, Any]
    output: dict[str, Any]
    started: datetime
    ended: datetime
    invocations: list[dict[str, Any]] | None = None  # from REPORT lines; None when the logs could not be read
    notes: list[str] = field(default_factory=list)


def build_execution_input(
    function_arn: str,
    *,
    power_values: Sequence[int],
    num: int,
    payload: Any,
    strategy: str = "cost",
    balanced_weight: float = DEFAULT_BALANCED_WEIGHT,
    parallel: bool = True,
) -> dict[str, Any]:
    """Power Tuning's execution input, checked here so that bad input fails before ``StartExecution`` (the
    tool would fail late, or clamp silently). ``autoOptimize`` is never set: Pulumi applies the result."""
    validate_function_arn(function_arn)
    check_num(num)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not 0 <= balanced_weight <= 1:
        raise ValueError(f"balancedWeight must be between 0 and 1, got {balanced_weight!r}")
    check_power_values(power_values)
    try:
        expand_payloads(payload, num)  # the tool would only fail here inside the run, as SUCCEEDED with {}
    except ValueError as error:
        raise ValueError(f"{error}: raise num or give each weighted payload a larger share") from error
    return {
        "lambdaARN": function_arn,
        "powerValues": list(power_values),
        "num": num,
        "payload": payload,
        "parallelInvocation": parallel,
        "strategy": strategy,
        "balancedWeight": balanced_weight,
        "includeOutputResults": True,
    }


def seed_items(lambda_client: Any, function_name: str, events: Sequence[dict[str, Any]]) -> None:
    """Invoke the function's ``live`` alias with each seeding event; any error status stops the run."""
    for event in events:
        response = lambda_client.invoke(
            FunctionName=function_name, Qualifier=ALIAS, Payload=json.dumps(event).encode()
        )
        body = response["Payload"].read().decode("utf-8", "replace")
        if response.get("FunctionError"):
            raise TuningError(f"Seeding {event.get('path')} failed in the function: {body[:500]}")
        try:
            status = json.loads(body).get("statusCode")
        except (ValueError, AttributeError):
            status = None
        if not isinstance(status, int) or status >= 300:
            raise TuningError(f"Seeding {event.get('path')} answered {status or 'no status'}: {body[:500]}")


def _power_values_done(events: list[dict[str, Any]]) -> int:
    return sum(event.get("type") == "MapIterationSucceeded" for event in events)


def wait_for_execution(
    sfn: Any,
    execution_arn: str,
    *,
    total: int,
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Poll ``describe_execution`` (sleeping between calls) until the run ends; a tqdm bar counts finished
    power values (Map iterations) and shows the status and elapsed time."""

    with tqdm(total=total, desc="power values", unit="value", disable=not show_progress) as bar:
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            status = description["status"]
            done = (
                total if status == "SUCCEEDED" else _power_values_done(execution_history(sfn, execution_arn))
            )
            bar.update(max(0, min(done, total) - bar.n))
            bar.set_postfix_str(status.lower())
            if status != "RUNNING":
                return description
            time.sleep(poll_interval_s)


def failure_message(sfn: Any, description: dict[str, Any]) -> str:
    """Why an execution gave no result, with the cause from its history (CleanUpOnError's input for
    ``{}``)."""
    status, arn, raw = description["status"], description["executionArn"], description.get("output")
    if status == "SUCCEEDED" and not is_failed_output(json.loads(raw or "null")):  # e.g. dryRun's null
        return (
            f"Power Tuning ended with output {(raw or 'null')[:200]}, which holds no result (execution {arn})"
        )
    cause = failure_cause(execution_history(sfn, arn))
    if status == "SUCCEEDED":
        return f"Power Tuning caught an error and ended with output {{}} (execution {arn}): {cause}"
    return f"Power Tuning execution {status} ({arn}): {cause}"


def result_output(sfn: Any, description: dict[str, Any]) -> dict[str, Any]:
    """The Analyzer object of a finished execution, or TuningError for every way the tool signals failure."""
    raw = description.get("output")
    output = json.loads(raw) if raw else None
    if description["status"] in _FAILED_STATUSES or not isinstance(output, dict) or not output:
        raise TuningError(failure_message(sfn, description))
    if output.get("power") is None:
        raise TuningError(f"Power Tuning output has no optimum (dryRun?): {raw[:500]}")
    return output


def read_report_invocations(
    logs: Any, log_group_name: str, started: datetime, ended: datetime
) -> list[dict[str, Any]]:
    """The run's invocations from the REPORT lines in the function's log group (power = the Memory Size
    field)."""
    invocations = []
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=log_group_name,
        startTime=int(started.timestamp() * 1000),
        endTime=int((ended + timedelta(seconds=1)).timestamp() * 1000),
    )
    for page in pages:
        for event in page.get("events", []):
            report = parse_report_line(event.get("message", ""))
            if report is None or report["memory_mb"] is None:
                continue
            invocations.append(
                {
                    "power": report["memory_mb"],
                    "duration_ms": total_duration_ms(report),
                    "billed_ms": total_billed_ms(report),
                    "init_ms": report["init_ms"],
                    "max_memory_used_mb": report["max_memory_used_mb"],
                    "error": None,
                    "cold": report["init_ms"] is not None,
                }
            )
    return invocations


def run_aws(
    outputs: dict[str, Any],
    execution_input: dict[str, Any],
    *,
    seed: Sequence[dict[str, Any]] = (),
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
    log_delivery_wait_s: float = LOG_DELIVERY_WAIT_S,
    show_progress: bool = True,
    client_factory: Callable[..., Any] | None = None,
) -> AwsRun:
    """Seed, start the stack's Power Tuning state machine, wait, and return the result (TuningError if
    none)."""

    if client_factory is None:
        import boto3  # 173 ms to import (measured 2026-12-02): local runs never do

        client_factory = boto3.client
    region = outputs["region"]
    sfn = client_factory("stepfunctions", region_name=region)
    try:
        if seed:
            seed_items(client_factory("lambda", region_name=region), outputs["function_name"], seed)
        started = datetime.now(UTC)
        execution_arn = sfn.start_execution(
            stateMachineArn=outputs["state_machine_arn"],
            name=f"tuning-{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
            input=json.dumps(execution_input),
        )["executionArn"]
        try:
            description = wait_for_execution(
                sfn,
                execution_arn,
                total=len(execution_input["powerValues"]),
                poll_interval_s=poll_interval_s,
                show_progress=show_progress,
            )
        except KeyboardInterrupt:
            raise InterruptedRunError(
                f"Interrupted; the execution keeps running on AWS: {execution_arn} "
                f"(aws stepfunctions stop-execution --execution-arn {execution_arn})"
            ) from None
        output = result_output(sfn, description)
    except (ClientError, BotoCoreError) as error:
        raise TuningError(f"AWS call failed: {error}") from error
    ended = description.get("stopDate") or datetime.now(UTC)
    run = AwsRun(execution_arn, execution_input, output, started, ended)
    run.invocations = _try_read_reports(client_factory, outputs, run, log_delivery_wait_s)
    return run


def _try_read_reports(
    client_factory: Callable[..., Any], outputs: dict[str, Any], run: AwsRun, wait_s: float
) -> list[dict[str, Any]] | None:
    """REPORT lines are a bonus (p90, memory used): a missing log group or permission only adds a note."""

    log_group = outputs.get("log_group_name")
    if not log_group:
        run.notes.append("no log_group_name in the stack outputs: p90 and max memory unknown")
        return None
    time.sleep(wait_s)
    try:
        logs = client_factory("logs", region_name=outputs["region"])
        invocations = read_report_invocations(logs, log_group, run.started, run.ended)
    except (ClientError, BotoCoreError) as error:
        run.notes.append(f"could not read REPORT lines from {log_group}: {error}")
        return None
    expected = len(run.execution_input["powerValues"]) * run.execution_input["num"]
    if len(invocations) != expected:
        run.notes.append(
            f"read {len(invocations)} REPORT lines from {log_group}, expected {expected}: "
            "some arrive late, and other traffic in the same minutes is counted too"
        )
    return invocations
