"""``make load PROFILE=step``: raise the users step by step until p99 or the error rate crosses its threshold,
and find the knee, the request rate at which p99 exceeds the threshold (100 ms by default).

Plain arithmetic on locust's counters, without importing locust (which monkey-patches the interpreter for
gevent): the locustfile's shape hands its counters to ``StepRun`` once a second, and ``programs.load`` reports
the steps it wrote. One definition of a step, of crossing a threshold, and of the knee.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StepPlan:
    """How users rise, and what ends the run: a crossed threshold, the users, the time or the requests."""

    first_users: int = 2
    step_users: int = 2
    step_s: int = 15  # long enough for a p99 of many requests, not of the slowest one or two
    max_users: int = 200
    max_s: int = 300
    max_requests: int = 200_000
    p99_ms: float = 100.0
    max_error_rate: float = 0.01

    @property
    def settle_s(self) -> int:
        """The first seconds of a step that are not measured: its users just started, and the environments
        they need, whose cold starts take seconds on a loaded machine. Half a step, at most 5 s."""
        return min(5, self.step_s // 2)

    def users(self, index: int) -> int:
        """Users during step ``index`` (0-based)."""
        return min(self.first_users + index * self.step_users, self.max_users)

    def steps(self) -> int:
        """How many steps fit: until max_users is reached, within max_s."""
        to_max_users = math.ceil((self.max_users - self.first_users) / self.step_users) + 1
        return max(1, min(to_max_users, self.max_s // self.step_s))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> StepPlan:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Step:
    """What one step measured: its users, how long, the requests and failures, and the response-time
    histogram (locust's {rounded ms: count})."""

    users: int
    seconds: float
    requests: int
    failures: int
    histogram: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    @property
    def p99_ms(self) -> float:
        return percentile(self.histogram, 0.99)


def percentile(histogram: dict[str, int], fraction: float) -> float:
    """Nearest-rank percentile of a response-time histogram ({rounded ms: count}); NaN when it is empty."""
    ordered = sorted((float(ms), count) for ms, count in histogram.items() if count > 0)
    rank = max(1, math.ceil(fraction * sum(count for _, count in ordered)))
    seen = 0
    for ms, count in ordered:
        seen += count
        if seen >= rank:
            return ms
    return float("nan")


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """The histogram of the requests counted between two snapshots of a growing one."""
    return {ms: count - before.get(ms, 0) for ms, count in after.items() if count > before.get(ms, 0)}


def crossing(step: Step, plan: StepPlan) -> str | None:
    """Why this step ends the run (its p99 or error rate over the threshold), or None."""
    if step.error_rate > plan.max_error_rate:
        return f"error rate {step.error_rate:.1%} > {plan.max_error_rate:.1%}"
    if step.p99_ms > plan.p99_ms:
        return f"p99 {step.p99_ms:.0f} ms > {plan.p99_ms:.0f} ms"
    return None


@dataclass(frozen=True)
class Knee:
    """The request rate at which p99 reaches the threshold: interpolated between the last step below it and
    the first above (``below`` None: the first step was already above, so the knee is at most ``above``)."""

    rate: float
    below: Step | None
    above: Step


def knee(steps: list[Step], p99_ms: float) -> Knee | None:
    """The knee of a run's steps, or None when p99 never exceeded ``p99_ms``."""
    for index, step in enumerate(steps):
        if step.p99_ms > p99_ms:
            if index == 0:
                return Knee(step.rate, None, step)
            below = steps[index - 1]
            share = (p99_ms - below.p99_ms) / (step.p99_ms - below.p99_ms)
            return Knee(below.rate + share * (step.rate - below.rate), below, step)
    return None


def read_steps(path: Path) -> list[Step]:
    """The steps a run wrote, one JSON object a line; none when it wrote no file."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Step(**json.loads(line)) for line in lines if line.strip()]


def step_report(steps: list[Step], plan: StepPlan) -> list[str]:
    """The steps as a table, why the run ended, and the knee."""
    lines = [f"{'step':>4} {'users':>6} {'req/s':>7} {'p99 ms':>7} {'errors':>7}"]
    lines += [
        f"{number:>4} {step.users:>6} {step.rate:>7.1f} {step.p99_ms:>7.0f} {step.error_rate:>7.1%}"
        for number, step in enumerate(steps, 1)
    ]
    reason = crossing(steps[-1], plan)
    lines.append(f"stopped: {reason}" if reason else "stopped: the users, the time or the requests ran out")
    found = knee(steps, plan.p99_ms)
    threshold = f"{plan.p99_ms:g} ms"
    if found is None:
        top = max(step.rate for step in steps)
        lines.append(f"knee: none; p99 stayed within {threshold} up to {top:.0f} req/s")
    elif found.below is None:
        lines.append(f"knee: at most {found.rate:.0f} req/s; p99 was over {threshold} from the first step")
    else:
        lines.append(
            f"knee: p99 passes {threshold} at about {found.rate:.0f} req/s (between "
            f"{found.below.rate:.0f} req/s, p99 {found.below.p99_ms:.0f} ms, and "
            f"{found.above.rate:.0f} req/s, p99 {found.above.p99_ms:.0f} ms)"
        )
    return lines


class Counters(Protocol):
    """What StepRun reads of locust's running totals (``runner.stats.total``)."""

    num_requests: int
    num_failures: int
    response_times: dict[int, int]


class StepRun:
    """Tick by tick: which users to run, each step measured after it settles and appended to ``steps_file``,
    and the end (None) at the first step over a threshold, after the last step, or at the request bound."""

    def __init__(self, plan: StepPlan, steps_file: Path) -> None:
        self.plan = plan
        self.steps_file = steps_file
        self._index = -1
        self._baseline: tuple[float, int, int, dict[str, int]] | None = None

    def tick(self, now: float, total: Counters) -> tuple[int, float] | None:
        """Users and spawn rate for this moment (every new user at once: a step starts when its users do),
        or None to stop."""
        index = int(now // self.plan.step_s)
        if total.num_requests >= self.plan.max_requests:
            self._close_step(now, total)
            print(f"stopped: {self.plan.max_requests} requests sent", flush=True)
            return None
        if index != self._index:
            reason = self._close_step(now, total)
            if reason or index >= self.plan.steps():
                print(f"stopped: {reason or 'that was the last step'}", flush=True)
                return None
            self._index, self._baseline = index, None
        if self._baseline is None and now - index * self.plan.step_s >= self.plan.settle_s:
            self._baseline = (now, *_counts(total))
        users = self.plan.users(index)
        return users, float(users)

    def _close_step(self, now: float, total: Counters) -> str | None:
        """Record the step that is ending, if it was measured; why the run must stop there, if it must."""
        if self._baseline is None:
            return None
        started, requests, failures, histogram = self._baseline
        requests_now, failures_now, histogram_now = _counts(total)
        step = Step(
            users=self.plan.users(self._index),
            seconds=now - started,
            requests=requests_now - requests,
            failures=failures_now - failures,
            histogram=difference(histogram_now, histogram),
        )
        self._baseline = None
        with self.steps_file.open("a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(step)) + "\n")
        print(
            f"step {self._index + 1}: {step.users} users, {step.rate:.0f} req/s, p99 {step.p99_ms:.0f} ms, "
            f"errors {step.error_rate:.1%}",
            flush=True,
        )
        return crossing(step, self.plan)


def _counts(total: Counters) -> tuple[int, int, dict[str, int]]:
    """A copy of the totals, histogram keys as text (as in locust's JSON and the steps file)."""
    histogram = {str(ms): count for ms, count in total.response_times.items()}
    return total.num_requests, total.num_failures, histogram
