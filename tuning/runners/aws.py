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
from settings.lazy_imports import boto3_client
from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT, is_failed_output
from tuning.engine.inputs import check_power_values, order_for_deployed
from tuning.engine.report_lines import parse_report_line, total_billed_ms, total_duration_ms
from tuning.errors import InterruptedRunError, TuningError
from tuning.history import execution_history, failed_power_values, failure_cause
from tuning.record import ExecutionInput
from tuning.runners.request import DEFAULT_POLL_INTERVAL_S, Finished, Priced, RunRequest, finished
from tuning.runners.rounds import RoundReport, RoundResult, merged_note, merged_output, sample

_FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
# Pause after the run before reading logs: CloudWatch Logs delivers REPORT lines a few seconds late.
LOG_DELIVERY_WAIT_S = 5.0


def build_execution_input(
    function_arn: str,
    *,
    power_values: Sequence[int],
    num: int,
    payload: Any,
    strategy: str = "cost",
    balanced_weight: float = DEFAULT_BALANCED_WEIGHT,
    parallel: bool = True,
) -> ExecutionInput:
    """Power Tuning's execution input, checked here so that bad input fails before ``StartExecution`` (the
    tool would fail late, or clamp silently). ``autoOptimize`` is never set: Pulumi applies the result."""
    if not 0 <= balanced_weight <= 1:
        raise ValueError(f"balancedWeight must be between 0 and 1, got {balanced_weight!r}")
    check_power_values(power_values)  # the tool reads an empty list as its defaults
    return ExecutionInput.for_run(
        {
            "lambdaARN": function_arn,
            "powerValues": list(power_values),
            "num": num,
            "payload": payload,
            "parallelInvocation": parallel,
            "strategy": strategy,
            "balancedWeight": balanced_weight,
            "includeOutputResults": True,
        }
    )


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


def failure_message(description: dict[str, Any], history_events: list[dict]) -> str:
    """Why an execution gave no result, with the cause from its history (CleanUpOnError's input for
    ``{}``)."""
    status, arn, raw = description["status"], description["executionArn"], description.get("output")
    if status == "SUCCEEDED" and not is_failed_output(json.loads(raw or "null")):  # e.g. dryRun's null
        return (
            f"Power Tuning ended with output {(raw or 'null')[:200]}, which holds no result (execution {arn})"
        )
    cause = failure_cause(history_events)
    if status == "SUCCEEDED":
        return f"Power Tuning caught an error and ended with output {{}} (execution {arn}): {cause}"
    return f"Power Tuning execution {status} ({arn}): {cause}"


def ended_without_result(description: dict[str, Any]) -> bool:
    """FAILED, TIMED_OUT, ABORTED, or SUCCEEDED with the ``{}`` of a caught error: the history explains
    these."""
    raw = description.get("output")
    return description["status"] in _FAILED_STATUSES or is_failed_output(json.loads(raw) if raw else None)


def result_output(sfn: Any, description: dict[str, Any]) -> dict[str, Any]:
    """The Analyzer object of a finished execution, or TuningError for every way the tool signals failure."""
    raw = description.get("output")
    output = json.loads(raw) if raw else None
    if description["status"] in _FAILED_STATUSES or not isinstance(output, dict) or not output:
        raise TuningError(failure_message(description, execution_history(sfn, description["executionArn"])))
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


@dataclass
class _Execution:
    """One state machine execution of a run: what it ran, and its result or why it failed."""

    execution_arn: str
    power_values: list[int]
    num: int
    started: datetime
    ended: datetime
    status: str
    output: dict[str, Any] | None = None  # the Analyzer object when it gave a result
    failing: dict[int, str] = field(default_factory=dict)  # sizes the history blames, with their cause
    message: str = ""  # why it gave no result
    invocations: list[dict[str, Any]] | None = None  # its REPORT lines; None when they could not be read

    def describe(self) -> dict[str, Any]:
        """For the results file's metadata."""
        described = {
            "executionArn": self.execution_arn,
            "powerValues": self.power_values,
            "num": self.num,
            "status": self.status,
        }
        if self.output is None:
            described.update(failedAt=sorted(self.failing), error=self.message)
        return described


DEPLOYED_ALONE = (
    "not measured: every other size failed, and Power Tuning cannot run the deployed size alone (its "
    "cleaner would delete the version the live alias uses)"
)


