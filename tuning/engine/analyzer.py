"""Power Tuning's analysis (Executor statistics + Analyzer), so local and AWS results share one arithmetic.

``build_output`` turns per-power measurements into the exact execution output of the tool (``power``,
``cost``, ``duration``, ``stateMachine{executionCost, lambdaCost, visualization}``, ``stats``), keeping the
tool's evaluation order so the floats are bit-identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tuning.engine.pricing import STEP_FUNCTIONS_TRANSITION_COSTS, invocation_cost
from tuning.engine.stats import DEFAULT_DISCARD, effective_discard, left_sum, trimmed_mean
from tuning.engine.visualization import DEFAULT_VISUALIZATION_URL, encode_url

STRATEGIES = ("cost", "speed", "balanced")
DEFAULT_BALANCED_WEIGHT = 0.5  # the tool's balancedWeight when the input has none

Measurements = Sequence[tuple[int, Sequence[tuple[float, float]]]]


def clamp_balanced_weight(weight: float) -> float:
    """``balancedWeight`` as the tool clamps it: into [0, 1] (0 ≡ speed, 1 ≡ cost)."""
    return min(max(weight, 0.0), 1.0)


def _js_to_fixed_5(value: float) -> float:
    """``+(value).toFixed(5)``: the exact binary value rounded half up (for positive values) to 5 decimals."""
    return float(Decimal(value).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP))


def execution_cost(
    n_power_values: int, only_cold_starts: bool = False, num: int | None = None, region: str = "us-east-1"
) -> float:
    """Step Functions cost as the tool estimates it: transitions × regional price, rounded to 5 decimals.

    Transitions: ``6 + 3N`` normally, ``6 + N + 2·N·num`` with onlyColdStarts (``num`` then required).
    """
    if only_cold_starts:
        if num is None:
            raise ValueError("execution_cost with only_cold_starts needs num")
        multiplier = 6 + n_power_values + 2 * n_power_values * num
    else:
        multiplier = 6 + 3 * n_power_values
    price = STEP_FUNCTIONS_TRANSITION_COSTS.get(region, STEP_FUNCTIONS_TRANSITION_COSTS["default"])
    return _js_to_fixed_5(price * multiplier)


def _candidates(stats: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The Analyzer's view of stats: falsy/absent ``averageDuration`` (an empty Executor result) is
    dropped."""
    return [
        {
            "power": stat["value"],
            "cost": stat.get("averagePrice"),
            "duration": stat["averageDuration"],
            "totalCost": stat.get("totalCost"),
        }
        for stat in stats
        if stat and stat.get("averageDuration")
    ]


def _rank(candidates: list[dict[str, Any]], strategy: str, balanced_weight: float) -> list[dict[str, Any]]:
    """Candidates in the order the strategy's sort leaves them; the first is the optimum."""
    if strategy == "cost":  # equal cost → faster first (issue #60)
        return sorted(candidates, key=lambda c: (c["cost"], c["duration"]))
    if strategy == "speed":  # equal duration → cheaper first
        return sorted(candidates, key=lambda c: (c["duration"], c["cost"]))
    if strategy == "balanced":
        weight = clamp_balanced_weight(balanced_weight)
        max_cost = max(c["cost"] for c in candidates)
        max_duration = max(c["duration"] for c in candidates)
        if max_cost == 0:  # every score is NaN in JavaScript: the comparator says "equal", input order stays
            return list(candidates)
        return sorted(
            candidates,
            key=lambda c: weight * c["cost"] / max_cost + (1 - weight) * c["duration"] / max_duration,
        )
    raise ValueError(f"Unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")


def _ranked_candidates(
    stats: Iterable[Mapping[str, Any]], strategy: str, balanced_weight: float
) -> list[dict[str, Any]]:
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    candidates = _candidates(stats)
    if not candidates:
        raise ValueError("No power value has a non-zero average duration: nothing to choose from")
    return _rank(candidates, strategy, balanced_weight)


