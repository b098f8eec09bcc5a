"""The report's plan from a results file: every expected figure worked out by hand from the price table
(us-east-1, as of PRICES_AS_OF) for the prod stack (Pulumi.prod.yaml: REST with api_key, 1024 MB arm64,
tracing on, 90 days of logs) at 10 M gets a month.

The run measured 512 MB at 40 ms (95 %: 38 … 42) and 1024 MB at 21 ms (20 … 22); Power Tuning's arm64 price
ceil(ms) · 1.7e-9 · memory/128 makes 512 MB the cost pick (2.72e-7 against 2.856e-7 a call). Traffic: 200
bytes in, 300 out, 700 of function and platform log lines and 300 of access log per request: 10 GB of logs a
month.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from analysis import charts, recommend, sources, stack_plan
from analysis.charts import NoDataError
from analysis.frames import results_frame
from tuning.engine.plan import BILL_COMPONENTS
from tuning.record import ExecutionInput, Traffic, measured_run
from tuning.results import write_results

README = Path(__file__).resolve().parents[2] / "README.md"
OUTPUTS = {"memory_size": 1024, "architecture": "arm64", "region": "us-east-1", "api_type": "rest"}
MIX = {"get": 1}
REQUESTS = 10_000_000
TRAFFIC = Traffic(
    requests=40, request_bytes=200.0, response_bytes=300.0, function_log_bytes=700.0, access_log_bytes=300.0
)
GB_S_ARM = 0.0000133334
# X-Ray's default sampling at 10 M requests over 730 h: 1 a second (2,628,000) + 5 % of the other 7,372,000
TRACES = 2_628_000 + 0.05 * 7_372_000
BEFORE = {
    "api_gateway": 35.00,  # 10 M × $3.50 per million
    "lambda_compute": 0.021 * 1.0 * GB_S_ARM * REQUESTS,  # 21 ms at 1 GB
    "lambda_requests": 2.00,  # 10 M × $0.20 per million
    "dynamodb": 0.625,  # ½ read unit a get × $0.125 per million × 10 M
    "logs_ingestion": 5.00,  # 10 GB × $0.50
    "logs_storage": 10 * 90 / (730 / 24) * 0.03,  # 90 days kept of 10 GB a month, $0.03 per GB-month
    "xray": TRACES * (5.00 + 0.50) / 1e6,  # each trace recorded and retrieved once
}
AFTER = {
    "api_gateway": 10.00,  # HTTP API: 10 M × $1.00 per million, 500 bytes = one 512 KB unit each
    "lambda_compute": 0.040 * 0.5 * GB_S_ARM * REQUESTS,  # 40 ms at 512 MB
    "lambda_requests": 2.00,
    "dynamodb": 0.625,
    "logs_ingestion": 5.00,
    "logs_storage": 10 * 30 / (730 / 24) * 0.03,
    "xray": 0.0,
}
# 5 M read units a month as provisioned capacity at 70 % use: 5e6 / 2,628,000 s / 0.7 RCU × $0.00013 × 730 h
PROVISIONED = 5e6 / 2_628_000 / 0.7 * 0.00013 * 730


def _results(tmp_path: Path, traffic: Traffic | None = TRAFFIC, api_type: str | None = None) -> pd.DataFrame:
    """The run's rows as the notebook gets them: a results file read back by ``results_frame``."""
    stats = [
        {"value": 512, "averagePrice": 40 * 1.7e-9 * 4, "averageDuration": 40.0, "totalCost": 1e-6},
        {"value": 1024, "averagePrice": 21 * 1.7e-9 * 8, "averageDuration": 21.0, "totalCost": 1e-6},
    ]
    run = measured_run(
        source="local",
        function_name="crud",
        region="us-east-1",
        architecture="arm64",
        api_type=api_type or "rest",
        started=datetime(2026, 11, 27, 6, tzinfo=UTC),
        ended=datetime(2026, 11, 27, 6, 5, tzinfo=UTC),
        execution_input=ExecutionInput.from_json(
            {"lambdaARN": "arn:aws:lambda:us-east-1:1:function:crud", "num": 20, "powerValues": [512, 1024]}
        ),
        output={"power": 512, "cost": 2.72e-7, "duration": 40.0, "stats": stats},
        confidence=[
            {"power": 512, "n": 20, "durationLow": 38.0, "durationHigh": 42.0, "costLow": 0, "costHigh": 0},
            {"power": 1024, "n": 20, "durationLow": 20.0, "durationHigh": 22.0, "costLow": 0, "costHigh": 0},
        ],
    )
    write_results(replace(run, traffic=traffic), results_dir=tmp_path)
    return recommend.latest_run(results_frame(tmp_path).assign(status="succeeded"))


