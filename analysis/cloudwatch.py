"""AWS/Lambda CloudWatch metrics of the function, per alias, as one tidy DataFrame.

Power Tuning invokes one alias per memory size (``RAM128`` …), and Lambda publishes every metric twice:
under ``{FunctionName}`` (the function total) and under ``{FunctionName, Resource=<fn>:<alias>}``. Dimension
sets match exactly in ``get_metric_data``, so each alias is its own query. The same code runs against AWS and
the emulator (boto3 takes the endpoint from ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from settings.lazy_imports import boto3_client

NAMESPACE = "AWS/Lambda"
FUNCTION_TOTAL = "(function)"
# metric → the statistics that make sense for it (percentiles only exist for Duration)
METRIC_STATS: dict[str, tuple[str, ...]] = {
    "Invocations": ("Sum",),
    "Errors": ("Sum",),
    "Throttles": ("Sum",),
    "ConcurrentExecutions": ("Maximum",),
    "Duration": ("Average", "p50", "p90", "p99"),
}
COLUMNS = ["timestamp", "resource", "alias", "metric", "stat", "value"]
_SPAN = re.compile(r"(?P<count>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_QUERIES_PER_CALL = 500  # GetMetricData's limit
# CloudWatch keeps 1-minute data 15 days, 5-minute data 63 days, then hourly: older windows need coarser
# periods.
_RETENTION_STEPS = ((timedelta(days=15), 60), (timedelta(days=63), 300), (timedelta.max, 3600))


def parse_since(since: str | datetime, now: datetime | None = None) -> datetime:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"2w"`` (before now) or an ISO time → an aware UTC datetime.

    Raises ValueError with the accepted forms, so a typo in a notebook parameter reads as a sentence.
    """
    now = now or datetime.now(UTC)
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    text = str(since).strip()
    span = _SPAN.fullmatch(text)
    if span:
        try:
            return now - timedelta(seconds=float(span["count"]) * _UNIT_SECONDS[span["unit"]])
        except OverflowError:  # timedelta's range, or a start before year 1
            raise ValueError(
                f"since={since!r} reaches back before any data (year 1): give a shorter span"
            ) from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"since={since!r} is neither a span like 7d, 12h, 30m, 2w nor an ISO time like 2026-11-20T00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A metrics window whose start and end sit on period boundaries, as CloudWatch buckets them."""

    start: datetime
    end: datetime
    period: int  # seconds, a multiple of 60

    @property
    def buckets(self) -> int:
        return int((self.end - self.start).total_seconds() // self.period)


def aligned_window(start: datetime, end: datetime, period: int | None = None) -> Window:
    """Round ``start`` down and ``end`` up to whole periods; without ``period``, one bucket spans the window.

    One bucket per series gives true window percentiles (percentiles of buckets cannot be combined). moto
    starts buckets exactly at StartTime while AWS aligns them to the period grid, so aligning here makes
    both agree. The period respects CloudWatch's retention (1-minute data for 15 days, 5-minute for 63,
    then hourly).
    """
    age = datetime.now(UTC) - start
    granularity = next(step for limit, step in _RETENTION_STEPS if age <= limit)
    start_s = math.floor(start.timestamp() / granularity) * granularity
    if period is None:
        period = max(granularity, math.ceil((end.timestamp() - start_s) / granularity) * granularity)
        end_s = start_s + period
    else:
        period = max(granularity, math.ceil(period / granularity) * granularity)
        start_s = math.floor(start.timestamp() / period) * period
        end_s = max(start_s + period, math.ceil(end.timestamp() / period) * period)
    return Window(datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC), period)


def discover_resources(function_name: str, client: Any) -> list[str]:
    """The ``Resource`` values (``<fn>:<alias|version>``) CloudWatch has metrics for (last two weeks)."""
    found: set[str] = set()
    paginator = client.get_paginator("list_metrics")
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    for page in paginator.paginate(Namespace=NAMESPACE, Dimensions=dimensions):
        for metric in page.get("Metrics", []):
            for dim in metric.get("Dimensions", []):
                if dim["Name"] == "Resource" and dim["Value"].startswith(f"{function_name}:"):
                    found.add(dim["Value"])
    return sorted(found, key=_resource_sort_key)