def find_optimum(
    stats: Iterable[Mapping[str, Any]],
    strategy: str = "cost",
    balanced_weight: float = DEFAULT_BALANCED_WEIGHT,
) -> dict[str, Any]:
    """The tool's pick among stats entries (``value``, ``averagePrice``, ``averageDuration``):
    ``{"power", "cost", "duration"}``. Ties compare floats exactly, as the tool does."""
    best = _ranked_candidates(stats, strategy, balanced_weight)[0]
    return {"power": best["power"], "cost": best["cost"], "duration": best["duration"]}


def strategy_picks(
    stats: Iterable[Mapping[str, Any]], balanced_weight: float = DEFAULT_BALANCED_WEIGHT
) -> dict[str, dict[str, Any]]:
    """What each strategy picks from the same stats (the tool's rules and ties), computed once per run."""
    stats = list(stats)
    return {strategy: find_optimum(stats, strategy, balanced_weight) for strategy in STRATEGIES}


def executor_stats(
    power: int,
    invocations: Sequence[tuple[float, float]],
    *,
    discard_top_bottom: float,
    architecture: str,
    region: str,
) -> dict[str, Any]:
    """One Executor result: trimmed means of durations and of billed durations (trimmed independently),
    ``averagePrice`` from the ceiled mean billed ms, ``totalCost`` over every invocation (untrimmed)."""
    durations = [duration for duration, _ in invocations]
    billed = sorted(billed for _, billed in invocations)  # the tool sums totalCost after sorting in place
    average_billed = trimmed_mean(billed, discard_top_bottom)
    return {
        "averagePrice": invocation_cost(average_billed, power, architecture, region),
        "averageDuration": trimmed_mean(durations, discard_top_bottom),
        "totalCost": left_sum(invocation_cost(ms, power, architecture, region) for ms in billed),
        "value": power,
    }


def build_output(
    measurements: Measurements,
    *,
    strategy: str = "cost",
    balanced_weight: float = DEFAULT_BALANCED_WEIGHT,
    discard_top_bottom: float = DEFAULT_DISCARD,
    only_cold_starts: bool = False,
    architecture: str = "x86_64",
    region: str = "us-east-1",
    include_stats: bool = True,
    visualization_url: str = DEFAULT_VISUALIZATION_URL,
) -> dict[str, Any]:
    """Power Tuning's execution output from ``[(power_mb, [(duration_ms, billed_ms), ...]), ...]``.

    ``region`` prices both the function (the lambdaARN's region) and the Step Functions transitions (the state
    machine's region), which are the same region in this project. ``duration_ms`` must already include Init
    and Restore Duration (the tool adds them); ``billed_ms`` is Billed Duration + Billed Restore Duration. An
    empty invocation list yields a dropped (zero-duration) entry. Power values keep their input order.
    """
    discard = effective_discard(discard_top_bottom, only_cold_starts)
    stats = [
        executor_stats(
            int(power), invocations, discard_top_bottom=discard, architecture=architecture, region=region
        )
        for power, invocations in measurements
    ]
    ranked = _ranked_candidates(stats, strategy, balanced_weight)
    best = ranked[0]
    num = max((len(invocations) for _, invocations in measurements), default=0)
    output: dict[str, Any] = {
        "power": best["power"],
        "cost": best["cost"],
        "duration": best["duration"],
        "stateMachine": {
            "executionCost": execution_cost(len(stats), only_cold_starts, num, region),
            "lambdaCost": left_sum(c["totalCost"] for c in ranked),  # summed in the strategy's sorted order
            "visualization": encode_url(
                [
                    {"value": c["power"], "averageDuration": c["duration"], "averagePrice": c["cost"]}
                    for c in ranked
                ],
                visualization_url,
                region,
            ),
        },
    }
    if include_stats:
        output["stats"] = [
            {"value": s["value"], "averagePrice": s["averagePrice"], "averageDuration": s["averageDuration"]}
            for s in stats
        ]
    return output


def is_failed_output(output: Any) -> bool:
    """Power Tuning reports a caught Publisher/Executor error as SUCCEEDED with ``{}``."""
    return isinstance(output, dict) and not output


__all__ = [
    "STRATEGIES",
    "build_output",
    "clamp_balanced_weight",
    "execution_cost",
    "executor_stats",
    "find_optimum",
    "is_failed_output",
    "strategy_picks",
]
