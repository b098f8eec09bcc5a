"""Power Tuning's trimmed mean (``utils.computeAverageDuration``), reproduced to the last bit, and the one
percentile definition the CLI table and the notebook share."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

MAX_DISCARD = 0.4
DEFAULT_DISCARD = 0.2  # the tool's discardTopBottom when the input has none


def clamp_discard(discard: float) -> float:
    """``discardTopBottom`` as the tool clamps it: into [0, 0.4]."""
    return min(max(discard, 0.0), MAX_DISCARD)


def effective_discard(discard_top_bottom: float = DEFAULT_DISCARD, only_cold_starts: bool = False) -> float:
    """The share the tool really trims at each end: clamped, and 0 with ``onlyColdStarts`` (every invocation
    is a cold start there, and trimming would drop what was asked for)."""
    return 0.0 if only_cold_starts else clamp_discard(discard_top_bottom)


def left_sum(values: Iterable[float]) -> float:
    """Plain left-to-right float addition from 0, like JavaScript's ``reduce((a, b) => a + b, 0)``.

    Python 3.12+ ``sum()`` compensates rounding errors, which would differ from the tool in the last bits.
    """
    total = 0.0
    for value in values:
        total += value
    return total


def trim_count(n: int, discard: float) -> int:
    """How many values the tool drops from each end: ``parseInt(n × clamped discard)``, taken as the floor.

    ``parseInt`` reads the number's decimal text, which equals the floor whenever the product is 0 or at
    least 1e-6. Below that JavaScript writes "5e-7" and parseInt reads 5, so a discard under 1e-6 / n would
    make the tool drop 5 values each end (with 10 values: all of them, and a NaN average). No real
    ``discardTopBottom`` is that small; we keep the floor, i.e. drop none, rather than copy the accident.
    """
    return int(n * clamp_discard(discard))


def trimmed_mean(values: Iterable[float], discard: float = DEFAULT_DISCARD) -> float:
    """Sort ascending, drop ``k = floor(n · discard)`` values at each end, average the rest; empty → 0."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = trim_count(len(ordered), discard)
    kept = ordered[k : len(ordered) - k]
    return left_sum(kept) / (len(ordered) - 2 * k)


def nearest_rank(values: Sequence[float], percentile: float) -> float | None:
    """The nearest-rank percentile: a value that was measured (as CloudWatch reports), not an interpolation
    between two; None for no values. The CLI's table and the notebook's summary both use it, so a run's p90
    reads the same in both."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]
