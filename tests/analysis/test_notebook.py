"""The analysis notebook end to end: ``analysis report`` executes it with papermill against the emulator
seeded with AWS-shaped data, and the test reads back what the notebook found (its summary.json), the charts
and the HTML. Expected numbers are worked out by hand from the seeded data (see aws_data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from analysis import html_report as report
from tests.analysis import aws_data
from tests.analysis.conftest import report_args

pytestmark = pytest.mark.slow

CHARTS = {
    "cost_and_duration.png",
    "cost_vs_duration.png",
    "duration_distribution.png",
    "cold_start.png",
    "memory_headroom.png",
    "live_traffic.png",
    "request_price.png",
    "monthly_cost.png",
    "run_comparison.png",
    "plan_bill.png",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _runs(summary: dict[str, Any]) -> dict[str, list[dict]]:
    by_run: dict[str, list[dict]] = {}
    for row in summary["runs"]["rows"]:
        by_run.setdefault(row["run"], []).append(row)
    return by_run


def test_report_succeeds_and_writes_notebook_and_html(executed_report: dict[str, Any]) -> None:
    assert executed_report["code"] == 0
    report_dir = executed_report["report_dir"]
    notebook = nbformat.read(report_dir / "power-tuning.ipynb", as_version=4)
    errors = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    html = (report_dir / "power-tuning.html").read_text()
    assert html.count("data:image/png;base64") >= len(CHARTS)  # charts embedded, the HTML stands alone
    assert not list(report_dir.glob(".*"))  # no scratch files left behind


def test_every_execution_and_results_file_is_a_run(executed_report: dict[str, Any]) -> None:
    runs = _runs(executed_report["summary"])
    local = [name for name in runs if "_local_" in name]
    assert set(runs) == {*aws_data.EXECUTIONS, *local}
    assert len(local) == 1
    assert {r["stats_from"] for r in runs["with-stats"]} == {"stats"}
    assert {r["stats_from"] for r in runs["no-stats"]} == {"visualization"}
    for name in ("with-stats", "no-stats", local[0]):
        assert sorted(r["power"] for r in runs[name]) == list(aws_data.POWER_VALUES)
        assert {r["status"] for r in runs[name]} == {"succeeded"}
    assert runs[local[0]][0]["source"] == "local"


def test_averages_recovered_from_the_visualization_url(executed_report: dict[str, Any]) -> None:
    runs = _runs(executed_report["summary"])
    by_power = {r["power"]: r for r in runs["no-stats"]}
    # 8 ms + 300 ms × 1769/memory of CPU, trimmed mean of the jitter (0.37 … 1.48 ms) = 0.925 ms
    assert by_power[1024]["average_duration_ms"] == pytest.approx(8 + 300 * 1769 / 1024 + 0.925, abs=0.02)
    assert by_power[128]["average_duration_ms"] == pytest.approx(8 + 300 * 1769 / 128 + 0.925, abs=0.02)
    with_stats = {r["power"]: r for r in runs["with-stats"]}
    for power, row in by_power.items():  # Float32 in the URL: 7 significant digits
        assert row["average_price_usd"] == pytest.approx(with_stats[power]["average_price_usd"], rel=1e-6)


def test_every_runs_per_size_values_are_a_table_stats_less_executions_included(
    executed_report: dict[str, Any],
) -> None:
    rows = executed_report["summary"]["per_size"]
    by_run: dict[str, dict[int, dict]] = {}
    for row in rows:
        by_run.setdefault(row["run"], {})[row["memory MB"]] = row
    no_stats = by_run["no-stats"]
    assert sorted(no_stats) == list(aws_data.POWER_VALUES)
    assert {row["averages from"] for row in no_stats.values()} == {"visualization"}
    # rounded for reading: 8 + 300 × 1769/1024 + 0.925 ms to 2 decimals
    assert no_stats[1024]["avg ms"] == pytest.approx(527.17, abs=0.02)
    assert no_stats[1024]["avg ms"] == round(no_stats[1024]["avg ms"], 2)
    # the picks flattened once: one size per strategy in each measured run
    for sizes in by_run.values():
        named = [s for row in sizes.values() for s in row["picked by"].split(", ") if s]
        assert sorted(named) == ["balanced", "cost", "speed"]


def test_failed_runs_carry_their_cause(executed_report: dict[str, Any]) -> None:
    runs = _runs(executed_report["summary"])
    caught, failed = runs["caught-error"], runs["failed-init"]
    assert len(caught) == 1
    assert caught[0]["status"] == "failed"
    assert caught[0]["power"] is None
    assert "SUCCEEDED with output {}" in caught[0]["cause"]
    assert "Runtime exited with error" in caught[0]["cause"]
    assert failed[0]["status"] == "failed"
    assert failed[0]["cause"].startswith("FAILED")
    assert "num below 5" in failed[0]["cause"]
    notes = " ".join(executed_report["summary"]["runs"]["notes"])
    assert "caught-error" in notes
    assert "failed-init" in notes
    assert f"skipped 64 MB: {aws_data.SKIPPED_CAUSE}" in notes  # a size the local run skipped, with its cause
    html = (executed_report["report_dir"] / "power-tuning.html").read_text()
    assert "skipped 64 MB: Runtime.OutOfMemory: the function ran out of memory at 64 MB" in html


def test_metrics_per_alias_and_function_total(executed_report: dict[str, Any]) -> None:
    rows = {r["alias"]: r for r in executed_report["summary"]["metrics"]["rows"]}
    assert next(iter(rows)) == "(function)"
    assert rows["RAM128"]["Invocations Sum"] == 10
    assert rows["RAM128"]["Duration Average"] == pytest.approx(4145)  # 4100 … 4190
    assert rows["RAM128"]["Duration p90"] == 4180  # nearest rank: the 9th of 10
    assert rows["RAM1024"]["Duration p50"] == 560
    assert rows["live"]["Invocations Sum"] == aws_data.LIVE_INVOCATIONS
    assert rows["live"]["Throttles Sum"] == 2
    assert rows["(function)"]["Invocations Sum"] == 20 + aws_data.LIVE_INVOCATIONS
    assert rows["(function)"]["ConcurrentExecutions Maximum"] == 5


def test_invocations_carry_their_run_and_other_traffic_stays_apart(executed_report: dict[str, Any]) -> None:
    """The seeded REPORT lines fall in no run's window: live traffic (run null), never merged into the local
    run's sizes, whose every record stays in the report with its run."""
    rows = executed_report["summary"]["invocations"]["rows"]
    live = [r for r in rows if r["run"] is None]
    assert len(live) == 5 * len(aws_data.REPORT_MEMORY)
    assert {r["source"] for r in live} == {"live traffic"}
    assert {r["version"] for r in live} == {"1", "2"}
    local = [r for r in rows if r["run"] is not None]
    assert len(local) == 10 * len(aws_data.POWER_VALUES)
    assert {r["source"] for r in local} == {"local runs (emulated)"}
    assert len({r["run"] for r in local}) == 1
    cold_128 = [r for r in live if r["memory_mb"] == 128 and r["cold"]]
    assert [r["init_ms"] for r in cold_128] == [pytest.approx(250.0 * 1769 / 128, abs=0.01)]


