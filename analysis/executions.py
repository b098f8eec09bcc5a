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

from analysis.cloudwatch import parse_since
from analysis.frames import POWER_COLUMNS
from settings.lazy_imports import boto3_client
from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT
from tuning.history import execution_history, failure_cause
from tuning.results import per_power_stats

# The results files' columns (so executions and results files concatenate) plus what only executions have
COLUMNS = [*POWER_COLUMNS, "status", "cause"]


def _stats(output: dict) -> tuple[list[dict], str, str | None]:
    """Per-power averages (``stats``, else the visualization URL) and, when there are none, why."""
    try:
        stats, origin = per_power_stats(output)
    except ValueError as error:  # a visualization URL that does not decode
        return [], "none", str(error)
    return stats, origin, None if stats else "the output has neither stats nor a visualization URL"


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
        "emulated": False,
        "runtime": None,  # Lambda's own
        "function_name": lambda_arn.split(":function:")[-1].split(":")[0] if lambda_arn else None,
        "region": lambda_arn.split(":")[3] if lambda_arn.count(":") >= 4 else None,
        "architecture": architecture,
        "started": pd.Timestamp(description["startDate"]).tz_convert("UTC"),
        "ended": pd.Timestamp(description["stopDate"]).tz_convert("UTC")
        if description.get("stopDate")
        else None,
        "execution_arn": description["executionArn"],
        "strategy": execution_input.get("strategy", "cost"),
        "num": execution_input.get("num"),
        "balanced_weight": execution_input.get("balancedWeight", DEFAULT_BALANCED_WEIGHT),
    }
    status = description["status"]
    if status == "RUNNING":
        return [{**base, "status": "running"}]
    if status == "SUCCEEDED" and output and output.get("power") is not None:
        stats, stats_from, missing = _stats(output)
        run = {**base, "status": "succeeded", "optimum_power": output["power"], "stats_from": stats_from}
        if not stats:
            return [{**run, "cause": missing}]
        return [
            {
                **run,
                "power": entry["value"],
                "average_duration_ms": entry["averageDuration"],
                "average_price_usd": entry["averagePrice"],
                "is_optimum": entry["value"] == output["power"],
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
    state_machine_arn: str, since: str | datetime, *, architecture: str | None = None, client: Any = None
) -> pd.DataFrame:
    """Every execution of the state machine started at or after ``since`` (a datetime, an ISO time or a
    span like ``7d``), newest first, as ``COLUMNS``."""
    since = parse_since(since)
    if client is None:
        client = boto3_client("stepfunctions")
    rows: list[dict] = []
    for page in client.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
        for summary in page.get("executions", []):
            if summary["startDate"] < since:
                continue
            description = client.describe_execution(executionArn=summary["executionArn"])
            status, output = description["status"], description.get("output")
            settled = status == "RUNNING" or (status == "SUCCEEDED" and output not in (None, "{}"))
            history = None if settled else execution_history(client, summary["executionArn"])
            rows.extend(execution_rows(description, history, architecture))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["started", "power"], ascending=[False, True], ignore_index=True)


def combine_runs(executions: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Executions and results files in one frame (``COLUMNS``), newest run first.

    An AWS run saved by ``python -m tuning run`` appears in both; the results file wins (it may hold more,
    e.g. invocations), matched on the execution ARN.
    """
    results = results.reindex(columns=COLUMNS).assign(status="succeeded")
    results["balanced_weight"] = results["balanced_weight"].fillna(DEFAULT_BALANCED_WEIGHT)
    saved = set(results["execution_arn"].dropna())
    executions = executions[~executions["execution_arn"].isin(saved)].reindex(columns=COLUMNS)
    frames = [frame for frame in (executions, results) if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    combined = pd.concat(frames, ignore_index=True)
    return combined.sort_values(["started", "power"], ascending=[False, True], ignore_index=True)


def run_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run, newest first: when, where, how it ended, its optimum and the sizes it measured."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for run, frame in runs.groupby("run", sort=False):
        first = frame.iloc[0]
        powers = sorted(int(p) for p in frame["power"].dropna())
        optimum = first["optimum_power"]
        rows.append(
            {
                "run": run,
                "started": first["started"],
                "source": first["source"],
                "architecture": first["architecture"],
                "strategy": first["strategy"],
                "status": first["status"],
                "optimum MB": None if pd.isna(optimum) else int(optimum),
                "memory sizes": ", ".join(map(str, powers)),
                "averages from": first["stats_from"],
                "cause": first["cause"],
            }
        )
    return pd.DataFrame(rows).sort_values("started", ascending=False).set_index("run")
