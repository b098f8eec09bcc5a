"""Power Tuning's Executor statistics and Analyzer: strategies and their ties, falsy durations, costs."""

from __future__ import annotations

import pytest

from tuning.engine.analyzer import build_output, execution_cost, find_optimum
from tuning.engine.visualization import decode_url

C = 2.1e-9  # x86_64 $/ms at 128 MB


def stat(value: int, price: float, duration: float) -> dict:
    return {"value": value, "averagePrice": price, "averageDuration": duration}


def test_cost_picks_the_cheapest() -> None:
    stats = [stat(128, 3e-6, 900), stat(256, 2e-6, 400), stat(512, 4e-6, 100)]
    assert find_optimum(stats, "cost") == {"power": 256, "cost": 2e-6, "duration": 400}


def test_cost_tie_goes_to_the_faster() -> None:
    # the reference's example: 512 and 1024 MB cost exactly the same, 1024 MB is faster
    stats = [
        stat(512, 0.0000050568, 604.21),
        stat(1024, 0.0000050568, 302.31),
        stat(1536, 0.0000051912, 206.43),
    ]
    assert find_optimum(stats, "cost")["power"] == 1024


def test_speed_picks_the_fastest_and_a_tie_goes_to_the_cheaper() -> None:
    stats = [stat(1536, 5e-6, 100.0), stat(3008, 9e-6, 100.0), stat(1024, 4e-6, 150.0)]
    assert find_optimum(stats, "speed") == {"power": 1536, "cost": 5e-6, "duration": 100.0}
    assert find_optimum([stat(256, 1e-6, 50.0), stat(128, 2e-6, 40.0)], "speed")["power"] == 128


def test_balanced_minimises_the_weighted_normalised_sum() -> None:
    stats = [stat(128, 1.0, 100.0), stat(256, 2.0, 40.0), stat(512, 4.0, 10.0)]
    # w = 0.5: 128 → .5·1/4 + .5·100/100 = 0.625; 256 → .25 + .2 = 0.45; 512 → .5 + .05 = 0.55
    assert find_optimum(stats, "balanced", 0.5)["power"] == 256
    # w = 0.9: 128 → .225 + .1 = 0.325; 256 → .45 + .04 = 0.49; 512 → .9 + .01 = 0.91
    assert find_optimum(stats, "balanced", 0.9)["power"] == 128
    # w = 0.1: 128 → .025 + .9 = 0.925; 256 → .05 + .36 = 0.41; 512 → .1 + .09 = 0.19
    assert find_optimum(stats, "balanced", 0.1)["power"] == 512


def test_balanced_ties_keep_input_order() -> None:
    stats = [stat(1024, 1.0, 2.0), stat(128, 2.0, 1.0)]  # w = 0.5: .5·1/2 + .5·2/2 = .5·2/2 + .5·1/2 = 0.75
    assert find_optimum(stats, "balanced", 0.5)["power"] == 1024
    assert find_optimum(list(reversed(stats)), "balanced", 0.5)["power"] == 128


def test_balanced_weight_is_clamped() -> None:
    stats = [stat(128, 1.0, 100.0), stat(512, 4.0, 10.0)]
    assert find_optimum(stats, "balanced", 7.0)["power"] == 128  # clamped to 1: cost only
    assert find_optimum(stats, "balanced", -3.0)["power"] == 512  # clamped to 0: speed only


def test_entries_with_falsy_duration_are_dropped() -> None:
    stats = [stat(128, 0.0, 0), {"value": 256, "averagePrice": 0.0}, stat(512, 5e-6, 10.0), None]
    assert find_optimum(stats, "cost")["power"] == 512


@pytest.mark.parametrize("strategy", ["Cost", "cheapest", ""])
def test_unknown_strategy_is_refused(strategy: str) -> None:
    with pytest.raises(ValueError, match="Unknown strategy"):
        find_optimum([stat(128, 1e-6, 1.0)], strategy)