def test_recommendation_per_strategy(executed_report: dict[str, Any]) -> None:
    picks = {p["strategy"]: p for p in executed_report["summary"]["decision"]}
    # CPU-bound: cost ∝ ceil(duration)·memory is lowest at 128 MB; 3008 MB is fastest; balanced (0.5) →
    # 1536 MB (0.587·½ + 0.085·½ beats 1024 MB's 0.583·½ + 0.127·½)
    assert {s: p["memory_mb"] for s, p in picks.items()} == {"cost": 128, "speed": 3008, "balanced": 1536}
    assert all(p["current_memory_mb"] == aws_data.CURRENT_MEMORY for p in picks.values())
    assert picks["cost"]["command"] == "pulumi config set memorySize 128"
    # only Lambda compute differs: (0.528 s × 1 GB − 4.156 s × 0.125 GB) × $0.0000166667 × 10M requests
    assert picks["cost"]["monthly_saving"] == pytest.approx(
        (0.528 - 4.156 * 0.125) * 0.0000166667 * 1e7, abs=1e-3
    )
    assert picks["speed"]["monthly_saving"] < 0


def test_the_plan_prices_every_setting_for_the_recommendations_run(executed_report: dict[str, Any]) -> None:
    """The seeded outputs (REST, x86_64, 1024 MB) over Pulumi.yaml's defaults (api_key, tracing on, 30 days of
    logs), at 10 M requests a month; the runs measured no traffic, so one metered unit per request."""
    summary = executed_report["summary"]
    lines = {line["setting"]: line for line in summary["plan"]}
    assert set(lines) == {
        "apiType",
        "memorySize",
        "architecture",
        "tracing",
        "logRetentionDays",
        "dynamodbCapacityMode",
    }
    savings = [line["monthlySavingUsd"] or 0 for line in summary["plan"]]
    assert savings == sorted(savings, reverse=True)
    door = lines["apiType"]
    # 10 M × ($3.50 − $1.00) per million
    assert (door["current"], door["value"]) == ("rest", "http")
    assert door["monthlySavingUsd"] == pytest.approx(25.00)
    assert door["command"] == "pulumi config set apiType http && pulumi config set authMode iam"
    assert "API keys, usage plans and quotas" in door["tradeOffs"]
    memory = lines["memorySize"]  # the recommendation's cost pick, saving as worked out there
    assert (memory["current"], memory["value"]) == (aws_data.CURRENT_MEMORY, 128)
    assert memory["monthlySavingUsd"] == pytest.approx((0.528 - 4.156 * 0.125) * 0.0000166667 * 1e7, abs=1e-3)
    assert "cannot measure arm64 against x86_64" in lines["architecture"]["tradeOffs"]
    assert lines["dynamodbCapacityMode"]["command"] is None
    bill = summary["bill"]
    assert bill["requestsPerMonth"] == 10_000_000
    assert bill["before"]["api_gateway"] == pytest.approx(35.00)
    assert bill["after"]["api_gateway"] == pytest.approx(10.00)
    html = (executed_report["report_dir"] / "power-tuning.html").read_text()
    assert '<h2 id="Plan">Plan' in html
    assert "measured no request, response or log sizes" in html


