"""Lambda REPORT lines from the function's log group, parsed client-side into a DataFrame.

Logs Insights would parse them server-side, but the emulator ignores ``parse``/``stats`` and Lambda's
discovered fields; ``filter_log_events`` with a quoted phrase behaves the same on AWS and on the emulator.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pandas as pd

from analysis.cloudwatch import parse_since
from settings.lazy_imports import boto3_client
from tuning.engine.report_lines import parse_report_line
from tuning.engine.stats import nearest_rank

# text-format lines ("REPORT RequestId: …") and JSON-format ones ({"type": "platform.report", …})
FILTER_PATTERNS = ('"REPORT RequestId"', '"platform.report"')
COLUMNS = [
    "source",
    "timestamp",
    "log_stream",
    "version",
    "memory_mb",
    "duration_ms",
    "billed_ms",
    "init_ms",
    "max_memory_used_mb",
    "cold",
]
MAX_LINES = 20_000
# Lambda names streams YYYY/MM/DD/[<version>]<environment id>; $LATEST or a published version number
_STREAM_VERSION = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(?P<version>[^\]]+)\]")


def stream_version(log_stream: str) -> str | None:
    """The function version a log stream belongs to (``$LATEST``, ``"7"``), None for other stream names."""
    match = _STREAM_VERSION.match(log_stream)
    return match["version"] if match else None


def fetch_report_lines(
    log_group_name: str,
    start: str | datetime,
    end: datetime | None = None,
    *,
    max_lines: int = MAX_LINES,
    client: Any = None,
) -> pd.DataFrame:
    """Every REPORT line of the log group between ``start`` (a datetime, ISO time or span like ``7d``) and
    ``end``: one row per invocation.

    Memory size comes from the line itself (an alias's version may have been deleted since); ``cold`` is
    True when the line has an Init Duration. A missing log group gives an empty frame with ``COLUMNS``.
    Reading stops after ``max_lines`` lines per pattern: a busy function logs millions a week, and a
    distribution needs thousands.
    """
    if client is None:
        client = boto3_client("logs")
    start = parse_since(start)
    kwargs: dict[str, Any] = {"logGroupName": log_group_name, "startTime": int(start.timestamp() * 1000)}
    if end is not None:
        kwargs["endTime"] = int(end.timestamp() * 1000)
    seen: set[str] = set()
    rows: list[dict] = []
    paginator = client.get_paginator("filter_log_events")
    try:
        for pattern in FILTER_PATTERNS:
            found = 0
            for page in paginator.paginate(filterPattern=pattern, **kwargs):
                for event in page.get("events", []):
                    row = None if event.get("eventId") in seen else _row(event)
                    seen.add(event.get("eventId"))
                    if row is not None and found < max_lines:
                        rows.append(row)
                        found += 1
                if found >= max_lines:
                    break
    except client.exceptions.ResourceNotFoundException:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("timestamp", ignore_index=True)


def _row(event: dict) -> dict | None:
    report = parse_report_line(event.get("message", ""))
    if report is None:
        return None
    stream = event.get("logStreamName", "")
    return {
        "source": "REPORT lines",
        "timestamp": pd.Timestamp(event["timestamp"], unit="ms", tz="UTC"),
        "log_stream": stream,
        "version": stream_version(stream),
        "memory_mb": report.get("memory_mb"),
        "duration_ms": report.get("duration_ms"),
        "billed_ms": report.get("billed_ms"),
        "init_ms": report.get("init_ms"),
        "max_memory_used_mb": report.get("max_memory_used_mb"),
        "cold": report.get("init_ms") is not None,
    }


LIVE_TRAFFIC = "live traffic"


def invocations_for_charts(
    report_lines: pd.DataFrame,
    run_invocations: pd.DataFrame,
    runs: pd.DataFrame,
    live_versions: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Every per-invocation record with the ``run`` it belongs to (None for other traffic), workloads kept
    apart: a run's own records (``analysis.frames.invocations_frame``) stay its own; a REPORT line belongs to
    a run when it comes from a published version (Power Tuning's ``RAM<n>``, never ``$LATEST``) at one of the
    run's sizes within its window (``runs``: ``run``, ``started``, ``ended``, ``power`` rows). Every other
    line is its own series, ``live traffic``, never merged into a run's sizes; so are the lines of the
    versions the ``live`` alias serves (``live_versions``), even at a run's size inside its window. A run
    whose results file holds its REPORT lines is not counted twice."""
    own = set(run_invocations["run"].dropna()) if not run_invocations.empty else set()
    frames = []
    if not report_lines.empty:
        owners = [_run_of(line, runs, live_versions) for line in report_lines.itertuples()]
        lines = report_lines.assign(run=owners)
        lines = lines[~lines["run"].isin(own)]
        lines.loc[lines["run"].isna(), "source"] = LIVE_TRAFFIC
        frames.append(lines.reindex(columns=[*COLUMNS, "run"]))
    if not run_invocations.empty:
        local = run_invocations.rename(columns={"power": "memory_mb"})
        # results files are named <time>_<aws|local>_<function>.json; local timings are emulated
        emulated = local["run"].astype(str).str.contains("_local_")
        label = emulated.map({True: "local runs (emulated)", False: "results files"})
        frames.append(local.assign(source=label).reindex(columns=[*COLUMNS, "run"]))
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=[*COLUMNS, "run"])
    combined = pd.concat(frames, ignore_index=True)
    combined["run"] = combined["run"].astype(object).where(combined["run"].notna(), None)  # JSON null
    return combined


