"""Results files: one JSON per tuning run under ``results/``, written atomically; tidy DataFrames of them.

A file holds run metadata, the Power Tuning input, the output in the tool's exact schema, and for local runs
every invocation plus how memory was emulated. Loaders recover per-power averages from the visualization URL
when the output lacks ``stats``, so every run yields the same columns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuning.files import write_text_atomically
from tuning.visualization import decode_url

if TYPE_CHECKING:  # pandas is imported by the frame builders only: the CLI's run path stays light
    import pandas as pd

SOURCES = ("aws", "local")
DEFAULT_RESULTS_DIR = Path("results")
SCHEMA_VERSION = 1
DEFAULT_BALANCED_WEIGHT = 0.5  # Power Tuning's balancedWeight when the input has none
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

RUN_COLUMNS = [
    "run",
    "source",
    "emulated",
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
]
POWER_COLUMNS = [
    *RUN_COLUMNS,
    "power",
    "average_duration_ms",
    "average_price_usd",
    "is_optimum",
    "stats_from",
]
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


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def results_file_name(started: datetime, source: str, function_name: str) -> str:
    """``<UTC time>_<aws|local>_<function>.json``; the function name is made safe for file systems."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    return f"{_timestamp(started)}_{source}_{_UNSAFE.sub('-', function_name) or 'function'}.json"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_json_atomically(path: Path, document: Any) -> Path:
    """Write ``document`` as indented JSON, atomically and with the umask's mode (``tuning.files``)."""
    return write_text_atomically(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


def write_results(
    *,
    source: str,
    function_name: str,
    region: str,
    architecture: str,
    started: datetime,
    ended: datetime,
    execution_input: dict[str, Any],
    output: dict[str, Any],
    execution_arn: str | None = None,
    invocations: list[dict[str, Any]] | None = None,
    emulation: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    results_dir: str | Path = DEFAULT_RESULTS_DIR,
) -> Path:
    """Save one run as ``results_dir/<UTC time>_<source>_<function>.json`` (atomic); returns the path.

    Local runs are labelled ``emulated``: their timings come from this machine's CPU, whatever is priced.
    """
    directory = Path(results_dir)
    path = directory / results_file_name(started, source, function_name)
    counter = 2
    while path.exists():  # two runs within one second must not overwrite each other
        path = directory / f"{path.stem.rsplit('~', 1)[0]}~{counter}.json"
        counter += 1
    document = {
        "schema_version": SCHEMA_VERSION,
        "metadata": {
            "source": source,
            "emulated": source == "local",
            "function_name": function_name,
            "region": region,
            "architecture": architecture,
            "started": _iso(started),
            "ended": _iso(ended),
            "execution_arn": execution_arn,
            **(extra or {}),
        },
        "input": execution_input,
        "output": output,
    }
    if source == "local" or invocations is not None:
        document["invocations"] = invocations or []
    if source == "local" or emulation is not None:
        document["emulation"] = emulation or {}
    return write_json_atomically(path, document)


def load_results(path: str | Path) -> dict[str, Any]:
    """One results file; ValueError when it is not one (no metadata/output)."""
    path = Path(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not {"metadata", "input", "output"} <= document.keys():
        raise ValueError(f"{path} is not a tuning results file (needs metadata, input and output)")
    document.setdefault("invocations", [])
    return document


def result_paths(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> list[Path]:
    """Results files of a directory (sorted, i.e. by start time), or the given paths as they are."""
    if isinstance(location, str | Path):
        location = Path(location)
        if location.is_dir():
            return sorted(p for p in location.glob("*.json") if not p.name.startswith("."))
        return [location]
    return [Path(p) for p in location]


def per_power_stats(output: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Per-power averages of an output and where they came from: ``stats``, else the visualization URL."""
    if output.get("stats"):
        return list(output["stats"]), "stats"
    url = (output.get("stateMachine") or {}).get("visualization")
    if url:
        return decode_url(url), "visualization"
    return [], "none"


def _run_row(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    meta, execution_input, output = document["metadata"], document["input"], document["output"]
    return {
        "run": path.stem,
        "source": meta.get("source"),
        "emulated": bool(meta.get("emulated")),
        "function_name": meta.get("function_name"),
        "region": meta.get("region"),
        "architecture": meta.get("architecture"),
        "started": meta.get("started"),
        "ended": meta.get("ended"),
        "execution_arn": meta.get("execution_arn"),
        "strategy": execution_input.get("strategy", "cost"),
        # the balanced pick of this run can only be recomputed with the weight it was run with
        "balanced_weight": execution_input.get("balancedWeight", DEFAULT_BALANCED_WEIGHT),
        "num": execution_input.get("num"),
        "optimum_power": output.get("power"),
    }


def results_frame(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> pd.DataFrame:
    """One row per (run, power value): run metadata, average duration and price, whether it is the optimum."""
    import pandas as pd

    rows = []
    for path in result_paths(location):
        document = load_results(path)
        run = _run_row(path, document)
        stats, origin = per_power_stats(document["output"])
        for stat in stats:
            rows.append(
                {
                    **run,
                    "power": stat["value"],
                    "average_duration_ms": stat["averageDuration"],
                    "average_price_usd": stat["averagePrice"],
                    "is_optimum": stat["value"] == run["optimum_power"],
                    "stats_from": origin,
                }
            )
    frame = pd.DataFrame(rows, columns=POWER_COLUMNS)
    for column in ("started", "ended"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def invocations_frame(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> pd.DataFrame:
    """One row per invocation: every local run, and AWS runs whose REPORT lines were read from the logs."""
    import pandas as pd

    rows = []
    for path in result_paths(location):
        document = load_results(path)
        for record in document["invocations"]:
            rows.append(
                {
                    "run": path.stem,
                    "function_name": document["metadata"].get("function_name"),
                    **{key: record.get(key) for key in INVOCATION_COLUMNS[2:]},
                }
            )
    return pd.DataFrame(rows, columns=INVOCATION_COLUMNS)
