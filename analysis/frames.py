"""Tidy DataFrames of results files: one row per (run, memory size) with its 95% intervals, one per
invocation, or one per skipped size with its cause."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tuning.engine.analyzer import STRATEGIES
from tuning.record import Pick, TuningRun, read_run
from tuning.results import DEFAULT_RESULTS_DIR, result_paths

PICK_COLUMNS = {strategy: f"{strategy}_pick" for strategy in STRATEGIES}
TRAFFIC_COLUMNS = ("request_bytes", "response_bytes", "function_log_bytes", "access_log_bytes")
RUN_COLUMNS = [
    "run",
    "source",
    "emulated",
    "runtime",  # local runs: the runtime the function ran on, e.g. "python3.13 · awslambdaric 4.2.2"
    "function_name",
    "region",
    "architecture",
    "started",
    "ended",
    "execution_arn",
    "strategy",
    "balanced_weight",
    "num",
    "optimum_power",
    "api_type",  # the front door the run was priced for: results files without it were priced as rest
    # the run's traffic: bytes per request, means over its invocations (NaN when the run measured none)
    *TRAFFIC_COLUMNS,
]
POWER_COLUMNS = [
    *RUN_COLUMNS,
    "power",
    "average_duration_ms",
    "average_price_usd",
    "is_optimum",
    # True where that strategy's pick is this size: the record's picks, flattened once here
    *PICK_COLUMNS.values(),
    "stats_from",
    # the results file's `confidence` entry of the size (NaN when the file has none)
    "n",
    "duration_low_ms",
    "duration_high_ms",
    "cost_low_usd",
    "cost_high_usd",
]
_CONFIDENCE_COLUMNS = {
    "n": "n",
    "durationLow": "duration_low_ms",
    "durationHigh": "duration_high_ms",
    "costLow": "cost_low_usd",
    "costHigh": "cost_high_usd",
}
SKIPPED_COLUMNS = ["run", "source", "function_name", "started", "power", "cause"]
INVOCATION_COLUMNS = [
    "run",
    "function_name",
    "power",
    "duration_ms",
    "billed_ms",
    "init_ms",
    "max_memory_used_mb",
    "error",
    "cold",
]


def pick_flags(picks: Mapping[str, Pick], power: int) -> dict[str, bool]:
    """``{"cost_pick": …, "speed_pick": …, "balanced_pick": …}`` of one size."""
    return {
        column: strategy in picks and picks[strategy].power == power
        for strategy, column in PICK_COLUMNS.items()
    }


def _run_row(path: Path, record: TuningRun) -> dict[str, Any]:
    meta = record.metadata
    return {
        "run": path.stem,
        "source": meta.get("source"),
        "emulated": bool(meta.get("emulated")),
        "runtime": (record.emulation or {}).get("runtime"),
        "function_name": meta.get("function_name"),
        "region": meta.get("region"),
        "architecture": meta.get("architecture"),
        "started": meta.get("started"),
        "ended": meta.get("ended"),
        "execution_arn": meta.get("execution_arn"),
        "strategy": record.input.strategy,
        "balanced_weight": record.input.balanced_weight,
        "num": record.input.num,
        "optimum_power": record.output.get("power"),
        "api_type": record.api_type,
        **{column: getattr(record.traffic, column) if record.traffic else None for column in TRAFFIC_COLUMNS},
    }


def results_frame(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> pd.DataFrame:
    """One row per (run, power value): run metadata, average duration and price, whether it is the optimum,
    and the 95% intervals of both with the number of invocations behind them."""
    rows = []
    for path in result_paths(location):
        record = read_run(path)
        run = _run_row(path, record)
        origin = record.stats_origin
        intervals = {entry["power"]: entry for entry in record.confidence}
        for stat in record.stats:
            interval = intervals.get(stat["value"], {})
            rows.append(
                {
                    **run,
                    "power": stat["value"],
                    "average_duration_ms": stat["averageDuration"],
                    "average_price_usd": stat["averagePrice"],
                    "is_optimum": stat["value"] == run["optimum_power"],
                    **pick_flags(record.picks, stat["value"]),
                    "stats_from": origin,
                    **{column: interval.get(key) for key, column in _CONFIDENCE_COLUMNS.items()},
                }
            )
    frame = pd.DataFrame(rows, columns=POWER_COLUMNS)
    for column in ("started", "ended"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def invocations_frame(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> pd.DataFrame:
    """One row per invocation: every local run, and AWS runs whose REPORT lines were read from the logs."""
    rows = []
    for path in result_paths(location):
        run = read_run(path)
        for record in run.invocations or ():
            rows.append(
                {
                    "run": path.stem,
                    "function_name": run.metadata.get("function_name"),
                    **{key: record.get(key) for key in INVOCATION_COLUMNS[2:]},
                }
            )
    return pd.DataFrame(rows, columns=INVOCATION_COLUMNS)


def skipped_frame(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> pd.DataFrame:
    """One row per memory size a run skipped because it failed there, with the cause."""
    rows = []
    for path in result_paths(location):
        record = read_run(path)
        meta = record.metadata
        for entry in record.skipped:
            rows.append(
                {
                    "run": path.stem,
                    "source": meta.get("source"),
                    "function_name": meta.get("function_name"),
                    "started": meta.get("started"),
                    "power": entry["power"],
                    "cause": entry["cause"],
                }
            )
    frame = pd.DataFrame(rows, columns=SKIPPED_COLUMNS)
    frame["started"] = pd.to_datetime(frame["started"], utc=True)
    return frame
