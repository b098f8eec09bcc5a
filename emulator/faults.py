"""Fault injection for the local stack: which faults fire, how often, and how many were injected.

Faults are off unless asked for (``python -m emulator serve --fault dynamodb-throttle=5``). A ``FaultPlan``
is shared by everything that injects: the DynamoDB fault endpoint in front of the moto server
(``emulator.fault_proxy``) and the Lambda runtime (``lambda-crash``, ``lambda-init-error``). Each asks
``plan.fire(name)`` where the fault could happen; the plan answers from a seeded generator per fault name
(``--fault-seed``: the n-th draw of a fault is the same in every run, whatever the other faults drew), counts
what it injected, logs each one, and publishes the counts as the emulator's own CloudWatch metric (namespace
``Emulator``, metric ``FaultsInjected``, dimension ``Fault``).
"""

from __future__ import annotations

import argparse
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from settings.arguments import in_range, whole

logger = logging.getLogger(__name__)

FAULTS = {
    "dynamodb-throttle": "DynamoDB answers ThrottlingException or ProvisionedThroughputExceededException "
    "before the operation",
    "dynamodb-error": "DynamoDB answers InternalServerError before the operation",
    "dynamodb-lost-response": "a write is applied, then the connection drops before the answer",
    "lambda-crash": "the execution environment's process dies mid-request",
    "lambda-init-error": "a new execution environment fails its init",
}
NAMESPACE = "Emulator"  # the emulator's own metrics; AWS/* belongs to AWS's services
METRIC = "FaultsInjected"
_T = TypeVar("_T")


def _check(name: str, percent: float, given: object) -> None:
    if name not in FAULTS:
        raise ValueError(f"unknown fault {name!r}; choose one of {', '.join(FAULTS)}")
    if not 0 <= percent <= 100:  # also refuses nan
        raise ValueError(f"fault {name}: give a percentage from 0 to 100 (e.g. {name}=5), not {given!r}")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


# argparse types of the fault switches, shared by ``python -m emulator serve`` and ``programs.chaos``.


def fault_argument(text: str) -> tuple[str, float]:
    """``--fault NAME=PERCENT``."""
    name, _, percent = text.partition("=")
    try:
        _check(name, _number(percent), percent)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return name, _number(percent)


# A percentage for every fault at once (chaos's ``--rate``).
percent_argument = in_range(float, 0, 100, lambda text: f"{text!r} is not a percentage from 0 to 100")


def _whole(high: int, what: str) -> Callable[[str], int]:
    return in_range(whole, 0, high, lambda text: f"{text!r} is not {what} (a whole number from 0 to {high})")


seed_argument = _whole(2**32 - 1, "a seed")
latency_argument = _whole(60_000, "a latency in ms")


class FaultPlan:
    """What to inject and how often (percent per fault name); thread-safe; counts what it injected."""

    def __init__(self, percentages: Mapping[str, float], seed: int | None = None) -> None:
        for name, percent in percentages.items():
            _check(name, percent, percent)
        self.percentages = dict(percentages)
        self.seed = random.SystemRandom().randrange(2**32) if seed is None else seed
        self._random = {name: random.Random(f"{self.seed}/{name}") for name in FAULTS}  # noqa: S311 - seeded on purpose
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return any(percent > 0 for percent in self.percentages.values())

    def fire(self, name: str, where: str = "") -> bool:
        """Whether fault ``name`` happens now (counted and logged when it does); ``where`` names the spot."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}")
        percent = self.percentages.get(name, 0.0)
        if percent <= 0:
            return False
        with self._lock:
            fired = self._random[name].random() * 100 < percent
            if fired:
                self._counts[name] += 1
        if fired:
            logger.warning("fault injected: %s%s", name, f" ({where})" if where else "")
        return fired

    def choose(self, name: str, options: Sequence[_T]) -> _T:
        """A seeded pick among the forms a fault can take (e.g. which throttling error)."""
        with self._lock:
            return self._random[name].choice(options)

    def counts(self) -> dict[str, int]:
        """Faults injected so far, every name included (0 when none)."""
        with self._lock:
            return {name: self._counts[name] for name in FAULTS}

    def describe(self) -> str:
        """The switches, as ``serve`` prints them at start."""
        shown = ", ".join(f"{name}={percent:g}%" for name, percent in self.percentages.items() if percent)
        return f"{shown or 'none'} (seed {self.seed})"

    def summary(self) -> str:
        """One line for the end of a run: how many of each fault were injected."""
        counts = self.counts()
        listed = ", ".join(f"{name} {count}" for name, count in counts.items() if self.percentages.get(name))
        return f"faults injected: {sum(counts.values())} ({listed or 'none asked for'}; seed {self.seed})"


class FaultMetrics:
    """Publishes the plan's counts to CloudWatch (the emulator's own namespace) every ``interval_s``."""

    def __init__(self, plan: FaultPlan, cloudwatch_client: Any, interval_s: float = 1.0) -> None:
        self._plan = plan
        self._cloudwatch = cloudwatch_client
        self._interval_s = interval_s
        self._published: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._publishing = threading.Lock()  # the timer and a flush may publish at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-metrics", daemon=True)

    def start(self) -> FaultMetrics:
        self._thread.start()
        return self

    def close(self) -> None:
        """Publish what is left, then stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.publish()
        self.publish()

    def publish(self) -> None:
        """Put the faults injected since the last publication (one datum per fault that fired)."""
        with self._publishing:
            self._publish()

    def _publish(self) -> None:
        counts = self._plan.counts()
        data = [
            {
                "MetricName": METRIC,
                "Dimensions": [{"Name": "Fault", "Value": name}],
                "Timestamp": datetime.now(UTC),
                "Unit": "Count",
                "Value": float(count - self._published[name]),
            }
            for name, count in counts.items()
            if count > self._published[name]
        ]
        if not data:
            return
        try:
            self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
        except Exception as error:  # the emulator going away must not stop the stack; the log still counts
            logger.warning("fault metrics not published: %s", error)
            return
        self._published = counts
