"""Prices: Power Tuning's per-invocation formula to the bit, and the full per-request price breakdown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tuning.engine.pricing import (
    PRICES,
    PRICES_AS_OF,
    STEP_FUNCTIONS_TRANSITION_COSTS,
    XRAY_FIXED_RATE,
    XRAY_RESERVOIR_PER_SECOND,
    invocation_cost,
    logs_monthly_cost,
    request_cost_breakdown,
)


@pytest.mark.parametrize(
    ("billed_ms", "memory_mb", "expected"),
    [  # averagePrice values of the reference's example output (x86_64, us-east-1), as printed there
        (2401, 128, 0.0000050421),
        (1202, 256, 0.0000050484),
        (602, 512, 0.0000050568),
        (301, 1024, 0.0000050568),
        (206, 1536, 0.0000051912),
        (191, 3008, 0.00000942585),
    ],
)
def test_invocation_cost_matches_the_tools_output(billed_ms: int, memory_mb: int, expected: float) -> None:
    assert invocation_cost(billed_ms, memory_mb) == pytest.approx(expected, rel=1e-12)


def test_invocation_cost_keeps_the_tools_evaluation_order() -> None:
    # (3 · 2.1e-9) · (320/128) = 1.575e-08, while 3 · (2.1e-9 · 2.5) rounds to 1.5750000000000002e-08
    assert invocation_cost(3, 320) == 1.575e-08
    assert invocation_cost(3, 320) != 3 * (2.1e-9 * (320 / 128))


def test_billed_milliseconds_are_rounded_up() -> None:
    assert invocation_cost(10.01, 128) == 11 * 2.1e-9 * 1.0
    assert invocation_cost(10, 128) == 10 * 2.1e-9 * 1.0


@pytest.mark.parametrize(
    ("architecture", "region", "base"),
    [
        ("x86_64", "us-east-1", 2.1e-9),
        ("x86_64", "eu-west-1", 2.1e-9),
        ("x86_64", "ap-east-1", 2.9e-9),
        ("x86_64", "af-south-1", 2.8e-9),
        ("x86_64", "ap-northeast-3", 2.7e-9),
        ("x86_64", "me-south-1", 2.6e-9),
        ("x86_64", "eu-south-1", 2.4e-9),
        ("x86_64", "cn-north-1", 1.42e-8),
        ("x86_64", "nowhere-1", 2.1e-9),
        ("arm64", "us-east-1", 1.7e-9),
        ("arm64", "ap-east-1", 1.7e-9),  # arm64 has only a default entry
    ],
)
def test_regional_base_prices(architecture: str, region: str, base: float) -> None:
    assert invocation_cost(100, 256, architecture, region) == 100 * base * 2.0


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported architecture 'riscv'"):
        invocation_cost(1, 128, "riscv")
    with pytest.raises(ValueError, match="Unsupported architecture"):
        request_cost_breakdown(1, 128, "x86")


def test_request_breakdown_of_one_get_on_arm64() -> None:
    parts = request_cost_breakdown(10.2, 1024, "arm64", "us-east-1", "get")
    # 11 ms billed · 1 GB · $0.0000133334/GB-s; $0.20/M; $3.50/M; 0.5 RRU · $0.125/M
    assert parts["lambda_compute"] == pytest.approx(0.011 * 0.0000133334, rel=1e-12)
    assert parts["lambda_request"] == pytest.approx(0.2e-6, rel=1e-12)
    assert parts["api_gateway"] == pytest.approx(3.5e-6, rel=1e-12)
    assert parts["dynamodb"] == pytest.approx(0.5 * 0.125e-6, rel=1e-12)
    assert parts["total"] == pytest.approx(0.011 * 0.0000133334 + 0.2e-6 + 3.5e-6 + 0.0625e-6, rel=1e-12)


def test_request_breakdown_of_a_weighted_mix_on_x86() -> None:
    parts = request_cost_breakdown(100, 512, "x86_64", operation={"get": 70, "create": 20, "list": 10})
    # reads: 0.7 · 0.5 RRU + 0.1 · 3.5 RRU (25 items of 1 KB = 7 × 4 KB, halved); writes: 0.2 · 1 WRU
    assert parts["dynamodb"] == pytest.approx((0.35 + 0.35) * 0.125e-6 + 0.2 * 0.625e-6, rel=1e-12)
    assert parts["lambda_compute"] == pytest.approx(0.1 * 0.5 * 0.0000166667, rel=1e-12)


@pytest.mark.parametrize("operation", ["create", "replace", "delete"])
def test_each_write_costs_one_write_unit(operation: str) -> None:
    assert request_cost_breakdown(1, 128, operation=operation)["dynamodb"] == pytest.approx(0.625e-6)


def test_a_patch_reads_strongly_consistent_then_writes() -> None:
    # function/items.py patch_item: GetItem(ConsistentRead=True) = 1 RRU, then a conditional PutItem = 1 WRU
    assert request_cost_breakdown(1, 128, operation="patch")["dynamodb"] == pytest.approx(0.125e-6 + 0.625e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation": "scan"}, "Unknown operation 'scan'"),
        ({"operation": {"get": 0}}, "positive number"),
        ({"operation": {"get": -1, "list": 2}}, "positive number"),
        ({"operation": {}}, "empty"),
        ({"region": "eu-west-1"}, f"as of {PRICES_AS_OF}"),
    ],
)
def test_request_breakdown_refuses_what_it_cannot_price(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request_cost_breakdown(1, 128, **kwargs)


def _readme_costs() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Costs\n", 1)[1].split("\n## ", 1)[0]


def _readme_per_million_rows() -> dict[str, list[str]]:
    """The README's "Per million requests" table: item → its price and per-million cells."""
    table = _readme_costs().split("**Per million requests**", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in table.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows[1:]}