def test_nothing_to_choose_from_is_an_error() -> None:
    with pytest.raises(ValueError, match="non-zero average duration"):
        find_optimum([stat(128, 1e-6, 0)])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((6,), 0.0006),  # (6 + 3·6) · 0.000025, the reference's example
        ((1,), 0.00023),  # 9 · 0.000025 is 0.000225000…02 in binary → toFixed(5) gives 0.00023
        ((6, True, 10), 0.0033),  # (6 + 6 + 2·6·10) · 0.000025
        ((3, False, None, "us-west-1"), 0.00042),  # 15 · 0.0000279 = 0.0004185
        ((2, False, None, "cn-north-1"), 0.00227),  # 12 · 0.0001891 = 0.0022692
    ],
)
def test_execution_cost(args: tuple, expected: float) -> None:
    assert execution_cost(*args) == expected


def test_execution_cost_of_cold_starts_needs_num() -> None:
    with pytest.raises(ValueError, match="needs num"):
        execution_cost(3, only_cold_starts=True)


MEASUREMENTS = [
    (256, [(2.0, 2)] * 5),
    (128, [(10.5, 11), (3.2, 4), (4.0, 4), (5.1, 6), (100.0, 100)]),
]


def test_build_output_reproduces_the_tools_arithmetic() -> None:
    output = build_output(MEASUREMENTS)
    # 128 MB: durations trimmed (k = 1) → 4.0, 5.1, 10.5; billed sorted 4,4,6,11,100 → trimmed 4,6,11 → 7
    price_128 = 7 * C * 1.0
    total_128 = 0.0
    for billed in (4, 4, 6, 11, 100):
        total_128 += billed * C * 1.0
    price_256 = 2 * C * 2.0
    total_256 = 0.0
    for _ in range(5):
        total_256 += 2 * C * 2.0
    assert output["stats"] == [
        {"value": 256, "averagePrice": price_256, "averageDuration": 2.0},
        {"value": 128, "averagePrice": price_128, "averageDuration": (4.0 + 5.1 + 10.5) / 3},
    ]
    assert list(output) == ["power", "cost", "duration", "stateMachine", "stats"]
    assert (output["power"], output["cost"], output["duration"]) == (256, price_256, 2.0)
    assert output["stateMachine"]["executionCost"] == 0.0003  # (6 + 3·2) · 0.000025
    assert output["stateMachine"]["lambdaCost"] == 0.0 + total_256 + total_128  # in the cost ranking's order
    assert decode_url(output["stateMachine"]["visualization"]) == [
        {
            "value": 128,
            "averageDuration": pytest.approx(6.5333333, rel=1e-6),
            "averagePrice": pytest.approx(price_128),
        },
        {"value": 256, "averageDuration": 2.0, "averagePrice": pytest.approx(price_256)},
    ]


def test_build_output_strategy_and_options() -> None:
    output = build_output(MEASUREMENTS, strategy="speed", include_stats=False, architecture="arm64")
    assert output["power"] == 256
    assert output["cost"] == 2 * 1.7e-9 * 2.0
    assert "stats" not in output


def test_cold_starts_only_trim_nothing_and_cost_more_transitions() -> None:
    output = build_output(MEASUREMENTS, only_cold_starts=True, discard_top_bottom=0.4)
    assert output["stats"][1]["averageDuration"] == (10.5 + 3.2 + 4.0 + 5.1 + 100.0) / 5
    assert output["stats"][1]["averagePrice"] == 25 * C * 1.0  # ceil(125 / 5)
    assert output["stateMachine"]["executionCost"] == 0.0007  # (6 + 2 + 2·2·5) · 0.000025


def test_discard_is_clamped_in_build_output() -> None:
    output = build_output([(128, [(float(ms), ms) for ms in (1, 2, 3, 4, 50)])], discard_top_bottom=0.9)
    assert output["stats"][0]["averageDuration"] == 3.0  # clamped to 0.4 → k = 2 → only the median stays


def test_power_without_measurements_is_reported_but_not_chosen() -> None:
    output = build_output([(128, []), (256, [(5.0, 5)] * 5)], strategy="cost")
    assert output["stats"][0] == {"value": 128, "averagePrice": 0.0, "averageDuration": 0.0}
    assert output["power"] == 256
    assert output["stateMachine"]["executionCost"] == 0.0003  # still counts both power values
    assert [row["value"] for row in decode_url(output["stateMachine"]["visualization"])] == [256]


def test_cn_regions_price_in_cny() -> None:
    output = build_output(MEASUREMENTS, region="cn-north-1")
    assert output["stateMachine"]["visualization"].startswith(
        "https://lambda-power-tuning.show/?currency=CNY#"
    )
    assert output["cost"] == 2 * 1.42e-8 * 2.0
