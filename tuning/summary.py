"""The table a tuning run ends with: per power value the averages, p90, prices and memory, and each
strategy's pick. Prices per million requests include API Gateway and DynamoDB (``request_cost_breakdown``),
which Power Tuning leaves out; its own ``averagePrice`` is shown next to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuning.engine.analyzer import STRATEGIES, find_optimum
from tuning.engine.pricing import request_cost_breakdown
from tuning.engine.stats import nearest_rank

NOT_AVAILABLE = "n/a"
HEADERS = (
    "power MB",
    "avg ms",
    "p90 ms",
    "$/invocation",
    "$/1M requests",
    "max mem MB",
    "errors",
)


def power_rows(
    output: Mapping[str, Any],
    stats: Sequence[Mapping[str, Any]],
    invocations: Sequence[Mapping[str, Any]] | None,
    *,
    architecture: str,
    region: str,
    mix: Mapping[str, float],
) -> list[dict[str, Any]]:
    """One row per power value in run order; None where a figure is unknown (no invocation records, no prices
    for the region). Errors count failed invocations; an AWS run that succeeded had none (the tool aborts)."""
    rows = []
    for stat in stats:
        power = stat["value"]
        mine = [record for record in invocations or [] if record.get("power") == power]
        try:
            per_million = (
                1e6
                * request_cost_breakdown(stat["averageDuration"], power, architecture, region, mix)["total"]
            )
        except ValueError:
            per_million = None
        memory = [r["max_memory_used_mb"] for r in mine if r.get("max_memory_used_mb") is not None]
        rows.append(
            {
                "power": power,
                "average_ms": stat["averageDuration"],
                "p90_ms": nearest_rank(
                    [r["duration_ms"] for r in mine if r.get("duration_ms") is not None], 90
                ),
                "cost_per_invocation": stat["averagePrice"],
                "cost_per_million": per_million,
                "max_memory_used_mb": max(memory) if memory else None,
                "errors": sum(1 for r in mine if r.get("error")) if invocations is not None else 0,
                "optimum": power == output.get("power"),
            }
        )
    return rows


def _cell(value: Any, fmt: str) -> str:
    return NOT_AVAILABLE if value is None else format(value, fmt)


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A fixed-width text table; the run's optimum is marked with ``*``."""
    lines = [
        [
            f"{row['power']}{'*' if row['optimum'] else ''}",
            _cell(row["average_ms"], ".2f"),
            _cell(row["p90_ms"], ".2f"),
            _cell(row["cost_per_invocation"], ".3e"),
            _cell(row["cost_per_million"], ".4f"),
            _cell(row["max_memory_used_mb"], "d"),
            str(row["errors"]),
        ]
        for row in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(HEADERS)]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join([render(HEADERS), render(["-" * w for w in widths]), *map(render, lines)])


def strategy_picks(stats: Sequence[Mapping[str, Any]], balanced_weight: float) -> dict[str, dict[str, Any]]:
    """What each strategy would pick from the same stats (the tool's rules and ties)."""
    return {strategy: find_optimum(stats, strategy, balanced_weight) for strategy in STRATEGIES}
