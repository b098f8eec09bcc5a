"""Results files: one JSON per tuning run under ``results/``, named by start time, written atomically.

What a file holds is ``tuning.record.TuningRun`` (``to_json`` / ``read_run``). The tidy DataFrames of them
are ``analysis.frames``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from api.files import write_text_atomically
from tuning.record import TuningRun

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
    # Local runs only (REPORT lines carry no sizes): bytes of the HTTP request and response through the front
    # door (None: the event was no API request), what CloudWatch Logs ingests of the function's and the
    # platform's lines, and of the stage's access log line (``api.wire_sizes``).
    request_bytes: NotRequired[int | None]
    response_bytes: NotRequired[int | None]
    log_bytes: NotRequired[int]
    access_log_bytes: NotRequired[int | None]


DEFAULT_RESULTS_DIR = Path("results")
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


def write_json_atomically(path: Path, document: Any) -> Path:
    """Write ``document`` as indented JSON, atomically and with the umask's mode (``api.files``)."""
    return write_text_atomically(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


def write_results(
    run: TuningRun, *, variant: str | None = None, results_dir: str | Path = DEFAULT_RESULTS_DIR
) -> Path:
    """Save ``run`` as ``results_dir/<UTC time>_<source>_<function>[_<variant>].json`` (atomic); returns the
    path. The variant names the code a local run tuned when it is not ``function/``."""
    directory = Path(results_dir)
    started = datetime.fromisoformat(run.metadata["started"])
    path = directory / results_file_name(started, run.source, run.metadata["function_name"], variant)
    counter = 2
    while path.exists():  # two runs within one second must not overwrite each other
        path = directory / f"{path.stem.rsplit('~', 1)[0]}~{counter}.json"
        counter += 1
    return write_json_atomically(path, run.to_json())


def result_paths(location: str | Path | Iterable[str | Path] = DEFAULT_RESULTS_DIR) -> list[Path]:
    """Results files of a directory (sorted, i.e. by start time), or the given paths as they are."""
    if isinstance(location, str | Path):
        location = Path(location)
        if location.is_dir():
            return sorted(p for p in location.glob("*.json") if not p.name.startswith("."))
        return [location]
    return [Path(p) for p in location]