def test_every_chart_is_written_and_non_trivial(executed_report: dict[str, Any]) -> None:
    report_dir: Path = executed_report["report_dir"]
    assert set(executed_report["summary"]["charts"]) == CHARTS
    for name in CHARTS:
        data = (report_dir / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE), name
        assert len(data) > 15_000, name  # a blank 900×500 canvas is ~3 KB


def test_missing_data_reads_as_sentences(seeded: dict[str, Any], tmp_path: Path) -> None:
    """The local stack's outputs (no state machine), an unknown function, no results: sentences, exit 0."""
    outputs = {
        **aws_data.outputs(None),
        "function_name": "nothing-here",
        "log_group_name": "/aws/lambda/none",
    }
    outputs_path = tmp_path / "outputs.json"
    outputs_path.write_text(json.dumps(outputs))
    report_dir = tmp_path / "reports"
    args = report_args(outputs=outputs_path, results_dir=tmp_path / "no-results", report_dir=report_dir)
    assert report.run(args) == 0
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["runs"]["rows"] == []
    assert summary["decision"] == []
    assert summary["plan"] == []
    assert summary["bill"] is None
    notes = " ".join(summary["runs"]["notes"] + summary["metrics"]["notes"] + summary["invocations"]["notes"])
    for expected in ("no state machine", "No results files", "No AWS/Lambda metrics", "No REPORT lines"):
        assert expected in notes
    assert summary["charts"] == []
    html = (report_dir / "power-tuning.html").read_text()
    assert "Traceback" not in html
    assert "Only one successful tuning run" not in html
    assert "No successful tuning run" in html


def test_stack_and_outputs_path_together(seeded: dict[str, Any], tmp_path: Path) -> None:
    """The parameters cell's promise: the data comes from outputs_path, and stack only names the stack in the
    printed command (its outputs are never read: without the Pulumi CLI here, reading them would fail)."""
    report_dir = tmp_path / "reports"
    args = report_args(
        stack="prod",
        outputs=seeded["outputs_path"],
        results_dir=seeded["results_dir"],
        report_dir=report_dir,
        since="1d",
    )
    assert report.run(args) == 0
    summary = json.loads((report_dir / "summary.json").read_text())
    commands = [pick["command"] for pick in summary["decision"] if pick["command"].startswith("pulumi")]
    assert commands
    assert all(command.endswith(" -s prod") for command in commands)
    html = (report_dir / "power-tuning.html").read_text()
    assert f"from <code>{Path(seeded['outputs_path']).resolve()}</code> for stack <code>prod</code>" in html
