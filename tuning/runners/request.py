"""What a runner is asked to do (``RunRequest``) and what it hands back (``Finished``): the run's record,
built here the same way for both targets, with what only the printout needs beside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from api.events import PAYLOAD_FORMATS, PayloadFormat, api_type_of
from settings.stack_files import read_stack_settings
from tuning.engine.confidence import run_confidence
from tuning.engine.pricing import PRICES_AS_OF
from tuning.record import ExecutionInput, TuningRun, measured_run, per_power_stats
from tuning.results import DEFAULT_RESULTS_DIR
from tuning.runners.rounds import Sampled, Sampling

DEFAULT_POLL_INTERVAL_S = 5.0


def front_door_of(outputs: Mapping[str, Any] | None) -> str:
    """The front door a run's function sits behind: the outputs' ``api_type``; without outputs (a private
    local function) the project's ``apiType``, so its events and its prices agree."""
    return api_type_of(outputs) if outputs else read_stack_settings(None).settings.api_type


@dataclass(frozen=True)
class RunRequest:
    """What one tuning run is asked to do, checked by whoever builds it (the CLI, the demo): the Power
    Tuning input, where to run it and how to sample, and what only one target uses."""

    target: str  # "aws" | "local"
    execution_input: ExecutionInput
    sampling: Sampling
    mix: dict[str, int]
    api_type: str  # the front door (``front_door_of``): its events are sent, its request fee is priced
    stack: str | None = None
    results_dir: Path = DEFAULT_RESULTS_DIR
    function_dir: Path | None = None  # local: tune this folder's handler instead of function/
    init_cpu: str = "boost"  # local
    cpu_limiter: str = "auto"  # local
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S  # aws
    skip_failing: bool = False  # aws

    @property
    def payload_format(self) -> PayloadFormat:
        """The event format the front door sends: the mix's and the seeds'."""
        return PAYLOAD_FORMATS[self.api_type]


@dataclass(frozen=True)
class Priced:
    """The function a run measured, as its record names and prices it."""

    function_name: str
    region: str  # the stack's region, as the record says it
    price_region: str  # the lambdaARN's region, whose prices Power Tuning applies
    architecture: str
    api_type: str  # the front door whose request fee the table adds (``rest`` | ``http``)


@dataclass(frozen=True)
class Finished:
    """A runner's answer: the record the results file holds, and the rounds behind it for the printout."""

    run: TuningRun
    sampled: Sampled  # the n reached per size and the sizes still unsettled (``--num auto`` lines)


def finished(
    request: RunRequest,
    priced: Priced,
    sampled: Sampled,
    *,
    started: datetime,
    ended: datetime,
    output: Mapping[str, Any],
    invocations: list[dict[str, Any]] | None,
    notes: list[str],
    execution_arn: str | None = None,
    emulation: dict[str, Any] | None = None,
    extra: Mapping[str, Any],
) -> Finished:
    """The record of a run that just ended, its 95% intervals from ``invocations`` (every invocation
    locally; on AWS the REPORT lines read back, none when they were unreadable); ``extra`` is what only one
    target knows."""
    confidence = run_confidence(
        [stat["value"] for stat in per_power_stats(output)[0]],
        invocations or [],
        discard=request.execution_input.discard,
        architecture=priced.architecture,
        region=priced.price_region,
    )
    run = measured_run(
        source=request.target,
        function_name=priced.function_name,
        region=priced.region,
        architecture=priced.architecture,
        api_type=priced.api_type,
        started=started,
        ended=ended,
        execution_input=request.execution_input,
        output=output,
        execution_arn=execution_arn,
        invocations=invocations,
        emulation=emulation,
        extra={
            "mix": request.mix,
            "stack": request.stack,
            "prices_as_of": PRICES_AS_OF,
            "notes": notes,
            "sampling": sampled.describe(),
            **extra,
        },
        confidence=confidence,
        skipped=sampled.skipped,
    )
    return Finished(run, sampled)
