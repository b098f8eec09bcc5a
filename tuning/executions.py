"""Power Tuning executions of the stack's state machine as one tidy DataFrame (one row per run and power).

The output of an execution is the tool's Analyzer object. Without ``includeOutputResults`` it has no
``stats``, but the visualization URL carries the same per-power averages in its hash, so they are recovered
from there. A run the tool reports as SUCCEEDED with ``{}`` has failed (its Publisher or Executor raised and
``CleanUpOnError`` ended the run "successfully"); its cause lives in the execution history.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from tuning.visualization import decode_url

COLUMNS = [
    "run",
    "source",
    "status",
    "started",
    "ended",
    "function",
    "strategy",
    "balanced_weight",
    "architecture",
    "region",
    "num",
    "power",
    "averageDuration",
    "averagePrice",
    "optimal_power",
    "stats_from",
    "execution_cost",
    "lambda_cost",
    "cause",
    "execution_arn",
]
_FAILED_END_EVENTS = ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


def failure_cause(history_events: list[dict]) -> str:
    """The most specific error in an execution history, newest first, as ``"<Error>: <message>"``.

    Power Tuning catches Publisher/Executor errors into ``$.error`` and enters ``CleanUpOnError`` with it,
    so the state input carries the real cause; otherwise the failed task or execution event does.
    """
    for event in reversed(history_events):
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            caught = _caught_error(details.get("input"))
            if caught:
                return caught
            has_error = "error" in details or "cause" in details
            if has_error and (
                event.get("type", "").endswith("Failed") or event.get("type") in _FAILED_END_EVENTS
            ):
                return _readable(details.get("error"), details.get("cause"))
    return "no error recorded in the execution history"


def _caught_error(state_input: str | None) -> str | None:
    if not state_input:
        return None
    try:
        document = json.loads(state_input)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict) and ("Error" in error or "Cause" in error):
        return _readable(error.get("Error"), error.get("Cause"))
    return None


def _readable(error: str | None, cause: str | None) -> str:
    """Lambda causes are JSON (``{"errorType", "errorMessage"}``): keep the message, not the envelope."""
    message = cause or ""
    try:
        parsed = json.loads(message)
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            message = parsed["errorMessage"]
    except ValueError:
        pass
    return f"{error}: {message}" if error and message else (error or message or "unknown error")


def _history(client: Any, execution_arn: str) -> list[dict]:
    events: list[dict] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page.get("events", []))
    return events


def _stats(output: dict) -> tuple[list[dict], str | None, str | None]:
    """Per-power averages from ``stats``, else decoded from the visualization URL; plus why there are none."""
    if output.get("stats"):
        return output["stats"], "stats", None
    url = (output.get("stateMachine") or {}).get("visualization")
    if not url:
        return [], None, "the output has neither stats nor a visualization URL"
    try:
        return decode_url(url), "visualization", None
    except ValueError as error:
        return [], None, str(error)


def execution_rows(description: dict, history: list[dict] | None, architecture: str | None) -> list[dict]:
    """The DataFrame rows of one described execution: one per power value, or one failed row.

    ``history`` is only needed (and only fetched by the caller) for runs that did not succeed.
    """
    execution_input = json.loads(description.get("input") or "{}")
    raw_output = description.get("output")
    output = json.loads(raw_output) if raw_output else None
    lambda_arn = execution_input.get("lambdaARN", "")
    base = {
        "run": description.get("name") or description["executionArn"].rsplit(":", 1)[-1],
        "source": "aws",
        "started": pd.Timestamp(description["startDate"]).tz_convert("UTC"),
        "ended": pd.Timestamp(description["stopDate"]).tz_convert("UTC")
        if description.get("stopDate")
        else None,
        "function": lambda_arn.split(":function:")[-1].split(":")[0] if lambda_arn else None,
        "strategy": execution_input.get("strategy", "cost"),
        "balanced_weight": execution_input.get("balancedWeight", 0.5),
        "architecture": architecture,
        "region": lambda_arn.split(":")[3] if lambda_arn.count(":") >= 4 else None,
        "num": execution_input.get("num"),
        "execution_arn": description["executionArn"],
    }
    status = description["status"]
    if status == "RUNNING":
        return [{**base, "status": "running"}]
    if status == "SUCCEEDED" and output and output.get("power") is not None:
        stats, stats_from, missing = _stats(output)
        machine = output.get("stateMachine") or {}
        run = {
            **base,
            "status": "succeeded",
            "optimal_power": output["power"],
            "stats_from": stats_from,
            "execution_cost": machine.get("executionCost"),
            "lambda_cost": machine.get("lambdaCost"),
        }
        if not stats:
            return [{**run, "cause": missing}]
        return [
            {
                **run,
                "power": entry["value"],
                "averageDuration": entry["averageDuration"],
                "averagePrice": entry["averagePrice"],
            }
            for entry in stats
        ]
    if status == "SUCCEEDED" and output is None and execution_input.get("dryRun"):
        return [{**base, "status": "dry run", "cause": "dryRun: nothing was measured"}]
    cause = failure_cause(history or [])
    if status == "SUCCEEDED":  # Power Tuning's way of failing: CleanUpOnError ends the run "successfully"
        return [
            {**base, "status": "failed", "cause": f"SUCCEEDED with output {raw_output or 'null'} — {cause}"}
        ]
    return [{**base, "status": "failed", "cause": f"{status} — {cause}"}]


def load_executions(
    state_machine_arn: str, since: datetime, *, architecture: str | None = None, client: Any = None
) -> pd.DataFrame:
    """Every execution of the state machine started at or after ``since``, newest first, as ``COLUMNS``."""
    if client is None:
        import boto3

        client = boto3.client("stepfunctions")
    rows: list[dict] = []
    for page in client.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        for summary in page.get("executions", []):
            if summary["startDate"] < since:
                continue
            description = client.describe_execution(executionArn=summary["executionArn"])
            status, output = description["status"], description.get("output")
            settled = status == "RUNNING" or (status == "SUCCEEDED" and output not in (None, "{}"))
            history = None if settled else _history(client, summary["executionArn"])
            rows.extend(execution_rows(description, history, architecture))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["started", "power"], ascending=[False, True], ignore_index=True)
