"""Prices: Power Tuning's per-invocation formula, and the full price of an API request the tool leaves out.

Every price lives here and nowhere else:

* ``POWER_TUNING_BASE_COSTS``: the tool's ``baseCosts`` (USD per ms at 128 MB, by architecture and region) so
  that ``invocation_cost`` reproduces its ``averagePrice``/``totalCost`` bit for bit;
* ``STEP_FUNCTIONS_TRANSITION_COSTS``: the tool's ``sfCosts`` ($ per state transition by region), which its
  ``executionCost`` uses;
* ``PRICES``: one dated list price table (``PRICES_AS_OF``) for the exact per-request breakdown — Lambda GB-s
  and request fee, API Gateway REST requests, DynamoDB on-demand request units — and for the monthly bill of
  every setting the stack offers: REST and HTTP API request tiers (HTTP metered per started 512 KB),
  CloudWatch Logs ingestion and storage, X-Ray traces recorded and retrieved, DynamoDB provisioned capacity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from settings.aws_limits import ARCHITECTURES
from settings.stack_settings import API_TYPES

# Power Tuning 4.4.0 template.yml `baseCosts`: $ per ms at 128 MB; regions not listed use "default".
POWER_TUNING_BASE_COSTS: dict[str, dict[str, float]] = {
    "x86_64": {
        "default": 2.1e-9,
        "ap-east-1": 2.9e-9,
        "af-south-1": 2.8e-9,
        "ap-northeast-3": 2.7e-9,
        "me-south-1": 2.6e-9,
        "eu-south-1": 2.4e-9,
        "cn-north-1": 1.42e-8,  # CNY
        "cn-northwest-1": 1.42e-8,  # CNY
    },
    "arm64": {"default": 1.7e-9},
}

# Power Tuning `sfCosts`: $ per Step Functions state transition in the state machine's region.
STEP_FUNCTIONS_TRANSITION_COSTS: dict[str, float] = {
    "default": 0.000025,
    "us-gov-west-1": 0.00003,
    "us-gov-east-1": 0.00003,
    "ap-northeast-2": 0.0000271,
    "eu-south-1": 0.00002625,
    "af-south-1": 0.00002975,
    "us-west-1": 0.0000279,
    "eu-west-3": 0.0000297,
    "ap-east-1": 0.0000275,
    "me-south-1": 0.0000275,
    "ap-south-1": 0.0000285,
    "sa-east-1": 0.0000375,
    "cn-north-1": 0.0001891,
    "cn-northwest-1": 0.0001891,
}

PRICES_AS_OF = "2025-11"
# Where each figure of PRICES comes from: AWS's public pricing pages, read at PRICES_AS_OF.
PRICE_SOURCES = (
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/api-gateway/pricing/",
    "https://aws.amazon.com/dynamodb/pricing/",
    "https://aws.amazon.com/cloudwatch/pricing/",
    "https://aws.amazon.com/xray/pricing/",
)
# HTTP API requests are metered per started 512 KB of request plus response (API Gateway pricing page).
HTTP_API_METERING_BYTES = 512 * 1024
HOURS_PER_MONTH = 730  # AWS bills capacity by the hour and prices a month as 730 of them

# A tiered price: (requests up to which the tier applies, USD per request); the last tier has no bound.
Tiers = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RegionPrices:
    """List prices of one region, USD, on-demand, no free tier. The per-request fields are the first tier."""

    lambda_gb_second: Mapping[str, float]  # by architecture
    lambda_per_request: float
    dynamodb_per_read_request_unit: float
    dynamodb_per_write_request_unit: float
    api_gateway_rest_tiers: Tiers
    api_gateway_http_tiers: Tiers
    logs_ingestion_per_gb: float  # CloudWatch Logs standard class
    logs_storage_per_gb_month: float
    xray_per_trace_recorded: float
    xray_per_trace_retrieved: float
    dynamodb_per_wcu_hour: float  # provisioned capacity
    dynamodb_per_rcu_hour: float


_MILLION = 1_000_000
# Public list prices as of PRICES_AS_OF (DynamoDB on-demand after the 2024-11-01 price cut).
PRICES: dict[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        lambda_gb_second={"x86_64": 0.0000166667, "arm64": 0.0000133334},
        lambda_per_request=0.20 / _MILLION,
        dynamodb_per_read_request_unit=0.125 / _MILLION,
        dynamodb_per_write_request_unit=0.625 / _MILLION,
        api_gateway_rest_tiers=(
            (333 * _MILLION, 3.50 / _MILLION),
            (1000 * _MILLION, 2.80 / _MILLION),
            (20000 * _MILLION, 2.38 / _MILLION),
            (math.inf, 1.51 / _MILLION),
        ),
        api_gateway_http_tiers=((300 * _MILLION, 1.00 / _MILLION), (math.inf, 0.90 / _MILLION)),
        logs_ingestion_per_gb=0.50,
        logs_storage_per_gb_month=0.03,
        xray_per_trace_recorded=5.00 / _MILLION,
        xray_per_trace_retrieved=0.50 / _MILLION,
        dynamodb_per_wcu_hour=0.00065,
        dynamodb_per_rcu_hour=0.00013,
    ),
}

# DynamoDB units per API operation, from what function/items.py sends, for items of at most ITEM_SIZE_KB and a
# list page of LIST_PAGE_ITEMS items. Reads: 1 RRU per started 4 KB when strongly consistent, half that when
# eventually consistent; a Scan is charged on the page's total size, not per item. Writes: 1 WRU per started
# 1 KB; a conditional write that fails still consumes its WRU.
ITEM_SIZE_KB = 1.0
LIST_PAGE_ITEMS = 25
_READ_UNIT_KB = 4.0
_WRITE_UNIT_KB = 1.0
_EVENTUALLY_CONSISTENT = 0.5
_ITEM_READ = math.ceil(ITEM_SIZE_KB / _READ_UNIT_KB)  # strongly consistent read of one item
_ITEM_WRITE = math.ceil(ITEM_SIZE_KB / _WRITE_UNIT_KB)


@dataclass(frozen=True)
class RequestUnits:
    """DynamoDB request units one API operation consumes."""

    read: float = 0.0
    write: float = 0.0


OPERATION_UNITS: dict[str, RequestUnits] = {
    "get": RequestUnits(read=_EVENTUALLY_CONSISTENT * _ITEM_READ),  # GetItem, eventually consistent
    "list": RequestUnits(  # one Scan page, eventually consistent
        read=_EVENTUALLY_CONSISTENT * math.ceil(LIST_PAGE_ITEMS * ITEM_SIZE_KB / _READ_UNIT_KB)
    ),
    "create": RequestUnits(write=_ITEM_WRITE),  # conditional PutItem
    # conditional PutItem against the version the warm environment last saw; a stale or cold cache (or
    # If-Match, which reads first) adds a failed write or a strongly consistent read
    "replace": RequestUnits(write=_ITEM_WRITE),
    "patch": RequestUnits(read=_ITEM_READ, write=_ITEM_WRITE),  # strongly consistent GetItem, then PutItem
    "delete": RequestUnits(write=_ITEM_WRITE),  # conditional DeleteItem
}


def _check_architecture(architecture: str) -> None:
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unsupported architecture {architecture!r}: expected one of {', '.join(ARCHITECTURES)}"
        )


def power_tuning_base_cost(architecture: str = "x86_64", region: str = "us-east-1") -> float:
    """Power Tuning's $/ms at 128 MB for the function's architecture and region (unknown region → default)."""
    _check_architecture(architecture)
    table = POWER_TUNING_BASE_COSTS[architecture]
    return table.get(region, table["default"])


def invocation_cost(
    billed_ms: float, memory_mb: float, architecture: str = "x86_64", region: str = "us-east-1"
) -> float:
    """One invocation's price as Power Tuning computes it: ceil(ms) · base · (memory/128), no request fee.

    The evaluation order is the tool's, so the float is bit-identical to its ``averagePrice``.
    """
    return math.ceil(billed_ms) * power_tuning_base_cost(architecture, region) * (memory_mb / 128)


def region_prices(region: str) -> RegionPrices:
    """The dated list prices of ``region``; ValueError names the regions the table covers."""
    try:
        return PRICES[region]
    except KeyError:
        raise ValueError(
            f"No list prices for region {region!r} (table as of {PRICES_AS_OF} covers {', '.join(PRICES)})"
        ) from None


def operation_weights(operation: str | Mapping[str, float]) -> dict[str, float]:
    """Normalise an operation name or a weighted mix (``{"get": 70, "create": 30}``) to fractions summing
    to 1."""
    mix = {operation: 1.0} if isinstance(operation, str) else dict(operation)
    if not mix:
        raise ValueError("The operation mix is empty")
    for name, weight in mix.items():
        if name not in OPERATION_UNITS:
            raise ValueError(f"Unknown operation {name!r}: expected one of {', '.join(OPERATION_UNITS)}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not weight > 0:
            raise ValueError(f"Weight of {name!r} must be a positive number, got {weight!r}")
    total = sum(mix.values())
    return {name: weight / total for name, weight in mix.items()}


def request_cost_breakdown(
    duration_ms: float,
    memory_mb: float,
    architecture: str = "x86_64",
    region: str = "us-east-1",
    operation: str | Mapping[str, float] = "get",
    api_type: str = "rest",
) -> dict[str, float]:
    """USD of one API request at list prices: Lambda compute (exact GB-s, 1 ms rounding) and request fee, the
    API Gateway request (first tier, one metered unit), DynamoDB on-demand units of the operation (or the
    weighted average of a mix).

    Power Tuning prices only the first of these; for short functions the others dominate.
    """
    _check_architecture(architecture)
    prices = region_prices(region)
    weights = operation_weights(operation)
    gb_seconds = math.ceil(duration_ms) / 1000 * (memory_mb / 1024)
    reads = sum(OPERATION_UNITS[name].read * share for name, share in weights.items())
    writes = sum(OPERATION_UNITS[name].write * share for name, share in weights.items())
    parts = {
        "lambda_compute": gb_seconds * prices.lambda_gb_second[architecture],
        "lambda_request": prices.lambda_per_request,
        "api_gateway": api_tiers(prices, api_type)[0][1],
        "dynamodb": reads * prices.dynamodb_per_read_request_unit
        + writes * prices.dynamodb_per_write_request_unit,
    }
    return {**parts, "total": sum(parts.values())}


def api_tiers(prices: RegionPrices, api_type: str) -> Tiers:
    """The request price tiers of one front door (``rest`` or ``http``)."""
    if api_type not in API_TYPES:
        raise ValueError(f"Unknown API type {api_type!r}: expected one of {', '.join(API_TYPES)}")
    return prices.api_gateway_rest_tiers if api_type == "rest" else prices.api_gateway_http_tiers


def tiered_cost(units: float, tiers: Tiers) -> float:
    """USD of ``units`` in a month under volume tiers, each unit priced by the tier it falls in."""
    cost, below = 0.0, 0.0
    for bound, price in tiers:
        in_tier = min(units, bound) - below
        if in_tier <= 0:
            break
        cost += in_tier * price
        below = bound
    return cost


def http_api_metered_units(request_bytes: float, response_bytes: float) -> int:
    """How many requests HTTP API bills for one request: one per started 512 KB of request plus response."""
    return max(1, math.ceil((request_bytes + response_bytes) / HTTP_API_METERING_BYTES))


def api_requests_monthly_cost(
    api_type: str,
    requests: float,
    region: str = "us-east-1",
    request_bytes: float = 0,
    response_bytes: float = 0,
) -> float:
    """USD a month of the front door's request fees (REST: per request; HTTP: per metered 512 KB unit)."""
    units = requests * (http_api_metered_units(request_bytes, response_bytes) if api_type == "http" else 1)
    return tiered_cost(units, api_tiers(region_prices(region), api_type))