def _run_of(line: Any, runs: pd.DataFrame, live_versions: frozenset[str]) -> str | None:
    if runs.empty or line.version in (None, "$LATEST", *live_versions) or pd.isna(line.memory_mb):
        return None
    inside = runs[
        (runs["started"] <= line.timestamp)
        & (line.timestamp <= runs["ended"])
        & (runs["power"] == int(line.memory_mb))
    ]
    return None if inside.empty else str(inside.iloc[0]["run"])


def per_memory_summary(invocations: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, memory size), other traffic as run ``live traffic``: how many invocations (cold
    ones), duration percentiles, median init and peak memory, and where the records come from — the table a
    reader scans before the charts."""
    if invocations.empty:
        return pd.DataFrame()
    frame = invocations.astype({"duration_ms": float, "init_ms": float, "max_memory_used_mb": float})
    # one block of rows per run, and one for other traffic: never one size's figures from two workloads
    series = frame["run"].fillna(LIVE_TRAFFIC) if "run" in frame else LIVE_TRAFFIC
    grouped = frame.assign(series=series).groupby(["series", "memory_mb"])
    return pd.DataFrame(
        {
            "invocations": grouped.size(),
            "cold": grouped["cold"].sum().astype(int),
            "p50 ms": grouped["duration_ms"].agg(lambda s: nearest_rank(s.dropna().tolist(), 50)),
            "p90 ms": grouped["duration_ms"].agg(lambda s: nearest_rank(s.dropna().tolist(), 90)),
            "max ms": grouped["duration_ms"].max(),
            "median init ms": grouped["init_ms"].median(),
            "peak memory MB": grouped["max_memory_used_mb"].max(),
            "source": grouped["source"].agg(lambda s: ", ".join(sorted(set(s.dropna())))),
        }
    ).rename_axis(["run", "memory MB"])


def newest_run_invocations(invocations: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """The invocations of the newest run (by start) that has any: what the per-size charts draw, one run's
    workload only; empty when no run has invocation records."""
    if invocations.empty or runs.empty:
        return invocations.iloc[0:0]
    recorded = runs[runs["run"].isin(set(invocations["run"].dropna()))]
    if recorded.empty:
        return invocations.iloc[0:0]
    newest = recorded.sort_values("started").iloc[-1]["run"]
    return invocations[invocations["run"] == newest]
