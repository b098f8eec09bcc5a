"""Results files: one JSON per tuning run under ``results/``, written atomically, and read back.

A file holds run metadata, the Power Tuning input, the output in the tool's exact schema, and for local runs
every invocation plus how memory was emulated. Loaders recover per-power averages from the visualization URL
when the output lacks ``stats``. The tidy DataFrames of them are ``analysis.frames``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from api.files import write_text_atomically
from tuning.engine.visualization import decode_url

SOURCES = ("aws", "local")


class InvocationRecord(TypedDict):
    """One measured invocation as a results file keeps it (local runs; AWS runs from REPORT lines)."""

    power: int
    duration_ms: float  # what Power Tuning counts: Duration + Init Duration
    billed_ms: int | None
    init_ms: float | None  # None: a warm invocation
    max_memory_used_mb: int | None
    error: str | None
    cold: bool
    report: str | None  # the REPORT line it was read from or written as


DEFAULT_RESULTS_DIR = Path("results")
SCHEMA_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def results_file_name(started: datetime, source: str, function_name: str, variant: str | None = None) -> str:
    """``<UTC time>_<aws|local>_<function>[_<variant>].json``, names made safe for file systems; the variant
    names the code a local run tuned when it is not ``function/`` (``--function-dir``)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    suffix = f"_{_UNSAFE.sub('-', variant)}" if variant else ""
    return f"{_timestamp(started)}_{source}_{_UNSAFE.sub('-', function_name) or 'function'}{suffix}.json"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_json_atomically(path: Path, document: Any) -> Path:
    """Write ``document`` as indented JSON, atomically and with the umask's mode (``api.files``)."""
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
    confidence: list[dict[str, Any]] | None = None,
    skipped: list[dict[str, Any]] | None = None,
    variant: str | None = None,
    results_dir: str | Path = DEFAULT_RESULTS_DIR,
) -> Path:
    """Save one run as ``results_dir/<UTC time>_<source>_<function>.json`` (atomic); returns the path.

    Local runs are labelled ``emulated``: their timings come from this machine's CPU, whatever is priced.
    ``confidence`` (per size: ``power``, ``n``, ``durationLow/High``, ``costLow/High``) and ``skipped`` (per
    failed size: ``power``, ``cause``) sit beside Power Tuning's ``output``, never inside it.
    """
    directory = Path(results_dir)
    path = directory / results_file_name(started, source, function_name, variant)
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
    if skipped is not None:  # beside Power Tuning's output, never inside it
        document["skipped"] = skipped
    if source == "local" or invocations is not None:
        document["invocations"] = invocations or []
    if source == "local" or emulation is not None:
        document["emulation"] = emulation or {}
    if confidence is not None:
        document["confidence"] = confidence
    if skipped is not None:
        document["skipped"] = skipped
    return write_json_atomically(path, document)


def load_results(path: str | Path) -> dict[str, Any]:
    """One results file, its types and ranges checked; ValueError naming the field when it is not one. Files
    written before a field existed read as having none: no ``invocations``, ``confidence`` or ``skipped``."""
    path = Path(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not {"metadata", "input", "output"} <= document.keys():
        raise ValueError(f"{path} is not a tuning results file (needs metadata, input and output)")
    for key in ("invocations", "confidence", "skipped"):
        document.setdefault(key, [])
    try:
        _check_document(document)
    except _FieldError as error:
        raise ValueError(f"{path}: field {error.field} {error.problem}") from None
    return document


class _FieldError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem


def _expect(value: Any, kind: type | tuple[type, ...], field: str, what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):  # JSON true/false is never a number here
        raise _FieldError(field, f"must be {what}, got {json.dumps(value)[:40]}")
    return value


def _measure(value: Any, field: str, *, optional: bool = False) -> None:
    """A duration, price or count: a finite number, zero or more (JSON null where ``optional``)."""
    if value is None and optional:
        return
    _expect(value, (int, float), field, "a number")
    if not math.isfinite(value) or value < 0:
        raise _FieldError(field, f"must be a finite number of at least 0, got {value!r}")


def _check_document(document: dict[str, Any]) -> None:
    for key in ("metadata", "input", "output"):
        _expect(document[key], dict, key, "an object")
    for key in ("invocations", "confidence", "skipped"):
        _expect(document[key], list, key, "a list")
    output = document["output"]
    for key in ("power", "cost", "duration"):
        if key in output:
            _measure(output[key], f"output.{key}")
    for index, stat in enumerate(_expect(output.get("stats") or [], list, "output.stats", "a list")):
        where = f"output.stats[{index}]"
        _expect(stat, dict, where, "an object")
        for key in ("value", "averagePrice", "averageDuration", "totalCost"):
            if key in stat:
                _measure(stat[key], f"{where}.{key}")
    for index, record in enumerate(document["invocations"]):
        where = f"invocations[{index}]"
        _expect(record, dict, where, "an object")
        _expect(record.get("power"), int, f"{where}.power", "a memory size in MB")
        _measure(record.get("duration_ms"), f"{where}.duration_ms")
        for key in ("billed_ms", "init_ms"):
            _measure(record.get(key), f"{where}.{key}", optional=True)


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
