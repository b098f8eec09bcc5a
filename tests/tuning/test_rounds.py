"""--num auto's stopping rule and the merging of rounds, on synthetic durations drawn from known distributions
(no timings): quiet sizes stop early, noisy ones go on, failing ones are set aside."""

from __future__ import annotations

import math
import random

import pytest

from tuning.engine.analyzer import build_output
from tuning.engine.confidence import relative_half_width, run_confidence
from tuning.errors import TuningError
from tuning.record import ExecutionInput
from tuning.runners.rounds import RoundResult, Sampling, merged_output, next_num, sample, smallest_num

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
RAW_INPUT = {"lambdaARN": ARN, "num": 10, "payload": {}, "strategy": "cost"}
INPUT = ExecutionInput.for_run(RAW_INPUT)
MEANS_MS = {128: 800.0, 512: 200.0, 1024: 100.0}


def _invoker(spread: dict[int, float], seed: int = 7, fails: dict[int, str] | None = None):
    """A fake invoker: durations ~ mean × lognormal(0, spread[power]) per size, seeded; ``calls`` logs each
    round's (sizes, num); sizes in ``fails`` fail at once."""
    rng = random.Random(seed)
    calls: list[tuple[list[int], int]] = []

    def measure(power_values: list[int], num: int) -> RoundResult:
        calls.append((power_values, num))
        result = RoundResult()
        for power in power_values:
            if power in (fails or {}):
                result.failed[power] = fails[power]
                continue
            for _ in range(num):
                duration = MEANS_MS[power] * rng.lognormvariate(0, spread[power])
                result.records.append(
                    {"power": power, "duration_ms": duration, "billed_ms": int(duration) + 1}
                )
        return result

    return measure, calls


def _sample(measure, sampling: Sampling, power_values=(128, 512, 1024), **overrides):
    return sample(
        list(power_values),
        measure,
        sampling,
        execution_input=ExecutionInput.for_run({**RAW_INPUT, **overrides}),
        architecture="x86_64",
        region="us-east-1",
    )


def test_quiet_data_stops_after_the_first_round_noisy_data_goes_on():
    quiet, quiet_calls = _invoker({128: 0.01, 512: 0.01, 1024: 0.01})
    noisy, noisy_calls = _invoker({128: 0.3, 512: 0.3, 1024: 0.3})
    calm = _sample(quiet, Sampling(None))
    rough = _sample(noisy, Sampling(None))
    assert len(quiet_calls) == 1
    assert calm.n == {128: 10, 512: 10, 1024: 10}
    assert calm.unsettled == []
    assert len(noisy_calls) > 1
    assert all(rough.n[power] > 10 for power in MEANS_MS)
    assert rough.unsettled == []  # 30% spread settles to ±5% well before 200


def test_a_size_that_reached_the_precision_is_not_invoked_again():
    measure, calls = _invoker({128: 0.35, 512: 0.01, 1024: 0.01})
    sampled = _sample(measure, Sampling(None))
    assert calls[0] == ([128, 512, 1024], 10)
    assert all(sizes == [128] for sizes, _ in calls[1:])
    assert len(calls) > 1
    assert sampled.n[512] == sampled.n[1024] == 10
    assert sampled.n[128] == sum(num for _, num in calls)
    assert sampled.rounds == [{"powerValues": sizes, "num": num} for sizes, num in calls]


def test_a_size_stops_when_the_interval_the_results_file_reports_is_within_the_precision():
    measure, calls = _invoker({128: 0.2, 512: 0.05, 1024: 0.01})
    sampled = _sample(measure, Sampling(None))
    reported = run_confidence(
        MEANS_MS, sampled.invocations, discard=0.2, architecture="x86_64", region="us-east-1"
    )
    assert len(calls) > 1
    assert sampled.unsettled == []
    assert [relative_half_width(entry) <= 0.05 for entry in reported] == [True] * 3