@dataclass
class _Session:
    """What every execution of one ``run_aws`` shares; ``round`` runs one round (with reruns)."""

    outputs: dict[str, Any]
    execution_input: ExecutionInput
    client_factory: Callable[..., Any]
    seed: Sequence[dict[str, Any]]
    poll_interval_s: float
    log_delivery_wait_s: float
    show_progress: bool
    skip_failing: bool
    reports_required: bool  # --num auto measures with REPORT lines: without them there is no result
    executions: list[_Execution] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: set[int] = field(default_factory=set)  # sizes that failed in any round: never a partner

    def __post_init__(self) -> None:
        self.sfn = self.client_factory("stepfunctions", region_name=self.outputs["region"])

    def round(self, power_values: list[int], num: int) -> RoundResult:
        """One execution of ``power_values`` × ``num``. With ``skip_failing`` an execution that failed at some
        sizes is rerun without them: each rerun drops one size at least, so a round runs at most as many
        executions as it has sizes. Without it, or when the history blames no size, the failure is final."""
        result = RoundResult()
        remaining = list(power_values)
        while remaining:
            ordered = self._ordered(remaining)
            if ordered is None:
                result.failed[remaining[0]] = DEPLOYED_ALONE
                return result
            execution = self._execute(ordered, num)
            if execution.output is not None:
                execution.invocations = self._reports(execution)
                result.records.extend(execution.invocations or [])
                return result
            if not execution.failing:
                raise TuningError(execution.message)
            if not self.skip_failing:
                sizes = ", ".join(f"{power} MB" for power in sorted(execution.failing))
                raise TuningError(
                    f"{execution.message}\nIt failed at {sizes}; rerun with --skip-failing to tune the other "
                    "sizes (each failing size is then listed with its cause)"
                )
            result.failed.update(execution.failing)
            self.failed.update(execution.failing)
            remaining = [power for power in remaining if power not in execution.failing]
        return result

    def _ordered(self, power_values: list[int]) -> list[int] | None:
        """The sizes of one execution, the deployed size never first; a round left with only that size
        measures the smallest other size of the run that has not failed beside it (more samples of that
        size, nothing lost). None when every other size has failed: the deployed size alone cannot run."""
        deployed = int(self.outputs["memory_size"])
        if power_values == [deployed]:
            partners = [
                v for v in self.execution_input.power_values if v != deployed and v not in self.failed
            ]
            return [min(partners), deployed] if partners else None
        return order_for_deployed(power_values, deployed)

    def _execute(self, power_values: list[int], num: int) -> _Execution:
        """Seed, start one execution, wait for it; diagnose it from its history when it gave no result."""
        if self.seed:
            lambda_client = self.client_factory("lambda", region_name=self.outputs["region"])
            seed_items(lambda_client, self.outputs["function_name"], self.seed)
        started = datetime.now(UTC)
        execution_arn = self.sfn.start_execution(
            stateMachineArn=self.outputs["state_machine_arn"],
            name=f"tuning-{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
            input=json.dumps(self.execution_input.with_values(power_values, num).to_json()),
        )["executionArn"]
        try:
            description = wait_for_execution(
                self.sfn,
                execution_arn,
                total=len(power_values),
                poll_interval_s=self.poll_interval_s,
                show_progress=self.show_progress,
            )
        except KeyboardInterrupt:
            raise InterruptedRunError(
                f"Interrupted; the execution keeps running on AWS: {execution_arn} "
                f"(aws stepfunctions stop-execution --execution-arn {execution_arn})"
            ) from None
        ended = description.get("stopDate") or datetime.now(UTC)
        execution = _Execution(execution_arn, power_values, num, started, ended, description["status"])
        self.executions.append(execution)
        if ended_without_result(description):
            events = execution_history(self.sfn, execution_arn)
            execution.failing = failed_power_values(events, power_values)
            execution.message = failure_message(description, events)
            if execution.status == "SUCCEEDED":
                execution.status = "SUCCEEDED with output {}"
        else:
            execution.output = result_output(self.sfn, description)
        return execution

    def _reports(self, execution: _Execution) -> list[dict[str, Any]] | None:
        """The execution's REPORT lines: a bonus for a fixed ``num`` (p90, memory used; a note when they
        cannot be read), the measurements themselves for ``--num auto``."""
        log_group = self.outputs.get("log_group_name")
        if not log_group:
            problem = "no log_group_name in the stack outputs"
        else:
            time.sleep(self.log_delivery_wait_s)
            try:
                logs = self.client_factory("logs", region_name=self.outputs["region"])
                invocations = read_report_invocations(logs, log_group, execution.started, execution.ended)
            except (ClientError, BotoCoreError) as error:
                problem = f"could not read REPORT lines from {log_group}: {error}"
            else:
                expected = len(execution.power_values) * execution.num
                if len(invocations) != expected:
                    self.notes.append(
                        f"read {len(invocations)} REPORT lines from {log_group} for "
                        f"{execution.execution_arn}, expected {expected}: some arrive late, and other "
                        "traffic in the same minutes is counted too"
                    )
                return invocations
        if self.reports_required:
            raise TuningError(
                f"--num auto on AWS measures each size from the function's REPORT lines: {problem}. "
                "Give the stack's log_group_name and allow logs:FilterLogEvents, or use a fixed --num"
            )
        self.notes.append(f"{problem}: p90 and max memory unknown")
        return None