def logs_monthly_cost(
    bytes_per_request: float, requests: float, retention_days: int, region: str = "us-east-1"
) -> dict[str, float]:
    """USD a month of CloudWatch Logs at a steady rate: ingestion of every byte, and storage of what the
    retention keeps (about ``retention_days`` of ingestion; AWS bills stored bytes after compression, so the
    storage figure is an upper bound)."""
    prices = region_prices(region)
    gigabytes = bytes_per_request * requests / 1e9
    kept_months = retention_days / (HOURS_PER_MONTH / 24)
    return {
        "ingestion": gigabytes * prices.logs_ingestion_per_gb,
        "storage": gigabytes * kept_months * prices.logs_storage_per_gb_month,
    }


# X-Ray's default sampling rule: the first request each second (the reservoir), then 5 % of the rest.
XRAY_RESERVOIR_PER_SECOND = 1.0
XRAY_FIXED_RATE = 0.05
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


def xray_traces_per_month(requests: float) -> float:
    """Traces the default sampling rule records in a month of evenly spread ``requests``."""
    per_second = requests / SECONDS_PER_MONTH
    sampled = min(per_second, XRAY_RESERVOIR_PER_SECOND) + XRAY_FIXED_RATE * max(
        per_second - XRAY_RESERVOIR_PER_SECOND, 0.0
    )
    return sampled * SECONDS_PER_MONTH


