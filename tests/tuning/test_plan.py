"""The priced plan: each setting's line, worked out by hand from the list prices (us-east-1, 2025-11)."""

from __future__ import annotations

import pytest

from tuning.engine.plan import (
    API_TYPE_KEY,
    CAPACITY_MODE,
    LOG_RETENTION_KEY,
    MEMORY_KEY,
    TRACING_KEY,
    SizeDuration,
    StackChoices,
    Workload,
    best_lines,
    make_plan,
    monthly_bill,
)

MILLION = 1_000_000
PROD = StackChoices(
    api_type="rest", auth_mode="api_key", memory_size=1024, architecture="arm64", tracing=True,
    log_retention_days=90,
)  # fmt: skip
GETS = Workload(requests_per_month=10 * MILLION, mix={"get": 1}, function_log_bytes=600, access_log_bytes=400)
SIZES = [SizeDuration(256, 20.0, 18.0, 22.0), SizeDuration(1024, 10.0, 9.0, 11.0)]


def _line(plan, setting):
    return next(line for line in plan.lines if line.setting == setting)


def test_the_bill_has_every_component_at_list_prices() -> None:
    bill = monthly_bill(PROD, 10.0, GETS)
    assert bill["api_gateway"] == pytest.approx(35.0)  # 10 M × $3.50 per million
    assert bill["lambda_requests"] == pytest.approx(2.0)  # 10 M × $0.20 per million
    # 10 ms at 1 GB = 0.01 GB-s per request, arm64 $0.0000133334 per GB-s
    assert bill["lambda_compute"] == pytest.approx(10 * MILLION * 0.01 * 0.0000133334)
    assert bill["dynamodb"] == pytest.approx(
        10 * MILLION * 0.5 * 0.125 / MILLION
    )  # ½ RRU per eventual GetItem
    assert bill["logs_ingestion"] == pytest.approx(10 * MILLION * 1000 / 1e9 * 0.50)  # 10 GB at $0.50
    assert bill["logs_storage"] == pytest.approx(10 * 90 / (730 / 24) * 0.03)  # ~2.96 months of 10 GB kept
    # 10 M a month is 3.805 req/s: 1 a second (reservoir) + 5 % of the other 2.805, recorded + retrieved once
    rate = 10 * MILLION / (730 * 3600)
    assert bill["xray"] == pytest.approx((1 + 0.05 * (rate - 1)) * 730 * 3600 * (5.00 + 0.50) / MILLION)
    assert bill["total"] == pytest.approx(sum(v for k, v in bill.items() if k != "total"))


def test_the_front_door_line_switches_auth_away_from_api_keys() -> None:
    line = _line(make_plan(PROD, SIZES, 1024, GETS, "prod"), API_TYPE_KEY)
    assert (line.current, line.value) == ("rest", "http")
    assert line.monthly_saving_usd == pytest.approx(35.0 - 10.0)  # $3.50 against $1.00 per million
    assert line.command == "pulumi config set apiType http -s prod && pulumi config set authMode iam -s prod"
    assert "API keys" in line.trade_offs
    assert "WAF" in line.trade_offs


def test_an_http_exchange_over_512_kb_is_metered_twice() -> None:
    big = Workload(
        requests_per_month=MILLION, mix={"get": 1}, request_bytes=300 * 1024, response_bytes=300 * 1024
    )
    http = StackChoices("http", "iam", 1024, "arm64", False, 30)
    assert monthly_bill(http, 10.0, big)["api_gateway"] == pytest.approx(2.0)


def test_an_http_stack_keeps_its_front_door_without_a_command() -> None:
    http = StackChoices("http", "jwt", 1024, "arm64", True, 90)
    line = _line(make_plan(http, SIZES, 1024, GETS, "prod"), API_TYPE_KEY)
    assert line.value == "http"
    assert line.command is None
    assert line.monthly_saving_usd == 0