def _priced(tmp_path: Path, traffic: Traffic | None = TRAFFIC) -> stack_plan.PricedPlan:
    return stack_plan.price_plan(
        _results(tmp_path, traffic), outputs=OUTPUTS, stack="prod", mix=MIX, requests_per_month=REQUESTS
    )


def test_every_setting_is_priced_by_hand_best_saving_first(tmp_path: Path) -> None:
    plan = _priced(tmp_path).plan
    lines = {line.setting: line for line in plan.lines}
    assert [line.setting for line in plan.lines] == [
        "apiType",  # $35.00 − $10.00
        "tracing",  # the whole X-Ray bill
        "logRetentionDays",  # 60 days less storage
        "dynamodbCapacityMode",  # $0.625 on demand against provisioned
        "memorySize",  # 21 ms at 1 GB against 40 ms at 512 MB
        "architecture",  # x86_64 costs more per GB-s: keep arm64
    ]
    door = lines["apiType"]
    assert (door.current, door.value, door.monthly_saving_usd) == ("rest", "http", pytest.approx(25.00))
    assert door.command == "pulumi config set apiType http -s prod && pulumi config set authMode iam -s prod"
    assert "API keys, usage plans and quotas" in door.trade_offs
    tracing = lines["tracing"]
    assert tracing.monthly_saving_usd == pytest.approx(BEFORE["xray"])
    assert tracing.command == "pulumi config set tracing false -s prod"
    retention = lines["logRetentionDays"]
    assert (retention.current, retention.value) == (90, 30)
    assert retention.monthly_saving_usd == pytest.approx(BEFORE["logs_storage"] - AFTER["logs_storage"])
    memory = lines["memorySize"]
    assert (memory.current, memory.value, memory.command) == (
        1024,
        512,
        "pulumi config set memorySize 512 -s prod",
    )
    assert memory.monthly_saving_usd == pytest.approx((0.021 - 0.020) * GB_S_ARM * REQUESTS)
    # the saving's interval from the sizes' intervals: 20 ms at 1 GB against 42 ms at 512 MB, 22 against 38
    assert memory.saving_low_usd == pytest.approx((0.020 - 0.021) * GB_S_ARM * REQUESTS)
    assert memory.saving_high_usd == pytest.approx((0.022 - 0.019) * GB_S_ARM * REQUESTS)
    capacity = lines["dynamodbCapacityMode"]
    assert capacity.value == "provisioned"
    assert capacity.monthly_saving_usd == pytest.approx(0.625 - PROVISIONED)
    assert capacity.command is None  # the stack cannot apply it
    assert (lines["architecture"].value, lines["architecture"].command) == ("arm64", None)


def test_the_bill_before_and_after_by_component(tmp_path: Path) -> None:
    summary = _priced(tmp_path).summary()
    bill = summary["bill"]
    assert bill["requestsPerMonth"] == REQUESTS
    for side, expected in (("before", BEFORE), ("after", AFTER)):
        assert set(bill[side]) == {*BILL_COMPONENTS, "total"}
        for part, usd in expected.items():
            assert bill[side][part] == pytest.approx(usd), (side, part)
        assert bill[side]["total"] == pytest.approx(sum(expected.values()))


def test_the_summary_holds_the_plan_as_written_and_reads_back(tmp_path: Path) -> None:
    priced = _priced(tmp_path / "results")
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    path = sources.write_summary(report_dir, **priced.summary())
    written = json.loads(path.read_text())
    keys = {"setting", "current", "value", "monthlySavingUsd", "savingLowUsd", "savingHighUsd", "tradeOffs"}
    assert [set(line) for line in written["plan"]] == [{*keys, "command"}] * 6
    assert written["plan"][0]["setting"] == "apiType"
    assert written["plan"][0]["monthlySavingUsd"] == pytest.approx(25.00)
    assert written["bill"]["after"]["xray"] == 0
    assert stack_plan.read_plan(path) == priced.plan.lines


