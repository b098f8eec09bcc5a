"""Sample results files for tests of the writer and of the readers built on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tests.support.power_tuning_fake import realistic_output
from tuning.record import ExecutionInput, Traffic, measured_run
from tuning.results import write_results

STARTED = datetime(2026, 11, 27, 6, 5, 4, tzinfo=UTC)
ENDED = datetime(2026, 11, 27, 6, 7, 0, tzinfo=UTC)
EXECUTION_INPUT = {"lambdaARN": "arn:aws:lambda:us-east-1:1:function:f", "num": 10, "strategy": "speed"}


def write_sample(
    tmp_path: Path,
    source: str = "local",
    output: dict | None = None,
    started: datetime = STARTED,
    execution_input: dict | None = None,
    variant: str | None = None,
    traffic: Traffic | None = None,  # as a local run measures it (a sample's records carry no sizes)
    **extra,
) -> Path:
    run = measured_run(
        source=source,
        function_name="crud fn/1",
        region="us-east-1",
        architecture="arm64",
        api_type="rest",
        started=started,
        ended=ENDED,
        execution_input=ExecutionInput.from_json(execution_input or EXECUTION_INPUT),
        output=output or realistic_output(),
        **extra,
    )
    if traffic is not None:
        run = replace(run, traffic=traffic)
    return write_results(run, variant=variant, results_dir=tmp_path)
