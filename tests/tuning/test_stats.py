"""Power Tuning's trimmed mean: k = floor(n · discard) from each end, discard clamped to [0, 0.4]."""

from __future__ import annotations

import math

import pytest

from tuning.engine.stats import nearest_rank, trim_count, trimmed_mean

POWERS_OF_TWO = [512, 1, 64, 2, 256, 4, 128, 8, 32, 16]  # unsorted on purpose


def test_default_drops_two_of_ten_at_each_end() -> None:
    assert trimmed_mean(POWERS_OF_TWO) == (4 + 8 + 16 + 32 + 64 + 128) / 6


@pytest.mark.parametrize(
    ("discard", "expected"),
    [
        (0.4, (16 + 32) / 2),
        (0.9, (16 + 32) / 2),  # clamped to 0.4
        (0.0, 1023 / 10),
        (-1.0, 1023 / 10),  # clamped to 0
        (0.1, (2 + 4 + 8 + 16 + 32 + 64 + 128 + 256) / 8),
    ],
)
def test_discard_is_clamped(discard: float, expected: float) -> None:
    assert trimmed_mean(POWERS_OF_TWO, discard) == expected


@pytest.mark.parametrize(
    ("n", "discard", "k"), [(10, 0.2, 2), (9, 0.2, 1), (4, 0.2, 0), (15, 0.2, 3), (5, 0.4, 2)]
)
def test_trim_count_is_the_floor(n: int, discard: float, k: int) -> None:
    assert trim_count(n, discard) == k


def test_nine_values_drop_one_each_end() -> None:
    assert trimmed_mean([1, 2, 4, 8, 16, 32, 64, 128, 256]) == (2 + 4 + 8 + 16 + 32 + 64 + 128) / 7


def test_too_few_values_to_trim_give_the_plain_mean() -> None:
    assert trimmed_mean([1.0, 2.0, 3.0, 10.0]) == 4.0


def test_empty_is_zero() -> None:
    assert trimmed_mean([]) == 0


def test_sum_is_plain_left_to_right_like_javascript() -> None:
    # sorted: -1e16, 1, 1e16 → (-1e16 + 1) rounds back to -1e16, so JavaScript's reduce gives 0, not 1
    assert trimmed_mean([1e16, 1.0, -1e16], 0) == 0.0


def _js_parse_int_of_number(value: float) -> int:
    """JavaScript's ``parseInt(value, 10)`` for a number ≥ 0: it parses ``String(value)``, which is exponent
    notation below 1e-6 (and from 1e21, beyond any n · 0.4 here), so "5e-7" → 5; else decimal → truncated."""
    if 0 < value < 1e-6:
        return int(f"{value:e}"[0])  # the leading digit of the mantissa
    return math.trunc(value)


@pytest.mark.parametrize("discard", [i / 100 for i in range(41)] + [0.125, 1 / 3 * 0.3, 0.15 + 0.05])
def test_floor_agrees_with_javascripts_parse_int_for_every_realistic_input(discard: float) -> None:
    for n in range(1, 1001):
        assert trim_count(n, discard) == _js_parse_int_of_number(n * discard), (n, discard)


def test_the_only_divergence_is_a_discard_below_one_millionth_over_n() -> None:
    # 10 × 5e-8 = 5e-7: the tool would drop parseInt("5e-7") = 5 from each end of 10 values; we drop none
    assert _js_parse_int_of_number(10 * 5e-8) == 5
    assert trim_count(10, 5e-8) == 0
    assert trim_count(10, 1e-7) == _js_parse_int_of_number(10 * 1e-7)  # = 1e-6: decimal again, both 0


@pytest.mark.parametrize(
    ("percentile", "expected"), [(0, 1.0), (10, 1.0), (50, 5.0), (90, 9.0), (91, 10.0), (100, 10.0)]
)
def test_nearest_rank_returns_a_measured_value(percentile: float, expected: float) -> None:
    assert nearest_rank([7.0, 1.0, 10.0, 3.0, 5.0, 2.0, 9.0, 4.0, 8.0, 6.0], percentile) == expected


def test_nearest_rank_of_nothing_is_none() -> None:
    assert nearest_rank([], 90) is None
