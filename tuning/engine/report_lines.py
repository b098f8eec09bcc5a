"""Lambda REPORT lines (text and JSON ``platform.report`` formats) → numbers, like Power Tuning reads them.

Warm invocations have no init field; SnapStart restores add restore fields. Power Tuning's own JSON parser
fails on warm lines (its open issue #305); this one does not.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TEXT_FIELDS = {
    "Duration": ("duration_ms", float),
    "Billed Duration": ("billed_ms", int),
    "Init Duration": ("init_ms", float),
    "Restore Duration": ("restore_ms", float),
    "Billed Restore Duration": ("billed_restore_ms", int),
    "Memory Size": ("memory_mb", int),
    "Max Memory Used": ("max_memory_used_mb", int),
}
# The keys of every parsed line, in REPORT order (None where the line has no such field).
FIELDS = tuple(key for key, _ in _TEXT_FIELDS.values())

# Fields found anywhere in the line: Lambda separates them with tabs, but copies from consoles and terminals
# often turn tabs into spaces. Leftmost match wins, so "Billed Duration" is never read as "Duration".
_TEXT_FIELD = re.compile(
    r"\b(" + "|".join(re.escape(name) for name in _TEXT_FIELDS) + r"):\s*([0-9]+(?:\.[0-9]+)?)\s*(?:ms|MB)\b"
)

_JSON_METRICS = {
    "durationMs": ("duration_ms", float),
    "billedDurationMs": ("billed_ms", int),
    "initDurationMs": ("init_ms", float),
    "restoreDurationMs": ("restore_ms", float),
    "billedRestoreDurationMs": ("billed_restore_ms", int),
    "memorySizeMB": ("memory_mb", int),
    "maxMemoryUsedMB": ("max_memory_used_mb", int),
}


def _parse_text(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("REPORT "):
        return None
    parsed: dict[str, Any] = dict.fromkeys(FIELDS)
    for match in _TEXT_FIELD.finditer(text):
        key, cast = _TEXT_FIELDS[match.group(1)]
        parsed[key] = cast(float(match.group(2)))
    return parsed if parsed["duration_ms"] is not None else None


def _parse_json(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("type") != "platform.report":
        return None
    metrics = (record.get("record") or {}).get("metrics")
    if not isinstance(metrics, dict) or "durationMs" not in metrics:
        return None
    parsed: dict[str, Any] = dict.fromkeys(FIELDS)
    for source, (key, cast) in _JSON_METRICS.items():
        if metrics.get(source) is not None:
            parsed[key] = cast(metrics[source])
    return parsed


def parse_report_line(line: str) -> dict[str, Any] | None:
    """A REPORT line → ``duration_ms``, ``billed_ms``, ``init_ms``, ``restore_ms``, ``billed_restore_ms``,
    ``memory_mb``, ``max_memory_used_mb`` (None where absent); any other line → None."""
    stripped = line.strip()
    return _parse_json(stripped) if stripped.startswith("{") else _parse_text(stripped)


def total_duration_ms(report: dict[str, Any]) -> float:
    """What Power Tuning averages per invocation: Duration + Init Duration + Restore Duration."""
    return report["duration_ms"] + (report["init_ms"] or 0) + (report["restore_ms"] or 0)


def total_billed_ms(report: dict[str, Any]) -> int:
    """What Power Tuning prices per invocation: Billed Duration + Billed Restore Duration."""
    return (report["billed_ms"] or 0) + (report["billed_restore_ms"] or 0)