def test_max_num_stops_a_size_that_never_settles():
    measure, calls = _invoker({128: 1.5, 512: 0.01, 1024: 0.01})
    sampled = _sample(measure, Sampling(None, precision=0.01, max_num=40))
    assert sampled.n[128] == 40
    assert sum(num for _, num in calls) == 40
    assert sampled.unsettled == [128]


def test_a_fixed_num_is_one_round_whatever_the_noise():
    measure, calls = _invoker({128: 1.5, 512: 1.5, 1024: 1.5})
    sampled = _sample(measure, Sampling(12), num=12)
    assert calls == [([128, 512, 1024], 12)]
    assert sampled.n == {128: 12, 512: 12, 1024: 12}


def test_a_failing_size_is_skipped_and_the_optimum_comes_from_the_others():
    measure, _ = _invoker({128: 0.01, 512: 0.01, 1024: 0.01}, fails={128: "Runtime.OutOfMemory: killed"})
    sampled = _sample(measure, Sampling(10))
    assert sampled.skipped == [{"power": 128, "cause": "Runtime.OutOfMemory: killed"}]
    assert list(sampled.n) == [512, 1024]
    output = merged_output(sampled, INPUT, [(3, 10)], architecture="x86_64", region="us-east-1")
    assert [stat["value"] for stat in output["stats"]] == [512, 1024]


def test_every_size_failing_is_an_error_naming_each_cause():
    measure, _ = _invoker({}, fails={128: "Sandbox.Timedout: too slow", 512: "ValueError: boom"})
    with pytest.raises(
        TuningError,
        match=r"Every memory size failed.*128 MB: Sandbox.Timedout: too slow; "
        r"512 MB: ValueError: boom",
    ):
        _sample(measure, Sampling(10), power_values=(128, 512))


def test_merged_output_is_the_analyzer_over_every_round_and_sums_the_execution_costs():
    measure, calls = _invoker({128: 0.35, 512: 0.01, 1024: 0.01})
    sampled = _sample(measure, Sampling(None))
    executions = [(len(sizes), num) for sizes, num in calls]
    output = merged_output(sampled, INPUT, executions, architecture="x86_64", region="us-east-1")
    by_size = {
        power: [(r["duration_ms"], r["billed_ms"]) for r in sampled.invocations if r["power"] == power]
        for power in MEANS_MS
    }
    expected = build_output(list(by_size.items()), architecture="x86_64", region="us-east-1")
    assert output["stats"] == expected["stats"]
    assert output["power"] == expected["power"]
    # each execution as the tool estimates it, $0.000025 per transition rounded to 5 decimals: 6 + 3 per size,
    # 15 × 0.000025 → 0.00038 for the first round (3 sizes), 9 × 0.000025 → 0.00023 for each later (128 MB)
    assert [sizes for sizes, _ in calls[1:]] == [[128]] * (len(calls) - 1)
    assert output["stateMachine"]["executionCost"] == round(0.00038 + 0.00023 * (len(calls) - 1), 5)


def test_next_round_aims_at_the_precision_by_the_square_root_law():
    auto = Sampling(None, precision=0.05, max_num=200)
    assert next_num(10, 0.10, auto, 5) == 30  # twice too wide → 4× the invocations: 40 in all
    assert next_num(10, 0.051, auto, 5) == 5  # nearly there: the smallest round
    assert next_num(20, 0.5, auto, 5) == 60  # 100× too few by the estimate: at most 3× as many again
    assert next_num(20, math.inf, auto, 5) == 60  # no REPORT line read yet: as wide as can be
    assert next_num(190, 0.5, auto, 5) == 10  # what max_num leaves
    assert next_num(197, 0.5, auto, 5) == 0  # less than the smallest round left


def test_the_smallest_round_lets_every_weighted_payload_have_one_invocation():
    mix = [{"payload": {"op": "get"}, "weight": 70}, {"payload": {"op": "list"}, "weight": 10}]
    assert smallest_num(mix, 200) == 8  # floor(10 × 8 / 80) = 1
    assert smallest_num({}, 200) == 5
    with pytest.raises(ValueError, match="raise --max-num"):
        smallest_num(mix, 7)