def test_the_memory_line_carries_the_interval_of_both_sizes() -> None:
    plan = make_plan(PROD, SIZES, 256, GETS, "prod")
    line = _line(plan, MEMORY_KEY)
    gb_s = 0.0000133334 * 10 * MILLION  # $ per GB-s of every request in the month
    # 1024 MB for 10 ms (0.01 GB-s) against 256 MB for 20 ms (0.005 GB-s)
    assert line.monthly_saving_usd == pytest.approx(gb_s * (0.01 - 0.005))
    assert line.saving_low_usd == pytest.approx(gb_s * (0.009 - 0.25 * 0.022))
    assert line.saving_high_usd == pytest.approx(gb_s * (0.011 - 0.25 * 0.018))
    assert line.command == "pulumi config set memorySize 256 -s prod"
    assert "10.0 ms slower" in line.trade_offs


def test_tracing_off_saves_the_whole_x_ray_bill() -> None:
    plan = make_plan(PROD, SIZES, 1024, GETS, None)
    line = _line(plan, TRACING_KEY)
    assert line.monthly_saving_usd == pytest.approx(plan.bill_before["xray"])
    assert line.command == "pulumi config set tracing false"


def test_retention_is_proposed_only_when_longer_than_a_month() -> None:
    line = _line(make_plan(PROD, SIZES, 1024, GETS, "prod"), LOG_RETENTION_KEY)
    assert (line.current, line.value) == (90, 30)
    assert line.monthly_saving_usd == pytest.approx(10 * (90 - 30) / (730 / 24) * 0.03)
    short = make_plan(StackChoices("rest", "api_key", 1024, "arm64", True, 14), SIZES, 1024, GETS, "prod")
    assert _line(short, LOG_RETENTION_KEY).command is None


def test_the_capacity_line_is_priced_but_never_has_a_command() -> None:
    writes = Workload(requests_per_month=10 * MILLION, mix={"create": 1})
    line = _line(make_plan(PROD, SIZES, 1024, writes, "prod"), CAPACITY_MODE)
    on_demand = 10 * 0.625  # 10 M WRU at $0.625 per million
    # 3.805 writes/s at 70 % use → 5.44 WCU for 730 h at $0.00065
    provisioned = 10 * MILLION / (730 * 3600) / 0.7 * 0.00065 * 730
    assert line.monthly_saving_usd == pytest.approx(on_demand - provisioned)
    assert line.value == "provisioned"
    assert line.command is None
    assert "29%" in line.trade_offs  # $0.00065 / 3600 s against $0.625 per million


def test_lines_come_best_first_and_the_bill_after_applies_every_command() -> None:
    plan = make_plan(PROD, SIZES, 256, GETS, "prod")
    savings = [line.monthly_saving_usd or 0 for line in plan.lines]
    assert savings == sorted(savings, reverse=True)
    assert [line.setting for line in best_lines(plan.lines, 2)] == [API_TYPE_KEY, TRACING_KEY]
    applied = sum(line.monthly_saving_usd for line in plan.lines if line.command)
    assert plan.bill_before["total"] - plan.bill_after["total"] == pytest.approx(applied)
    assert plan.to_json()[0] == {
        "setting": "apiType",
        "current": "rest",
        "value": "http",
        "monthlySavingUsd": pytest.approx(25.0),
        "savingLowUsd": pytest.approx(25.0),
        "savingHighUsd": pytest.approx(25.0),
        "tradeOffs": plan.lines[0].trade_offs,
        "command": "pulumi config set apiType http -s prod && pulumi config set authMode iam -s prod",
    }


def test_a_current_size_outside_the_run_has_no_memory_saving() -> None:
    plan = make_plan(StackChoices("rest", "api_key", 2048, "arm64", True, 30), SIZES, 256, GETS, "prod")
    line = _line(plan, MEMORY_KEY)
    assert line.monthly_saving_usd is None
    assert "2048 MB was not among the run's sizes" in line.trade_offs
    assert plan.notes == ("2048 MB was not measured: the bill before the plan uses 256 MB's duration",)