def _resource_sort_key(resource: str) -> tuple[int, str]:
    """``fn:RAM128`` before ``fn:RAM1024`` (by the memory in the alias), then other aliases by name."""
    alias = resource.split(":", 1)[-1]
    digits = re.fullmatch(r"RAM(\d+)", alias)
    return (int(digits[1]), "") if digits else (1 << 30, alias)


def _queries(function_name: str, resources: list[str], period: int) -> tuple[list[dict], dict[str, tuple]]:
    queries: list[dict] = []
    meaning: dict[str, tuple] = {}
    for r_index, resource in enumerate([None, *resources]):
        dimensions = [{"Name": "FunctionName", "Value": function_name}]
        if resource:
            dimensions.append({"Name": "Resource", "Value": resource})
        for m_index, (metric, stats) in enumerate(METRIC_STATS.items()):
            for s_index, stat in enumerate(stats):
                query_id = f"q{r_index}_{m_index}_{s_index}"
                meaning[query_id] = (resource or FUNCTION_TOTAL, metric, stat)
                queries.append(
                    {
                        "Id": query_id,
                        "MetricStat": {
                            "Metric": {
                                "Namespace": NAMESPACE,
                                "MetricName": metric,
                                "Dimensions": dimensions,
                            },
                            "Period": period,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                )
    return queries, meaning


def fetch_lambda_metrics(
    function_name: str,
    window: Window,
    *,
    aliases: list[str] = (),
    client: Any = None,
) -> pd.DataFrame:
    """Invocations, Errors, Throttles, ConcurrentExecutions and Duration (Average/p50/p90/p99) per alias.

    Aliases are those CloudWatch has data for plus ``aliases`` (e.g. the stack's ``live``); the function
    total is ``alias == "(function)"``. Returns one row per (bucket, resource, metric, stat) with columns
    ``COLUMNS``; an empty frame (same columns) when there is no data.
    """
    if client is None:
        client = boto3_client("cloudwatch")
    resources = discover_resources(function_name, client)
    for alias in aliases:
        resource = f"{function_name}:{alias}"
        if resource not in resources:
            resources.append(resource)
    queries, meaning = _queries(function_name, resources, window.period)
    rows: list[dict] = []
    for first in range(0, len(queries), _QUERIES_PER_CALL):
        chunk = queries[first : first + _QUERIES_PER_CALL]
        token: str | None = None
        while True:
            kwargs = {"MetricDataQueries": chunk, "StartTime": window.start, "EndTime": window.end}
            if token:
                kwargs["NextToken"] = token
            response = client.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                resource, metric, stat = meaning[result["Id"]]
                for timestamp, value in zip(
                    result.get("Timestamps", []), result.get("Values", []), strict=False
                ):
                    rows.append(
                        {
                            "timestamp": pd.Timestamp(timestamp).tz_convert("UTC"),
                            "resource": resource,
                            "alias": resource.split(":", 1)[1] if ":" in resource else FUNCTION_TOTAL,
                            "metric": metric,
                            "stat": stat,
                            "value": float(value),
                        }
                    )
            token = response.get("NextToken")
            if not token:
                break
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values(["resource", "metric", "stat", "timestamp"], ignore_index=True)


def metrics_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per alias (the function total first) and one column per ``metric stat`` over the whole window.

    Counts are summed over buckets, ConcurrentExecutions takes the maximum, Duration Average is weighted by
    the bucket's invocations; percentiles are only exact with a single bucket (``aligned_window`` without a
    period).
    """
    if metrics.empty:
        return pd.DataFrame()
    frame = metrics.assign(column=metrics["metric"] + " " + metrics["stat"])
    wide = frame.pivot_table(index=["alias", "timestamp"], columns="column", values="value", aggfunc="first")
    how = {column: ("sum" if column.endswith("Sum") else "max") for column in wide.columns}
    summary = wide.groupby(level="alias").agg(how)
    if "Duration Average" in wide and "Invocations Sum" in wide:
        weighted = (
            (wide["Duration Average"] * wide["Invocations Sum"]).groupby(level="alias").sum(min_count=1)
        )
        summary["Duration Average"] = weighted / summary["Invocations Sum"]
    summary = summary.loc[
        sorted(summary.index, key=lambda a: (a != FUNCTION_TOTAL, _resource_sort_key(f"x:{a}")))
    ]
    preferred = [f"{m} {s}" for m, stats in METRIC_STATS.items() for s in stats]
    return summary.reindex(columns=preferred)
