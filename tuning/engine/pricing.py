"""Prices: Power Tuning's per-invocation formula, and the full price of an API request the tool leaves out.

Every price lives here and nowhere else:

* ``POWER_TUNING_BASE_COSTS``: the tool's ``baseCosts`` (USD per ms at 128 MB, by architecture and region) so
  that ``invocation_cost`` reproduces its ``averagePrice``/``totalCost`` bit for bit;
* ``STEP_FUNCTIONS_TRANSITION_COSTS``: the tool's ``sfCosts`` ($ per state transition by region), which its
  ``executionCost`` uses;
* ``PRICES``: one dated list price table (``PRICES_AS_OF``) for the exact per-request breakdown — Lambda GB-s
  and request fee, API Gateway REST requests, DynamoDB on-demand request units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

ARCHITECTURES = ("x86_64", "arm64")

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


@dataclass(frozen=True)
class RegionPrices:
    """List prices of one region, USD, on-demand, first pricing tier, no free tier."""

    lambda_gb_second: Mapping[str, float]  # by architecture
    lambda_per_request: float
    api_gateway_rest_per_request: float
    dynamodb_per_read_request_unit: float
    dynamodb_per_write_request_unit: float


# Public list prices as of PRICES_AS_OF (DynamoDB on-demand after the 2024-11-01 price cut).
PRICES: dict[str, RegionPrices] = {
    "us-east-1": RegionPrices(
        lambda_gb_second={"x86_64": 0.0000166667, "arm64": 0.0000133334},
        lambda_per_request=0.20 / 1_000_000,
        api_gateway_rest_per_request=3.50 / 1_000_000,
        dynamodb_per_read_request_unit=0.125 / 1_000_000,
        dynamodb_per_write_request_unit=0.625 / 1_000_000,
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
) -> dict[str, float]:
    """USD of one API request at list prices: Lambda compute (exact GB-s, 1 ms rounding) and request fee, API
    Gateway REST request, DynamoDB on-demand units of the operation (or the weighted average of a mix).

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
        "api_gateway": prices.api_gateway_rest_per_request,
        "dynamodb": reads * prices.dynamodb_per_read_request_unit
        + writes * prices.dynamodb_per_write_request_unit,
    }
    return {**parts, "total": sum(parts.values())}
