"""One tuning run end to end: run on AWS or locally, save the results file, compose what the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.events import payload_format_of
from api.names import DEFAULT_REGION, LOCAL_ACCOUNT_ID, LOCAL_FUNCTION_NAME
from settings.stack_files import read_stack_settings
from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT
from tuning.engine.confidence import run_confidence
from tuning.engine.pricing import PRICES_AS_OF
from tuning.payloads import seed_events, weighted_payload
from tuning.pulumi_stack import pulumi_command
from tuning.record import ExecutionInput, TuningRun, measured_run, per_power_stats
from tuning.results import DEFAULT_RESULTS_DIR, write_results
from tuning.runners.aws import DEFAULT_POLL_INTERVAL_S, build_execution_input, run_aws
from tuning.runners.local import run_local
from tuning.runners.rounds import RoundReport, Sampled, Sampling, first_num, merged_note
from tuning.summary import format_table, pick_lines, power_rows, traffic_lines

# Without stack outputs the local runner tunes a private function (priced as in _local_defaults).
LOCAL_FUNCTION_ARN = f"arn:aws:lambda:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:function:{LOCAL_FUNCTION_NAME}"


def _local_defaults() -> dict[str, str]:
    """What a local run without stack outputs is labelled and priced as: the project's architecture."""
    architecture = read_stack_settings(None).settings.architecture
    return {"function_name": LOCAL_FUNCTION_NAME, "region": DEFAULT_REGION, "architecture": architecture}


@dataclass(frozen=True)
class RunRequest:
    """What one tuning run is asked to do, checked by whoever builds it (the CLI, the demo): the Power
    Tuning input, where to run it and how to sample, and what only one target uses."""

    target: str  # "aws" | "local"
    execution_input: ExecutionInput
    sampling: Sampling
    mix: dict[str, int]
    stack: str | None = None
    results_dir: Path = DEFAULT_RESULTS_DIR
    function_dir: Path | None = None  # local: tune this folder's handler instead of function/
    init_cpu: str = "boost"  # local
    cpu_limiter: str = "auto"  # local
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S  # aws
    skip_failing: bool = False  # aws


def run_request(
    target: str,
    outputs: dict[str, Any] | None,
    *,
    power_values: list[int],
    sampling: Sampling,
    mix: dict[str, int],
    strategy: str = "cost",
    balanced_weight: float = DEFAULT_BALANCED_WEIGHT,
    parallel: bool = False,
    **where: Any,
) -> RunRequest:
    """The request of a run of ``outputs``' function (the local default without outputs), its Power Tuning
    input built and checked here; ``where`` are RunRequest's other fields. ValueError names what is refused
    (e.g. a ``num`` too small for the mix's smallest share)."""
    payload = weighted_payload(mix, payload_format_of(outputs))
    execution_input = build_execution_input(
        (outputs or {}).get("function_arn", LOCAL_FUNCTION_ARN),
        power_values=power_values,
        num=first_num(sampling, payload),
        payload=payload,
        strategy=strategy,
        balanced_weight=balanced_weight,
        parallel=parallel,
    )
    return RunRequest(target, ExecutionInput.from_json(execution_input), sampling, mix, **where)


@dataclass
class Saved:
    path: Path
    run: TuningRun  # what the file holds: its picks are what the printout shows
    text: str  # the table, the picks, where the file is, the command that applies the result
    memory_mb: int  # the run's optimum: what that command (and --apply) sets


@dataclass
class _Finished:
    """What either target hands to the results file and the printout."""

    started: datetime
    ended: datetime
    output: dict[str, Any]
    invocations: list[dict[str, Any]] | None
    emulation: dict[str, Any] | None  # how Lambda was emulated; None on AWS
    execution_arn: str | None  # None locally
    sampled: Sampled  # the rounds, the n reached per size, the sizes set aside (``skipped``)
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # what only one target knows

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """``{"power", "cause"}`` per size that failed."""
        return self.sampled.skipped


