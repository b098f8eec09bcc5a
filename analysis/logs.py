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
from tuning.engine.reports import parse_report_line
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


def invocations_for_charts(report_lines: pd.DataFrame, local_invocations: pd.DataFrame) -> pd.DataFrame:
    """The per-invocation records the distribution charts draw: per memory size, the REPORT lines when the
    log group has some, else the results files' own records (local runs measure the same fields).

    ``local_invocations`` is ``analysis.frames.invocations_frame`` (``power``, ``duration_ms``, ``init_ms``,
    ``max_memory_used_mb``, ``cold``).
    """
    covered = set(report_lines["memory_mb"].dropna().astype(int)) if not report_lines.empty else set()
    frames = [report_lines] if not report_lines.empty else []
    if not local_invocations.empty:
        local = local_invocations.rename(columns={"power": "memory_mb"})
        local = local[~local["memory_mb"].astype(int).isin(covered)]
        if not local.empty:
            # results files are named <time>_<aws|local>_<function>.json; local timings are emulated
            emulated = local["run"].astype(str).str.contains("_local_")
            label = emulated.map({True: "local runs (emulated)", False: "results files"})
            frames.append(local.assign(source=label).reindex(columns=COLUMNS))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


def per_memory_summary(invocations: pd.DataFrame) -> pd.DataFrame:
    """One row per memory size: how many invocations (cold ones), duration percentiles, median init and
    peak memory, and where the records come from — the table a reader scans before the charts."""
    if invocations.empty:
        return pd.DataFrame()
    frame = invocations.astype({"duration_ms": float, "init_ms": float, "max_memory_used_mb": float})
    grouped = frame.groupby("memory_mb")
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
    ).rename_axis("memory MB")
