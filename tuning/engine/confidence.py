"""STUB until i11a's module lands (same interface, see /work/signals/i11-interfaces.md); not to be landed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tuning.engine.pricing import invocation_cost
from tuning.engine.stats import trimmed_mean

SEED = 20261202


def size_confidence(
    power: int,
    durations_ms: Sequence[float],
    billed_ms: Sequence[float],
    *,
    discard: float,
    architecture: str,
    region: str,
    seed: int = SEED,
) -> dict:
    rng = np.random.default_rng(seed)
    d = np.asarray(durations_ms, dtype=float)
    b = np.asarray(billed_ms, dtype=float)
    idx = rng.integers(0, len(d), size=(1000, len(d)))
    means = sorted(trimmed_mean(d[row], discard) for row in idx)
    costs = sorted(invocation_cost(trimmed_mean(b[row], discard), power, architecture, region) for row in idx)
    return {
        "power": power,
        "n": len(d),
        "durationLow": means[25],
        "durationHigh": means[974],
        "costLow": costs[25],
        "costHigh": costs[974],
    }


def relative_half_width(entry: dict) -> float:
    return (entry["durationHigh"] - entry["durationLow"]) / (entry["durationHigh"] + entry["durationLow"])


def effective_discard(execution_input: dict) -> float:
    from tuning.engine.stats import clamp_discard

    return (
        0.0
        if execution_input.get("onlyColdStarts")
        else clamp_discard(execution_input.get("discardTopBottom", 0.2))
    )