class _Progress:
    """The live count of a run: one bar over its invocations (locally) and, after each round of ``--num
    auto`` or one with a failing size, a line saying where each size stands."""

    def __init__(self, sizes: int, num: int, sampling: Sampling, *, count_invocations: bool) -> None:
        self.sampling = sampling
        self.bar = tqdm(total=sizes * num, desc="round 1", unit="inv") if count_invocations else None

    def invocation(self, _record: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def round(self, report: RoundReport) -> None:
        if self.sampling.auto or report.failed:
            tqdm.write(round_line(report, self.sampling))
        if self.bar is not None and report.next_num:
            self.bar.total = self.bar.n + len(report.open) * report.next_num
            self.bar.set_description(f"round {report.index + 1}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def round_line(report: RoundReport, sampling: Sampling) -> str:
    """``round 2 (30 per size): 128 MB ±6.1% n=40, 256 MB ±4.2% n=10 done; next: 128 MB × 41``."""
    sizes = []
    for power, n in report.n.items():
        width = report.widths.get(power)
        shown = f"{power} MB" + (f" ±{width:.1%}" if width is not None else "") + f" n={n}"
        sizes.append(shown + ("" if power in report.open or not sampling.auto else " done"))
    sizes += [f"{power} MB failed ({cause[:80]})" for power, cause in report.failed.items()]
    if report.next_num:
        upcoming = f"next: {', '.join(f'{power} MB' for power in report.open)} × {report.next_num}"
    elif report.open:
        upcoming = f"--max-num {sampling.max_num} reached for {', '.join(f'{p} MB' for p in report.open)}"
    else:
        upcoming = "done"
    return f"round {report.index} ({report.num} per size): {', '.join(sizes)}; {upcoming}"


def _run_local(request: RunRequest, outputs: dict | None) -> _Finished:
    execution_input = request.execution_input
    progress = _Progress(
        len(execution_input.power_values), execution_input.num, request.sampling, count_invocations=True
    )
    try:
        local = run_local(
            execution_input.to_json(),
            outputs=outputs,
            init_cpu=request.init_cpu,
            cpu_limiter=request.cpu_limiter,
            seed=seed_events(payload_format=payload_format_of(outputs)),
            on_invocation=progress.invocation,
            **({"function_dir": request.function_dir} if request.function_dir else {}),
            sampling=request.sampling,
            on_round=progress.round,
        )
    finally:
        progress.close()
    sampled = local.sampled
    rounds = len(sampled.rounds)
    notes = [merged_note(sampled, rounds, "the invocations")] if rounds > 1 else []
    function_dir = _shown(local.function_dir)
    return _Finished(
        local.started,
        local.ended,
        local.output,
        local.invocations,
        local.emulation,
        None,
        sampled,
        notes,
        metadata={"function_dir": function_dir},
    )


def _shown(path: Path) -> str:
    """A folder as people would type it: relative to the working directory when inside it."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(Path.cwd())) if resolved.is_relative_to(Path.cwd()) else str(resolved)


def _run_aws(request: RunRequest, outputs: dict) -> _Finished:
    progress = _Progress(0, 0, request.sampling, count_invocations=False)  # the runner's bar counts sizes
    aws = run_aws(
        outputs,
        request.execution_input.to_json(),
        seed=seed_events(payload_format=payload_format_of(outputs)),
        poll_interval_s=request.poll_interval_s,
        log_delivery_wait_s=request.poll_interval_s,
        sampling=request.sampling,
        skip_failing=request.skip_failing,
        on_round=progress.round,
    )
    return _Finished(
        aws.started,
        aws.ended,
        aws.output,
        aws.invocations,
        None,
        aws.execution_arn,
        aws.sampled,  # type: ignore[arg-type]
        aws.notes,
        metadata={"executions": aws.executions},
    )


def run_and_save(request: RunRequest, outputs: dict | None) -> Saved:
    """Run on ``request.target``, write ``results/<time>_<target>_<function>[_<folder>].json``, return the
    record and its printout.

    Raises ``TuningError`` when the run produced no result (nothing is written then)."""
    facts = {**_local_defaults(), **(outputs or {})}
    if request.target == "aws":
        done = _run_aws(request, outputs or {})
    else:
        done = _run_local(request, outputs)
        facts = {
            **facts,
            "architecture": done.emulation.get("architecture_priced", facts["architecture"]),
            "runtime": done.emulation["runtime"],
        }
    run = _record(request, done, facts)
    path = write_results(
        run,
        variant=request.function_dir.resolve().name if request.function_dir else None,
        results_dir=request.results_dir,
    )
    return compose(run, done, facts, request, path)


def _record(request: RunRequest, done: _Finished, facts: dict[str, Any]) -> TuningRun:
    # local runs: every invocation; AWS: the REPORT lines read back (none when the logs were unreadable)
    confidence = run_confidence(
        [stat["value"] for stat in per_power_stats(done.output)[0]],
        done.invocations or [],
        discard=request.execution_input.discard,
        architecture=facts["architecture"],
        region=facts["region"],
    )
    return measured_run(
        source=request.target,
        function_name=facts["function_name"],
        region=facts["region"],
        architecture=facts["architecture"],
        started=done.started,
        ended=done.ended,
        execution_input=request.execution_input,
        output=done.output,
        execution_arn=done.execution_arn,
        invocations=done.invocations,
        emulation=done.emulation,
        extra={
            "mix": request.mix,
            "stack": request.stack,
            "prices_as_of": PRICES_AS_OF,
            "notes": done.notes,
            "sampling": done.sampled.describe(),
            **done.metadata,
        },
        confidence=confidence,
        skipped=done.skipped,
    )


def sampling_lines(sampled: Sampled) -> list[str]:
    """For ``--num auto``: the n reached per size, in how many rounds, and any size max-num stopped."""
    sampling = sampled.sampling
    if not sampling.auto:
        return []
    reached = ", ".join(f"{power} MB {n}" for power, n in sampled.n.items())
    lines = [
        f"--num auto (±{sampling.precision:.1%} of the mean, 95%): invocations per size {reached}, "
        f"in {len(sampled.rounds)} round(s)"
    ]
    if sampled.unsettled:
        sizes = ", ".join(f"{power} MB" for power in sampled.unsettled)
        lines.append(f"  still wider than ±{sampling.precision:.1%} at --max-num {sampling.max_num}: {sizes}")
    return lines


def compose(run: TuningRun, done: _Finished, facts: dict[str, Any], request: RunRequest, path: Path) -> Saved:
    """The table (skipped sizes as rows with their cause), for ``--num auto`` the n reached per size, the
    picks the record holds per strategy and the command to apply the run's optimum through Pulumi."""
    output = run.output
    rows = power_rows(
        output,
        run.stats,
        run.invocations,
        architecture=facts["architecture"],
        region=facts["region"],
        mix=request.mix,
        confidence=run.confidence,
    )
    label = f"emulated on this machine, {facts['runtime']}" if run.source == "local" else "measured on AWS"
    code = f" with the code in {done.metadata['function_dir']}" if request.function_dir else ""
    lines = [
        f"Power Tuning of {facts['function_name']}{code} ({label}; {facts['architecture']}, "
        f"{facts['region']}; list prices as of {PRICES_AS_OF}; * = this run's "
        f"{run.input.strategy} optimum)",
        format_table(rows, run.skipped),
        *sampling_lines(done.sampled),
        *traffic_lines(run.traffic),
        "",
        "Picks by strategy (Power Tuning's rules; within noise = 95% intervals of its metric overlap):",
        *pick_lines(run),
    ]
    command = pulumi_command(output["power"], request.stack or "<stack>")
    lines += [
        *(f"note: {note}" for note in done.notes),
        "",
        f"Results: {path}",
        "Apply with Pulumi:",
        f"  {command}",
        "  pulumi up",
    ]
    return Saved(path, run, "\n".join(lines), output["power"])
