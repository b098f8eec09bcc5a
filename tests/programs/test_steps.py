"""The step profile of ``make load``: steps measured from locust's counters, when a run stops, and the knee,
all on synthetic statistics (no timing is measured or asserted)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from programs.steps import Step, StepPlan, StepRun, crossing, difference, knee, read_steps, step_report

PLAN = StepPlan(
    first_users=2, step_users=2, step_s=10, max_users=10, max_s=60, p99_ms=100, max_error_rate=0.01
)


def step(rate: float, p99_ms: int, failures: int = 0, users: int = 2) -> Step:
    """A 10 s step at ``rate`` req/s whose p99 is ``p99_ms``: the slowest 2 % of its requests take that long,
    the others 5 ms."""
    requests = int(rate * 10)
    fast = requests - requests // 50
    return Step(users, 10.0, requests, failures, {"5": fast, str(p99_ms): requests - fast})


def test_the_knee_is_interpolated_between_the_steps_either_side_of_the_threshold() -> None:
    steps = [step(20, 10), step(40, 60), step(60, 140), step(70, 900)]
    found = knee(steps, 100)
    assert found is not None
    assert (found.below, found.above) == (steps[1], steps[2])
    assert found.rate == pytest.approx(50)  # p99 60 → 140 ms over 40 → 60 req/s passes 100 ms half way


def test_a_first_step_over_the_threshold_bounds_the_knee_from_above() -> None:
    found = knee([step(30, 250), step(35, 400)], 100)
    assert found is not None
    assert found.below is None
    assert found.rate == pytest.approx(30)


def test_no_knee_when_p99_never_passes_the_threshold() -> None:
    assert knee([step(20, 10), step(40, 100)], 100) is None  # equal is not over


def test_a_step_ends_the_run_on_p99_or_on_errors() -> None:
    assert crossing(step(40, 99), PLAN) is None
    assert crossing(step(40, 101), PLAN) == "p99 101 ms > 100 ms"
    assert crossing(step(40, 10, failures=5), PLAN) == "error rate 1.2% > 1.0%"  # 5 of 400


def test_a_step_histogram_is_the_difference_of_two_snapshots() -> None:
    assert difference({"5": 10, "7": 3, "120": 1}, {"5": 4, "7": 3}) == {"5": 6, "120": 1}


def test_the_plan_bounds_users_and_steps() -> None:
    assert [PLAN.users(index) for index in range(6)] == [2, 4, 6, 8, 10, 10]
    assert PLAN.steps() == 5  # 2 → 10 users; 60 s would allow 6 steps
    assert StepPlan(first_users=1, step_users=1, step_s=10, max_users=200, max_s=30).steps() == 3
    assert StepPlan.from_json(PLAN.to_json()) == PLAN


def test_the_report_names_the_knee_and_why_the_run_stopped() -> None:
    lines = step_report([step(20, 10), step(40, 60), step(60, 140)], PLAN)
    assert lines[-2] == "stopped: p99 140 ms > 100 ms"
    assert lines[-1] == (
        "knee: p99 passes 100 ms at about 50 req/s (between 40 req/s, p99 60 ms, and 60 req/s, p99 140 ms)"
    )
    calm = step_report([step(20, 10), step(40, 20)], PLAN)
    assert calm[-2:] == [
        "stopped: the users, the time or the requests ran out",
        "knee: none; p99 stayed within 100 ms up to 40 req/s",
    ]


# --- the run, driven by synthetic counters ------------------------------------------------------------------


@dataclass
class _Totals:
    num_requests: int = 0
    num_failures: int = 0
    response_times: dict[int, int] = field(default_factory=dict)


class _Load:
    """Feeds a StepRun a second at a time, as locust's shape worker does."""

    def __init__(self, plan: StepPlan, steps_file: Path) -> None:
        self.run = StepRun(plan, steps_file)
        self.totals = _Totals()
        self.now = 0.0

    def seconds(self, count: int, per_second: int, ms: int, failures: int = 0) -> list:
        """``count`` seconds of ``per_second`` requests taking ``ms`` each; the run's answer after each."""
        answers = []
        for _ in range(count):
            self.totals.num_requests += per_second
            self.totals.num_failures += failures
            self.totals.response_times[ms] = self.totals.response_times.get(ms, 0) + per_second
            self.now += 1
            answers.append(self.run.tick(self.now, self.totals))
        return answers


def test_users_rise_each_step_until_the_first_slow_step(tmp_path: Path) -> None:
    plan = StepPlan(first_users=2, step_users=3, step_s=5, max_users=20, max_s=60, p99_ms=100)
    load = _Load(plan, tmp_path / "steps.jsonl")
    assert load.run.tick(0, load.totals) == (2, 2.0)
    # the tick at 5 s ends step 1 (its requests counted) and starts step 2
    assert load.seconds(5, per_second=20, ms=10) == [(2, 2.0)] * 4 + [(5, 5.0)]
    assert load.seconds(5, per_second=50, ms=40) == [(5, 5.0)] * 4 + [(8, 8.0)]
    assert load.seconds(5, per_second=80, ms=300) == [(8, 8.0)] * 4 + [None]
    steps = read_steps(tmp_path / "steps.jsonl")
    # each step measured from 2 s in (half of a 5 s step, rounded down) to its end: 3 s of its requests
    assert [(s.users, s.seconds, s.requests, s.p99_ms) for s in steps] == [
        (2, 3.0, 60, 10),
        (5, 3.0, 150, 40),
        (8, 3.0, 240, 300),
    ]


def test_the_run_stops_after_its_last_step(tmp_path: Path) -> None:
    load = _Load(StepPlan(first_users=1, step_users=1, step_s=5, max_users=2, max_s=60), tmp_path / "s.jsonl")
    load.run.tick(0, load.totals)
    assert load.seconds(10, per_second=10, ms=5) == [(1, 1.0)] * 4 + [(2, 2.0)] * 5 + [None]
    assert [step.users for step in read_steps(tmp_path / "s.jsonl")] == [1, 2]


def test_the_run_stops_at_the_request_bound(tmp_path: Path) -> None:
    load = _Load(StepPlan(first_users=3, max_requests=25), tmp_path / "s.jsonl")
    load.run.tick(0, load.totals)
    assert load.seconds(3, per_second=10, ms=5) == [(3, 3.0), (3, 3.0), None]  # 30 ≥ 25 requests
