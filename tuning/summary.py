"""The table a tuning run ends with: per power value the averages with their 95% intervals, p90, prices
and memory, a row with the cause for each skipped size, and each strategy's pick with the sizes within noise
of it. Prices per million requests include API Gateway and DynamoDB (``request_cost_breakdown``), which
Power Tuning leaves out; its own ``averagePrice`` is shown next to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuning.engine.confidence import noise_phrase, within_noise
from tuning.engine.pricing import http_api_metered_units, request_cost_breakdown
from tuning.engine.stats import nearest_rank
from tuning.record import Traffic, TuningRun

NOT_AVAILABLE = "n/a"
HEADERS = (
    "power MB",
    "n",
    "avg ms",
    "95% CI ms",
    "p90 ms",
    "$/invocation",
    "95% CI $/invocation",
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
    api_type: str,
    mix: Mapping[str, float],
    confidence: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """One row per power value in run order; None where a figure is unknown (no invocation records, no
    interval, no prices for the region). A request's price has the fee of the ``api_type`` front door. Errors
    count failed invocations; an AWS run that succeeded had none (the tool aborts)."""
    intervals = {entry["power"]: entry for entry in confidence}
    rows = []
    for stat in stats:
        power = stat["value"]
        mine = [record for record in invocations or [] if record.get("power") == power]
        try:
            breakdown = request_cost_breakdown(
                stat["averageDuration"], power, architecture, region, mix, api_type=api_type
            )
            per_million = 1e6 * breakdown["total"]
        except ValueError:
            per_million = None
        memory = [r["max_memory_used_mb"] for r in mine if r.get("max_memory_used_mb") is not None]
        interval = intervals.get(power)
        rows.append(
            {
                "power": power,
                "n": interval["n"] if interval else None,
                "average_ms": stat["averageDuration"],
                "duration_interval": (interval["durationLow"], interval["durationHigh"])
                if interval
                else None,
                "p90_ms": nearest_rank(
                    [r["duration_ms"] for r in mine if r.get("duration_ms") is not None], 90
                ),
                "cost_per_invocation": stat["averagePrice"],
                "cost_interval": (interval["costLow"], interval["costHigh"]) if interval else None,
                "cost_per_million": per_million,
                "max_memory_used_mb": max(memory) if memory else None,
                "errors": sum(1 for r in mine if r.get("error")) if invocations is not None else 0,
                "optimum": power == output.get("power"),
            }
        )
    return rows


def _cell(value: Any, fmt: str) -> str:
    return NOT_AVAILABLE if value is None else format(value, fmt)


def _range(interval: tuple[float, float] | None, fmt: str) -> str:
    return NOT_AVAILABLE if interval is None else f"{interval[0]:{fmt}}–{interval[1]:{fmt}}"


def format_table(rows: Sequence[Mapping[str, Any]], skipped: Sequence[Mapping[str, Any]] = ()) -> str:
    """A fixed-width text table by ascending power; the run's optimum is marked with ``*``; a skipped size
    (``{"power", "cause"}``) is a row that shows its cause instead of figures."""
    measured = {
        row["power"]: [
            f"{row['power']}{'*' if row['optimum'] else ''}",
            _cell(row["n"], "d"),
            _cell(row["average_ms"], ".2f"),
            _range(row["duration_interval"], ".2f"),
            _cell(row["p90_ms"], ".2f"),
            _cell(row["cost_per_invocation"], ".3e"),
            _range(row["cost_interval"], ".3e"),
            _cell(row["cost_per_million"], ".4f"),
            _cell(row["max_memory_used_mb"], "d"),
            str(row["errors"]),
        ]
        for row in rows
    }
    widths = [max([len(h), *(len(line[i]) for line in measured.values())]) for i, h in enumerate(HEADERS)]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    causes = {
        entry["power"]: f"{entry['power']}".rjust(widths[0]) + f"  skipped: {entry['cause']}"
        for entry in skipped
    }
    body = [render(measured[p]) if p in measured else causes[p] for p in sorted({*measured, *causes})]
    return "\n".join([render(HEADERS), render(["-" * w for w in widths]), *body])


def pick_lines(run: TuningRun) -> list[str]:
    """One line per strategy: the pick the record holds, its figures, and the sizes within noise of it
    (``tuning.engine.confidence.within_noise``: their 95% intervals of the strategy's metric overlap)."""
    stats = run.stats
    tested = [stat["value"] for stat in stats]
    weight = run.input.balanced_weight
    lines = []
    for strategy, pick in run.picks.items():
        others = within_noise(pick.power, run.confidence, strategy, stats, weight)
        lines.append(
            f"  {strategy:<8} {pick.power:>5} MB  {pick.duration:.2f} ms  ${pick.cost:.3e} per "
            f"invocation; {noise_phrase(pick.power, others, tested)}"
        )
    return lines


_KIB = 1024


def _byte_size(count: float) -> str:
    """``912 B``, ``1.1 KB``, ``2.0 MB`` (binary units, as HTTP API's 512 KB)."""
    if count < _KIB:
        return f"{count:.0f} B"
    if count < _KIB * _KIB:
        return f"{count / _KIB:.1f} KB"
    return f"{count / _KIB / _KIB:.1f} MB"


def traffic_lines(traffic: Traffic | None) -> list[str]:
    """The bytes per request a local run measured, as the bill counts them; nothing when not measured."""
    if traffic is None:
        return []
    units = http_api_metered_units(traffic.request_bytes, traffic.response_bytes)
    return [
        f"Measured per request: request {_byte_size(traffic.request_bytes)}, response "
        f"{_byte_size(traffic.response_bytes)} (HTTP API meters {units} unit{'s' if units > 1 else ''}), "
        f"logs {_byte_size(traffic.function_log_bytes)} (function and platform) + "
        f"{_byte_size(traffic.access_log_bytes)} access log"
    ]