def run_aws(
    request: RunRequest,
    outputs: dict[str, Any],
    *,
    seed: Sequence[dict[str, Any]] = (),
    log_delivery_wait_s: float = LOG_DELIVERY_WAIT_S,
    show_progress: bool = True,
    client_factory: Callable[..., Any] | None = None,
    on_round: Callable[[RoundReport], Any] | None = None,
) -> Finished:
    """Seed, run the stack's Power Tuning state machine (once, or in rounds for ``--num auto``), and return
    the run's record (TuningError if none).

    One execution that gave the result: its output is the tool's own. Several (rounds): the output is what
    the tool's analyzer computes over the REPORT lines of every round (``tuning.runners.rounds``), and the
    notes say so. ``request.skip_failing`` reruns an execution that failed at some sizes without them."""
    execution_input, sampling = request.execution_input, request.sampling
    if sampling.auto and not outputs.get("log_group_name"):
        raise ValueError(
            "--num auto on AWS measures each size from the function's REPORT lines, and the stack outputs "
            "have no log_group_name to read them from; use a fixed --num"
        )
    session = _Session(
        outputs,
        execution_input,
        client_factory or boto3_client,
        seed,
        request.poll_interval_s,
        log_delivery_wait_s,
        show_progress,
        request.skip_failing,
        reports_required=sampling.auto,
    )
    order_for_deployed(execution_input.power_values, int(outputs["memory_size"]))  # refused before starting
    priced = Priced(
        function_name=outputs["function_name"],
        region=outputs["region"],
        price_region=execution_input.price_region,
        architecture=outputs["architecture"],
        api_type=request.api_type,
    )
    try:
        sampled = sample(
            execution_input.power_values,
            session.round,
            sampling,
            execution_input=execution_input,
            architecture=priced.architecture,
            region=priced.price_region,
            on_round=on_round,
        )
    except (ClientError, BotoCoreError) as error:
        raise TuningError(f"AWS call failed: {error}") from error
    succeeded = [execution for execution in session.executions if execution.output is not None]
    notes = session.notes
    if len(succeeded) == 1:
        output = succeeded[0].output
    else:
        output = merged_output(
            sampled,
            execution_input,
            [(len(e.power_values), e.num) for e in session.executions],
            architecture=priced.architecture,
            region=priced.price_region,
        )
        notes.append(merged_note(sampled, len(session.executions), "the REPORT lines"))
    failed = len(session.executions) - len(succeeded)
    if failed:
        notes.append(
            f"{failed} execution(s) failed and were rerun without the sizes they failed at (--skip-failing); "
            "those sizes are listed in skipped"
        )
    readable = all(execution.invocations is not None for execution in succeeded)
    return finished(
        request,
        priced,
        sampled,
        started=session.executions[0].started,
        ended=session.executions[-1].ended,
        output=output,  # type: ignore[arg-type]
        invocations=sampled.invocations if readable else None,
        notes=notes,
        execution_arn=succeeded[-1].execution_arn,
        extra={"executions": [execution.describe() for execution in session.executions]},
    )