def _dollars(cell: str) -> float:
    return float(re.search(r"\$(\d+\.\d+)", cell)[1])


def _all_dollars(cell: str) -> list[float]:
    return [float(figure) for figure in re.findall(r"\$(\d+\.\d+)", cell)]


def test_the_readme_per_million_costs_are_the_price_modules_and_add_up() -> None:
    rows = {item: cells[-1] for item, cells in _readme_per_million_rows().items()}
    parts = request_cost_breakdown(20, 1024, "arm64", "us-east-1", {"get": 70, "create": 20, "list": 10})
    million = 1_000_000
    assert _dollars(rows["API Gateway REST API"]) == round(parts["api_gateway"] * million, 2)
    assert _dollars(rows["Lambda requests"]) == round(parts["lambda_request"] * million, 2)
    assert _dollars(rows["Lambda compute"]) == round(parts["lambda_compute"] * million, 2)
    assert _dollars(rows["DynamoDB on-demand"]) == round(parts["dynamodb"] * million, 2)
    # ≈ 1 KB of log lines per request
    ingestion = logs_monthly_cost(1000, million, retention_days=1)["ingestion"]
    assert _dollars(rows["CloudWatch Logs ingestion"]) == round(ingestion, 2)
    # busy: 5 % of requests traced; at most 1 request a second: every one
    prices = PRICES["us-east-1"]
    assert _all_dollars(rows["X-Ray traces"]) == [
        round(XRAY_FIXED_RATE * prices.xray_per_trace_recorded * million, 2),
        round(prices.xray_per_trace_recorded * million, 2),
    ]
    items = [cell for item, cell in rows.items() if item not in ("**Total**", "X-Ray traces")]
    assert _dollars(rows["**Total**"]) == pytest.approx(sum(_dollars(cell) for cell in items), abs=0.005)


def test_the_readme_unit_prices_are_the_price_modules() -> None:
    costs = _readme_costs()
    prices = {item: cells[0] for item, cells in _readme_per_million_rows().items()}
    table = PRICES["us-east-1"]
    million = 1_000_000
    rest_bound, rest_price = table.api_gateway_rest_tiers[0]
    assert prices["API Gateway REST API"] == (
        f"${rest_price * million:.2f} per million (first {rest_bound / million:.0f} M a month)"
    )
    assert _all_dollars(prices["Lambda requests"]) == pytest.approx([table.lambda_per_request * million])
    arm, x86 = table.lambda_gb_second["arm64"], table.lambda_gb_second["x86_64"]
    assert prices["Lambda compute"] == f"${arm:.10f} per GB-s arm64 (${x86:.10f} x86_64)"
    assert _all_dollars(prices["DynamoDB on-demand"]) == pytest.approx(
        [table.dynamodb_per_read_request_unit * million, table.dynamodb_per_write_request_unit * million]
    )
    assert _all_dollars(prices["CloudWatch Logs ingestion"]) == pytest.approx([table.logs_ingestion_per_gb])
    assert prices["X-Ray traces"].startswith(f"${table.xray_per_trace_recorded * million:.2f} per million")
    assert (
        f"keeps {XRAY_RESERVOIR_PER_SECOND:.0f} request/s + {XRAY_FIXED_RATE * 100:.0f} %"
        in prices["X-Ray traces"]
    )
    assert f"| CloudWatch Logs storage | ${table.logs_storage_per_gb_month:.2f} per GB-month |" in costs
    assert f"list prices as of {PRICES_AS_OF}**" in costs
    per_thousand = STEP_FUNCTIONS_TRANSITION_COSTS["default"] * 1000
    assert f"${per_thousand:.3f} per 1,000 state transitions" in costs