def test_the_demo_printout_of_the_top_three(tmp_path: Path) -> None:
    text = stack_plan.top_lines_text(_priced(tmp_path).plan.lines)
    assert len(text) == 9  # three lines of three: the capacity mode has no command, so it is passed over
    assert text[0] == "apiType: rest → http, saves $25.00 a month"
    # whole clauses while they fit 100 characters, the asides in parentheses left out
    assert (
        text[1] == "    loses request validation by API Gateway; API keys, usage plans and quotas; AWS WAF; …"
    )
    assert (
        text[4] == "    no X-Ray traces or service map; latency stays visible in the EMF metric and the logs"
    )
    assert text[2] == "    $ pulumi config set apiType http -s prod && pulumi config set authMode iam -s prod"
    assert text[3] == f"tracing: true → false, saves ${BEFORE['xray']:.2f} a month"
    assert (
        text[6]
        == f"logRetentionDays: 90 → 30, saves ${BEFORE['logs_storage'] - AFTER['logs_storage']:.2f} a month"
    )
    memory = next(line for line in _priced(tmp_path / "again").plan.lines if line.setting == "memorySize")
    # an interval only where durations give one: −$0.13 … $0.40 from the 95 % intervals above
    assert stack_plan.line_text(memory)[0] == (
        "memorySize: 1024 → 512, saves $0.13 a month (95 % interval −$0.13 … $0.40)"
    )


def test_a_run_without_traffic_says_what_the_plan_assumed(tmp_path: Path) -> None:
    priced = _priced(tmp_path, traffic=None)
    notes = " ".join(priced.notes)
    assert "measured no request, response or log sizes" in notes
    assert "one metered HTTP API unit per request and no log bytes" in notes
    lines = {line.setting: line for line in priced.plan.lines}
    assert lines["apiType"].monthly_saving_usd == pytest.approx(25.00)
    assert lines["logRetentionDays"].monthly_saving_usd == 0
    assert priced.plan.bill_before["logs_ingestion"] == 0


def test_no_run_no_plan(tmp_path: Path) -> None:
    priced = stack_plan.price_plan(
        pd.DataFrame(), outputs=OUTPUTS, stack=None, mix=MIX, requests_per_month=REQUESTS
    )
    assert priced.summary() == {"plan": [], "bill": None}
    assert "nothing to plan" in priced.notes[0]
    with pytest.raises(NoDataError, match="no plan"):
        charts.plan_bill(priced.plan, report_dir=tmp_path)
    assert not list(tmp_path.glob("*.png"))


def test_without_outputs_the_stack_settings_are_the_current_values(tmp_path: Path) -> None:
    run = _results(tmp_path)
    priced = stack_plan.price_plan(run, outputs={}, stack=None, mix=MIX, requests_per_month=REQUESTS)
    lines = {line.setting: line for line in priced.plan.lines}
    # Pulumi.yaml's defaults: 30 days of logs already, 1024 MB, REST with api_key
    assert lines["logRetentionDays"].command is None
    assert (lines["memorySize"].current, lines["apiType"].current) == (1024, "rest")
    assert lines["apiType"].command == "pulumi config set apiType http && pulumi config set authMode iam"
    assert "project defaults (Pulumi.yaml)" in priced.notes[0]


def test_the_outputs_are_the_deployed_truth_over_the_stack_file(tmp_path: Path) -> None:
    run = _results(tmp_path)
    deployed = {**OUTPUTS, "api_type": "http", "auth_mode": "iam", "memory_size": 512}
    priced = stack_plan.price_plan(run, outputs=deployed, stack="prod", mix=MIX, requests_per_month=REQUESTS)
    lines = {line.setting: line for line in priced.plan.lines}
    assert (lines["apiType"].current, lines["apiType"].command) == ("http", None)
    assert (lines["memorySize"].current, lines["memorySize"].command) == (512, None)


def test_the_plan_table_reads_in_cents_with_empty_cells(tmp_path: Path) -> None:
    view = stack_plan.plan_view(_priced(tmp_path).plan)
    assert list(view.columns) == [
        "current",
        "proposed",
        "saving $/month",
        "95 % low $/month",
        "95 % high $/month",
        "trade-offs",
        "command",
    ]
    assert view.loc["apiType", "saving $/month"] == 25.00
    assert view.loc["memorySize", "95 % high $/month"] == 0.40
    html = sources.readable_html(view)
    for missing in ("None", "NaN", "nan"):
        assert missing not in html


def test_the_bill_chart_is_written(tmp_path: Path) -> None:
    charts.plan_bill(_priced(tmp_path / "results").plan, report_dir=tmp_path)
    data = (tmp_path / "plan_bill.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 15_000  # a blank 900×500 canvas is ~3 KB


def test_the_readme_front_door_table_is_the_price_modules() -> None:
    section = (
        README.read_text(encoding="utf-8").split("### Choosing the front door", 1)[1].split("\n## ", 1)[0]
    )
    assert stack_plan.front_door_table() in section
    # the table's figures, read off AWS's pricing page independently of the code
    assert (
        "| `rest` | $3.50 up to 333 M · $2.80 up to 1,000 M · $2.38 up to 20,000 M · $1.51 above" in section
    )
    assert "| `http` | $1.00 up to 300 M · $0.90 above 300 M | each started 512 KB" in section