def xray_monthly_cost(requests: float, retrievals_per_trace: float = 1.0, region: str = "us-east-1") -> float:
    """USD a month of X-Ray: recorded traces at the default sampling, each retrieved ``retrievals_per_trace``
    times (the console's trace list and service map scan what they show)."""
    prices = region_prices(region)
    traces = xray_traces_per_month(requests)
    return traces * (prices.xray_per_trace_recorded + retrievals_per_trace * prices.xray_per_trace_retrieved)


@dataclass(frozen=True)
class CapacityPrice:
    """DynamoDB's two capacity modes priced for one steady workload."""

    on_demand: float  # USD a month
    provisioned: float  # USD a month, capacity sized for the rate at the target utilisation
    break_even_utilisation: float  # provisioned is cheaper when the average use of its capacity is above this


def dynamodb_capacity_monthly_cost(
    read_units: float, write_units: float, target_utilisation: float = 0.7, region: str = "us-east-1"
) -> CapacityPrice:
    """On-demand against provisioned capacity for ``read_units``/``write_units`` request units a month spread
    evenly. Provisioned capacity is bought per unit-hour and sized so the steady rate uses
    ``target_utilisation`` of it (auto scaling's usual target); bursts above it are throttled, which on-demand
    never does up to twice the previous peak."""
    if not 0 < target_utilisation <= 1:
        raise ValueError(f"target_utilisation must be in (0, 1], got {target_utilisation!r}")
    prices = region_prices(region)

    def provisioned_at(utilisation: float) -> float:
        rcu = read_units / SECONDS_PER_MONTH / utilisation
        wcu = write_units / SECONDS_PER_MONTH / utilisation
        return (rcu * prices.dynamodb_per_rcu_hour + wcu * prices.dynamodb_per_wcu_hour) * HOURS_PER_MONTH

    on_demand = (
        read_units * prices.dynamodb_per_read_request_unit
        + write_units * prices.dynamodb_per_write_request_unit
    )
    # Fully used capacity against on-demand: below that share of use, on-demand is cheaper.
    break_even = provisioned_at(1.0) / on_demand if on_demand else math.nan
    return CapacityPrice(
        on_demand=on_demand, provisioned=provisioned_at(target_utilisation), break_even_utilisation=break_even
    )
