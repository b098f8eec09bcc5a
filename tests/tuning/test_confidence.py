"""Confidence intervals and run-against-run statistics, checked against answers known without the code:
distributions whose trimmed mean is known in closed form, and hand-built intervals."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from tuning.engine.confidence import (
    CONFIDENCE_KEYS,
    compare_samples,
    metric_statistic,
    noise_phrase,
    relative_half_width,
    run_confidence,
    size_confidence,
    within_noise,
)

ARM_PRICE_PER_MS_AT_1024 = 1.7e-9 * 8  # Power Tuning's arm64 base price × 1024/128
COVERAGE_SEEDS = 400  # binomial SE of a 95% rate over 400 draws: 1.1 points; 91–98% is ±3.5 SE


def _confidence(durations: np.ndarray, billed: np.ndarray | None = None, discard: float = 0.2) -> dict:
    return size_confidence(
        1024,
        durations,
        durations if billed is None else billed,
        discard=discard,
        architecture="arm64",
        region="us-east-1",
    )


def _coverage(draw, truth: float, key: str = "duration") -> float:
    hits = 0
    for seed in range(COVERAGE_SEEDS):
        durations = draw(np.random.default_rng(seed))
        entry = _confidence(durations)
        hits += entry[f"{key}Low"] <= truth <= entry[f"{key}High"]
    return hits / COVERAGE_SEEDS


def test_duration_interval_covers_a_symmetric_distributions_centre_about_95_percent_of_the_time() -> None:
    # normal: every trimmed mean's expectation is the centre, 100 ms
    rate = _coverage(lambda rng: rng.normal(100, 10, 10), 100.0)
    assert 0.91 <= rate <= 0.98


def test_duration_interval_covers_a_skewed_distributions_trimmed_mean_about_95_percent_of_the_time() -> None:
    # log-normal durations (a long right tail, as real ones): the 20%-trimmed mean in closed form,
    # E[X | q20 < X < q80] = e^(μ+σ²/2) · (Φ(z80 − σ) − Φ(z20 − σ)) / 0.6
    mu, sigma, unit = math.log(100), 0.3, NormalDist()
    truth = (
        math.exp(mu + sigma**2 / 2)
        * (unit.cdf(unit.inv_cdf(0.8) - sigma) - unit.cdf(unit.inv_cdf(0.2) - sigma))
        / 0.6
    )
    rate = _coverage(lambda rng: rng.lognormal(mu, sigma, 20), truth)
    assert 0.91 <= rate <= 0.98


def test_cost_interval_covers_the_price_of_the_true_billed_mean() -> None:
    # billed ms around 100.5: Power Tuning prices ceil(100.5) = 101 ms
    rate = _coverage(lambda rng: rng.normal(100.5, 5, 10), 101 * ARM_PRICE_PER_MS_AT_1024, key="cost")
    assert 0.91 <= rate <= 1.0


def test_identical_invocations_give_a_point_interval_priced_like_power_tuning() -> None:
    entry = _confidence(np.full(10, 42.3))
    assert list(entry) == list(CONFIDENCE_KEYS)
    assert entry == {
        "power": 1024,
        "n": 10,
        "durationLow": pytest.approx(42.3),
        "durationHigh": pytest.approx(42.3),
        "costLow": pytest.approx(43 * ARM_PRICE_PER_MS_AT_1024),
        "costHigh": pytest.approx(43 * ARM_PRICE_PER_MS_AT_1024),
    }


def test_the_trimmed_ends_never_widen_the_interval() -> None:
    # 8 invocations at 100 ms and two far outliers: k = floor(10 · 0.2) = 2 drops both only when a resample
    # holds at most two outliers; untrimmed (discard 0) every resample with one moves the mean
    durations = np.array([100.0] * 8 + [1.0, 5000.0])
    trimmed, untrimmed = _confidence(durations), _confidence(durations, discard=0.0)
    assert (
        trimmed["durationHigh"] - trimmed["durationLow"]
        < untrimmed["durationHigh"] - untrimmed["durationLow"]
    )
    assert trimmed["durationLow"] <= 100 <= trimmed["durationHigh"]


def test_cold_starts_are_resampled_among_themselves() -> None:
    # one cold start of 500 ms among nine warm 10 ms invocations: every stratified resample holds exactly one
    # cold start, which the trimming (2 each end) drops, so the interval is the warm figure alone; resampled
    # freely, 3+ cold starts in 7% of resamples would survive the trimming and lift the upper end
    durations = np.array([500.0] + [10.0] * 9)
    cold = [True] + [False] * 9
    stratified = size_confidence(
        1024, durations, durations, cold=cold, discard=0.2, architecture="arm64", region="us-east-1"
    )
    assert (stratified["durationLow"], stratified["durationHigh"]) == (10.0, 10.0)
    assert _confidence(durations)["durationHigh"] > 10.0


def test_the_same_data_always_gives_the_same_interval() -> None:
    durations = np.random.default_rng(7).normal(100, 10, 10)
    assert _confidence(durations) == _confidence(durations.copy())


def test_mismatched_or_empty_invocations_are_refused() -> None:
    with pytest.raises(ValueError, match="1024 MB: need one billed duration and cold flag per duration"):
        _confidence(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="at least one invocation"):
        _confidence(np.ones(0))


def test_relative_half_width_is_half_the_width_over_the_midpoint() -> None:
    assert relative_half_width({"durationLow": 90.0, "durationHigh": 110.0}) == pytest.approx(0.1)
    assert relative_half_width({"durationLow": 50.0, "durationHigh": 50.0}) == 0


def test_run_confidence_takes_each_listed_sizes_records_and_skips_sizes_without_any() -> None:
    records = [
        {"power": 128, "duration_ms": 10.0, "billed_ms": 10.0, "cold": True},
        {"power": 128, "duration_ms": 10.0, "billed_ms": 10.0, "cold": False},
        {"power": 256, "duration_ms": 5.0, "billed_ms": 5.0},  # not listed: a skipped size
        {"power": 512, "duration_ms": None, "billed_ms": None},  # nothing measured
    ]
    entries = run_confidence([128, 512], records, discard=0.2, architecture="x86_64", region="us-east-1")
    assert [(e["power"], e["n"], e["durationLow"], e["durationHigh"]) for e in entries] == [(128, 2, 10, 10)]
    assert entries[0]["costLow"] == pytest.approx(10 * 2.1e-9)


def _entry(power: int, cost: tuple[float, float], duration: tuple[float, float]) -> dict:
    return {
        "power": power,
        "n": 10,
        "costLow": cost[0],
        "costHigh": cost[1],
        "durationLow": duration[0],
        "durationHigh": duration[1],
    }


CONFIDENCE = [
    _entry(128, (1.0, 2.0), (400.0, 420.0)),
    _entry(256, (1.9, 2.5), (190.0, 230.0)),
    _entry(512, (3.0, 4.0), (100.0, 120.0)),
    _entry(1024, (6.0, 7.0), (115.0, 125.0)),
]
STATS = [  # point figures inside the intervals; maxima 6.5 $ and 410 ms scale the balanced score
    {"value": 128, "averagePrice": 1.5, "averageDuration": 410.0},
    {"value": 256, "averagePrice": 2.2, "averageDuration": 210.0},
    {"value": 512, "averagePrice": 3.5, "averageDuration": 110.0},
    {"value": 1024, "averagePrice": 6.5, "averageDuration": 120.0},
]


def test_sizes_within_noise_are_those_whose_interval_of_the_strategys_metric_overlaps_the_picks() -> None:
    assert within_noise(128, CONFIDENCE, "cost", STATS) == [256]  # [1.9, 2.5] meets [1, 2]
    assert within_noise(512, CONFIDENCE, "speed", STATS) == [1024]  # [115, 125] meets [100, 120]
    assert within_noise(1024, CONFIDENCE, "cost", STATS) == []


def test_balanced_noise_uses_the_score_at_both_interval_ends() -> None:
    # weight 0.5: score = 0.5·cost/6.5 + 0.5·duration/410
    # 256: [0.5·1.9/6.5 + 0.5·190/410, 0.5·2.5/6.5 + 0.5·230/410] = [0.3779, 0.4728]
    # 512: [0.5·3/6.5 + 0.5·100/410, 0.5·4/6.5 + 0.5·120/410] = [0.3527, 0.4540] → overlaps 256
    # 128: [0.5·1/6.5 + 0.5·400/410, ...] = [0.5647, ...] → does not
    assert within_noise(512, CONFIDENCE, "balanced", STATS, 0.5) == [256]


def test_a_pick_without_an_interval_has_no_noise_verdict() -> None:
    assert within_noise(3008, CONFIDENCE, "cost", STATS) is None


def _duration_change(base: np.ndarray, new: np.ndarray) -> dict:
    statistic = metric_statistic("duration", 1024, discard=0.2, architecture="arm64", region="us-east-1")
    return compare_samples(base, new, statistic)


def test_a_20_percent_slower_size_is_significant_and_its_interval_holds_the_true_difference() -> None:
    flagged = covered = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        change = _duration_change(rng.normal(100, 5, 20), rng.normal(120, 6, 20))
        flagged += change["p"] < 0.05
        covered += change["low"] <= 20 <= change["high"]
    assert flagged >= 95
    assert covered >= 88


def test_pure_noise_is_rarely_significant() -> None:
    significant = sum(
        _duration_change(rng.normal(100, 5, 20), rng.normal(100, 5, 20))["p"] < 0.05
        for rng in map(np.random.default_rng, range(100))
    )
    assert significant <= 10  # 5 expected


def test_the_cost_statistic_prices_the_ceiled_trimmed_billed_mean() -> None:
    statistic = metric_statistic("cost", 1024, discard=0.2, architecture="arm64", region="us-east-1")
    # sorted [1, 2, 3, 4, 100]: k = floor(5 · 0.2) = 1 → mean of 2, 3, 4 = 3 ms
    assert statistic(np.array([[4.0, 1.0, 100.0, 2.0, 3.0]]))[0] == pytest.approx(
        3 * ARM_PRICE_PER_MS_AT_1024
    )
    with pytest.raises(ValueError, match="metric must be one of duration, cost"):
        metric_statistic("p90", 1024, discard=0.2, architecture="arm64", region="us-east-1")


TESTED = [128, 256, 512, 768, 1024, 1536, 3008]


@pytest.mark.parametrize(
    ("pick", "others", "phrase"),
    [
        (1024, [768, 1536], "768–1536 MB are within noise"),
        (128, [256, 1024], "128–256, 1024 MB are within noise"),
        (3008, [], "no other size is within noise"),
        (512, None, "no interval (no per-invocation data)"),
    ],
)
def test_noise_phrase_writes_neighbouring_sizes_as_ranges(
    pick: int, others: list | None, phrase: str
) -> None:
    assert noise_phrase(pick, others, TESTED) == phrase
