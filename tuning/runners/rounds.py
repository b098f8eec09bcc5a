"""How many invocations per memory size, and what a failing size does to the run.

A fixed ``--num`` is one round. ``--num auto`` runs rounds: each invokes every still-open size ``num`` times
(locally one fresh runtime per size, on AWS one state machine execution); after it, each open size's 95%
interval of Power Tuning's trimmed-mean duration is recomputed over all its invocations so far
(``tuning.engine.confidence``, a seeded bootstrap), and a size whose half-width is within ``precision`` of the
interval's midpoint is done and is not invoked again. Dropping finished sizes costs no accuracy (their
interval is already as narrow as asked) and saves their invocations: the sizes that keep going are the noisy
ones. The run ends when no size is open, or when the next round would take a size past ``max_num``.

The next round's ``num`` comes from the interval shrinking as 1/√n: a size at relative half-width ``w`` after
``n`` invocations needs about ``n·(w/precision)²`` in all, so the round adds that minus ``n`` for the widest
open size, at least the smallest ``num`` the tool accepts for the payload, at most what ``max_num`` leaves,
and at most ``GROWTH`` times ``n``: a width estimated from 10 invocations is itself rough (with the default
mix on this machine, ±16–60% at n=10, which asks for the whole ``max_num`` at once), and a size that settles
at 40 should not be driven to 200. The rounds then grow 10 → 40 → 160 → max, a few more executions on AWS
at most.

A size that fails in a round (error, timeout, out of memory) is set aside with its cause and the others go
on; the result is what Power Tuning's analyzer computes over every invocation of the sizes that worked
(``tuning.engine.analyzer.build_output``), with ``executionCost`` the tool's estimate summed over the rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuning.engine.analyzer import build_output, execution_cost
from tuning.engine.confidence import relative_half_width, run_confidence
from tuning.engine.inputs import MIN_NUM
from tuning.errors import TuningError
from tuning.payloads import expand_payloads
from tuning.record import ExecutionInput

AUTO = "auto"
DEFAULT_PRECISION = 0.05
DEFAULT_MAX_NUM = 200
# The first round of --num auto: the tool's recommended minimum (README-EXECUTE: 10-100). A bootstrap of 5
# values, one trimmed off each end, says little about their spread.
FIRST_AUTO_NUM = 10
GROWTH = 3  # a round adds at most 3× the invocations a size has had


@dataclass(frozen=True)
class Sampling:
    """``num`` fixed (one round), or None for auto: rounds until ``precision`` (a fraction) or ``max_num``."""

    num: int | None
    precision: float = DEFAULT_PRECISION
    max_num: int = DEFAULT_MAX_NUM

    @property
    def auto(self) -> bool:
        return self.num is None


@dataclass
class RoundResult:
    """What one round measured: its invocation records, and the sizes that failed with their cause."""

    records: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class RoundReport:
    """Where the run stands after a round, for the live progress."""

    index: int  # 1-based
    num: int  # invocations per open size in this round
    n: dict[int, int]  # invocations so far per size that has not failed
    widths: dict[int, float]  # relative half-width per size (auto only)
    open: list[int]  # sizes that go on to the next round
    next_num: int  # invocations per open size in the next round; 0: the run ends
    failed: dict[int, str]


@dataclass
class Sampled:
    """Every round merged: the invocations, the sizes set aside, the rounds run, the n reached per size."""

    sampling: Sampling
    invocations: list[dict[str, Any]]
    skipped: list[dict[str, Any]]  # {"power", "cause"}, in power-value order
    rounds: list[dict[str, Any]]  # {"powerValues", "num"} per round
    n: dict[int, int]  # per size that worked
    unsettled: list[int]  # auto: sizes still wider than the precision when max_num stopped them

    def measurements(self) -> list[tuple[int, list[tuple[float, float]]]]:
        """``[(power, [(duration_ms, billed_ms), ...])]`` of the sizes that worked, for ``build_output``."""
        return [
            (power, [(r["duration_ms"], r["billed_ms"]) for r in self.invocations if r["power"] == power])
            for power in self.n
        ]

    def describe(self) -> dict[str, Any]:
        """For the results file: how the sample size was chosen, and the rounds run."""
        sampling = self.sampling
        chosen = {"num": "auto", "precision": sampling.precision, "maxNum": sampling.max_num}
        return {
            **(chosen if sampling.auto else {"num": sampling.num}),
            "rounds": self.rounds,
            "unsettled": self.unsettled,
        }


def smallest_num(payload: Any, up_to: int) -> int:
    """The smallest ``num`` (≥ the tool's 5) whose invocations the tool can share among the weighted
    payload's entries (one at least each); any larger ``num`` works too. ValueError if none up to
    ``up_to``."""
    for num in range(MIN_NUM, up_to + 1):
        try:
            expand_payloads(payload, num)
        except ValueError:
            continue
        return num
    raise ValueError(
        f"{up_to} invocations per size are too few for the payload's weights (each weighted payload needs "
        "one invocation at least): raise --max-num, or give the small shares more weight"
    )


def first_num(sampling: Sampling, payload: Any) -> int:
    """The first round's ``num``: the fixed one, else ``FIRST_AUTO_NUM`` (or more if the payload's weights
    need it), within ``max_num``. ValueError when ``max_num`` cannot carry the payload."""
    if not sampling.auto:
        return sampling.num  # type: ignore[return-value]
    return min(sampling.max_num, max(FIRST_AUTO_NUM, smallest_num(payload, sampling.max_num)))


def next_num(asked: int, widest: float, sampling: Sampling, minimum: int) -> int:
    """The next round's ``num`` after ``asked`` invocations per open size, the widest at relative half-width
    ``widest``; 0 when a round of ``minimum`` would take the sizes past ``max_num``."""
    left = sampling.max_num - asked
    if left < minimum:
        return 0
    ratio = (widest / sampling.precision) ** 2 - 1
    wanted = left if math.isinf(ratio) else math.ceil(asked * ratio)  # inf: a size without records yet
    return min(left, GROWTH * asked, max(minimum, wanted))


def sample(
    power_values: Sequence[int],
    measure: Callable[[list[int], int], RoundResult],
    sampling: Sampling,
    *,
    execution_input: ExecutionInput,
    architecture: str,
    region: str,
    on_round: Callable[[RoundReport], Any] | None = None,
) -> Sampled:
    """Measure in rounds with ``measure(sizes, num)``, the first of the input's ``num`` (one round for a
    fixed ``num``); TuningError when every size failed. The intervals are of Power Tuning's trimmed mean as
    ``execution_input`` sets it, priced for ``architecture`` in ``region``."""
    discard = execution_input.discard
    num = execution_input.num
    minimum = smallest_num(execution_input.payload, num)  # the least a later round may ask

    def widths_of(sizes: list[int]) -> dict[int, float]:
        """The relative half-width of each size's interval, the very one the results file reports (cold and
        warm invocations resampled apart); a size none of whose REPORT lines was read yet (AWS) stays open."""
        entries = run_confidence(sizes, records, discard=discard, architecture=architecture, region=region)
        found = {entry["power"]: relative_half_width(entry) for entry in entries}
        return {power: found.get(power, math.inf) for power in sizes}

    open_sizes = list(power_values)
    records: list[dict[str, Any]] = []
    failed: dict[int, str] = {}
    rounds: list[dict[str, Any]] = []
    widths: dict[int, float] = {}
    asked = 0
    while num:
        result = measure(list(open_sizes), num)
        rounds.append({"powerValues": list(open_sizes), "num": num})
        records.extend(result.records)
        failed.update(result.failed)
        asked += num
        open_sizes = [power for power in open_sizes if power not in failed]
        if sampling.auto:
            widths.update(widths_of(open_sizes))
            open_sizes = [power for power in open_sizes if widths[power] > sampling.precision]
        else:
            open_sizes = []
        widest = max((widths[power] for power in open_sizes), default=0.0)
        num = next_num(asked, widest, sampling, minimum) if open_sizes else 0
        if on_round is not None:
            n = _counts(records, power_values, failed)
            report = RoundReport(
                len(rounds), rounds[-1]["num"], n, dict(widths), open_sizes, num, dict(failed)
            )
            on_round(report)
    n = _counts(records, power_values, failed)
    if not n:
        causes = "; ".join(f"{power} MB: {failed[power]}" for power in power_values)
        raise TuningError(f"Every memory size failed, so there is no result: {causes}")
    return Sampled(
        sampling=sampling,
        invocations=records,
        skipped=[{"power": power, "cause": failed[power]} for power in power_values if power in failed],
        rounds=rounds,
        n=n,
        unsettled=open_sizes,
    )


def _counts(
    records: Sequence[dict[str, Any]], power_values: Sequence[int], failed: dict[int, str]
) -> dict[int, int]:
    """Invocations measured per size that has not failed, in power-value order."""
    return {
        power: sum(1 for r in records if r["power"] == power) for power in power_values if power not in failed
    }


def merged_note(sampled: Sampled, executions: int, measured_by: str) -> str:
    """How a result of several rounds was merged, for the results file's notes."""
    return (
        f"output: Power Tuning's analyzer (tuning.engine.analyzer.build_output) over {measured_by} of all "
        f"{len(sampled.rounds)} rounds, every invocation of each size that worked; executionCost is the "
        f"tool's estimate summed over the {executions} executions"
    )


def merged_output(
    sampled: Sampled,
    execution_input: ExecutionInput,
    executions: Sequence[tuple[int, int]],
    *,
    architecture: str,
    region: str,
) -> dict[str, Any]:
    """Power Tuning's output over every invocation of the sizes that worked, as its analyzer computes it;
    ``executionCost`` is the tool's estimate summed over ``executions`` (``(number of sizes, num)`` each)."""
    only_cold_starts = execution_input.only_cold_starts
    output = build_output(
        sampled.measurements(),
        strategy=execution_input.strategy,
        balanced_weight=execution_input.balanced_weight,
        discard_top_bottom=execution_input.discard,
        only_cold_starts=only_cold_starts,
        architecture=architecture,
        region=region,
        include_stats=True,
    )
    total = 0.0
    for sizes, num in executions:
        total += execution_cost(sizes, only_cold_starts, num, region)
    output["stateMachine"]["executionCost"] = round(total, 5)
    return output
