"""The CLI's table: intervals beside Power Tuning's figures, a row with the cause for a skipped size, and the
picks with the sizes within noise of them."""

from __future__ import annotations

from datetime import UTC, datetime

from tuning.record import ExecutionInput, Traffic, TuningRun, measured_run
from tuning.summary import format_table, pick_lines, power_rows, traffic_lines

STATS = [
    {"value": 128, "averagePrice": 2.0e-8, "averageDuration": 100.0},
    {"value": 1024, "averagePrice": 3.0e-8, "averageDuration": 20.0},
]
CONFIDENCE = [
    {
        "power": 128,
        "n": 10,
        "durationLow": 95.0,
        "durationHigh": 105.0,
        "costLow": 1.9e-8,
        "costHigh": 2.1e-8,
    },
    {
        "power": 1024,
        "n": 12,
        "durationLow": 18.0,
        "durationHigh": 22.5,
        "costLow": 2.0e-8,
        "costHigh": 3.2e-8,
    },
]


def _table(skipped: list[dict]) -> str:
    rows = power_rows(
        {"power": 128},
        STATS,
        None,
        architecture="arm64",
        api_type="rest",
        region="eu-north-1",  # no list prices there: $/1M reads n/a
        mix={"get": 1},
        confidence=CONFIDENCE,
    )
    return format_table(rows, skipped)


def test_each_size_shows_n_and_its_intervals_next_to_power_tunings_figures() -> None:
    lines = _table([]).splitlines()
    assert lines[0].split("  ")[0:2] == ["power MB", " n"]
    assert "95% CI ms" in lines[0]
    assert "95% CI $/invocation" in lines[0]
    figures = ["128*", "10", "100.00", "95.00–105.00", "n/a", "2.000e-08", "1.900e-08–2.100e-08", "n/a"]
    assert lines[2].split() == [*figures, "n/a", "0"]  # p90 and memory unknown without records
    assert lines[3].split()[:4] == ["1024", "12", "20.00", "18.00–22.50"]


def test_a_skipped_size_is_a_row_with_its_cause_in_power_order() -> None:
    lines = _table([{"power": 512, "cause": "Runtime.OutOfMemory: exceeded 512 MB"}]).splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["128*", "512", "1024"]
    assert lines[3].split(None, 1)[1] == "skipped: Runtime.OutOfMemory: exceeded 512 MB"
    assert lines[3].index("512") + 3 == len(lines[0].split("  ")[0])  # right-aligned under "power MB"


def test_a_run_whose_every_size_was_skipped_still_prints_its_causes() -> None:
    table = format_table([], [{"power": 128, "cause": "Task timed out after 10.00 seconds"}])
    assert table.splitlines()[2] == "     128  skipped: Task timed out after 10.00 seconds"


def _run(confidence: list[dict]) -> TuningRun:
    moment = datetime(2026, 12, 7, tzinfo=UTC)
    return measured_run(
        source="aws",
        function_name="f",
        region="us-east-1",
        architecture="arm64",
        api_type="rest",
        started=moment,
        ended=moment,
        execution_input=ExecutionInput.from_json(
            {"lambdaARN": "arn:aws:lambda:us-east-1:1:function:f", "num": 10, "balancedWeight": 0.5}
        ),
        output={"power": 128, "stats": STATS},
        confidence=confidence,
    )


def test_picks_name_the_sizes_within_noise() -> None:
    lines = pick_lines(_run(CONFIDENCE))
    # cost: 128's [1.9, 2.1]e-8 meets 1024's [2.0, 3.2]e-8; speed: [18, 22.5] and [95, 105] do not meet
    assert (
        lines[0] == "  cost       128 MB  100.00 ms  $2.000e-08 per invocation; 128–1024 MB are within noise"
    )
    assert (
        lines[1] == "  speed     1024 MB  20.00 ms  $3.000e-08 per invocation; no other size is within noise"
    )
    assert pick_lines(_run([]))[2].endswith("; no interval (no per-invocation data)")


def test_the_measured_bytes_per_request_are_one_line_in_the_units_the_bill_counts() -> None:
    traffic = Traffic(
        requests=40,
        request_bytes=912.4,
        response_bytes=705.0,
        function_log_bytes=1126.4,
        access_log_bytes=420.0,
    )
    assert traffic_lines(traffic) == [
        "Measured per request: request 912 B, response 705 B (HTTP API meters 1 unit), logs 1.1 KB (function "
        "and platform) + 420 B access log"
    ]
    # 300 KB + 300 KB of request and response: two started 512 KB units
    large = Traffic(40, 300 * 1024, 300 * 1024, 2.5 * 1024 * 1024, 100)
    assert "response 300.0 KB (HTTP API meters 2 units), logs 2.5 MB" in traffic_lines(large)[0]


def test_a_run_without_measured_traffic_prints_no_traffic_line() -> None:
    assert traffic_lines(None) == []
