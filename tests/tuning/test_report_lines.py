"""REPORT lines in text and JSON formats, cold and warm, with SnapStart restore fields; other lines → None."""

from __future__ import annotations

import json

import pytest

from tuning.engine.report_lines import parse_report_line, total_billed_ms, total_duration_ms

NONE = dict.fromkeys(
    (
        "duration_ms",
        "billed_ms",
        "init_ms",
        "restore_ms",
        "billed_restore_ms",
        "memory_mb",
        "max_memory_used_mb",
    )
)


def test_text_cold_line() -> None:
    line = (
        "REPORT RequestId: 3f5c1e2a-0000-4b4b-9c9c-000000000001\tDuration: 102.25 ms\t"
        "Billed Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tInit Duration: 250.11 ms\t\n"
    )
    assert parse_report_line(line) == {
        **NONE,
        "duration_ms": 102.25,
        "billed_ms": 103,
        "init_ms": 250.11,
        "memory_mb": 128,
        "max_memory_used_mb": 70,
    }


def test_text_warm_line_has_no_init() -> None:
    line = (
        "REPORT RequestId: 1\tDuration: 1.93 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 512 MB\tMax Memory Used: 81 MB"
    )
    parsed = parse_report_line(line)
    assert parsed == {**NONE, "duration_ms": 1.93, "billed_ms": 2, "memory_mb": 512, "max_memory_used_mb": 81}
    assert total_duration_ms(parsed) == 1.93
    assert total_billed_ms(parsed) == 2


def test_text_snapstart_restore_fields() -> None:
    line = (
        "REPORT RequestId: 2\tDuration: 20.00 ms\tBilled Duration: 21 ms\tMemory Size: 1024 MB\t"
        "Max Memory Used: 90 MB\tRestore Duration: 300.50 ms\tBilled Restore Duration: 201 ms\t"
    )
    parsed = parse_report_line(line)
    assert (parsed["restore_ms"], parsed["billed_restore_ms"], parsed["init_ms"]) == (300.50, 201, None)
    assert total_duration_ms(parsed) == 20.0 + 300.5  # Power Tuning: Duration + Init + Restore
    assert total_billed_ms(parsed) == 21 + 201  # Billed Duration + Billed Restore Duration


def _json_report(metrics: dict) -> str:
    record = {"requestId": "r", "metrics": metrics, "status": "success"}
    return json.dumps({"time": "2026-11-27T06:00:00.000Z", "type": "platform.report", "record": record})


def test_json_cold_line() -> None:
    metrics = {
        "durationMs": 10.5,
        "billedDurationMs": 11,
        "memorySizeMB": 256,
        "maxMemoryUsedMB": 77,
        "initDurationMs": 180.25,
    }
    assert parse_report_line(_json_report(metrics)) == {
        **NONE,
        "duration_ms": 10.5,
        "billed_ms": 11,
        "init_ms": 180.25,
        "memory_mb": 256,
        "max_memory_used_mb": 77,
    }


def test_json_warm_line_without_init_is_parsed() -> None:
    # Power Tuning itself throws "Invalid JSON log does not contain initDurationMs" here (its issue #305)
    metrics = {"durationMs": 2.5, "billedDurationMs": 3, "memorySizeMB": 256, "maxMemoryUsedMB": 77}
    parsed = parse_report_line(_json_report(metrics))
    assert parsed == {**NONE, "duration_ms": 2.5, "billed_ms": 3, "memory_mb": 256, "max_memory_used_mb": 77}


def test_json_snapstart_line() -> None:
    metrics = {
        "durationMs": 5.0,
        "billedDurationMs": 5,
        "memorySizeMB": 512,
        "maxMemoryUsedMB": 60,
        "restoreDurationMs": 410.75,
        "billedRestoreDurationMs": 300,
    }
    parsed = parse_report_line(_json_report(metrics))
    assert (parsed["restore_ms"], parsed["billed_restore_ms"]) == (410.75, 300)
    assert total_billed_ms(parsed) == 305


@pytest.mark.parametrize(
    "line",
    [
        "START RequestId: 1 Version: $LATEST",
        "END RequestId: 1",
        "",
        "REPORT",
        "REPORTS are due",
        '{"level": "INFO", "message": "REPORT RequestId: 1\\tDuration: 1.00 ms"}',
        '{"time": "t", "type": "platform.start", "record": {"requestId": "1"}}',
        '{"type": "platform.report", "record": {"metrics": {}}}',
        "{not json",
        "[1, 2]",
    ],
)
def test_other_lines_are_not_reports(line: str) -> None:
    assert parse_report_line(line) is None


def test_text_line_whose_tabs_became_spaces_and_with_an_xray_line() -> None:
    """Copies from consoles and terminals turn tabs into spaces; X-Ray adds a second line to the event."""
    line = (
        "REPORT RequestId: 3f5c1e2a  Duration: 3.54 ms  Billed Duration: 120 ms  Memory Size: 512 MB  "
        "Max Memory Used: 90 MB  Restore Duration: 437.34 ms  Billed Restore Duration: 116 ms\n"
        "XRAY TraceId: 1-5e1b4151-5ac6c58f5b5dbd6a2e9b7e7c\tSegmentId: 6d1ea6a8cd3a4b5b\tSampled: true\n"
    )
    assert parse_report_line(line) == {
        **NONE,
        "duration_ms": 3.54,
        "billed_ms": 120,
        "restore_ms": 437.34,
        "billed_restore_ms": 116,
        "memory_mb": 512,
        "max_memory_used_mb": 90,
    }
