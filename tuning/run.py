"""One tuning run end to end: run on AWS or locally, save the results file, compose what the CLI prints."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.events import payload_format_of
from tuning.engine.confidence import run_confidence
from tuning.engine.pricing import PRICES_AS_OF
from tuning.engine.stats import discard_of
from tuning.outputs import pulumi_command
from tuning.payloads import seed_events
from tuning.results import per_power_stats, write_results
from tuning.runners.aws import run_aws
from tuning.runners.local import run_local
from tuning.runners.rounds import RoundReport, Sampled, Sampling, merged_note
from tuning.summary import format_table, pick_lines, power_rows


@dataclass
class Saved:
    path: Path
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


def _run_local(args: argparse.Namespace, outputs: dict | None, execution_input: dict) -> _Finished:
    progress = _Progress(
        len(execution_input["powerValues"]), execution_input["num"], args.sampling, count_invocations=True
    )
    try:
        local = run_local(
            execution_input,
            outputs=outputs,
            init_cpu=args.init_cpu,
            cpu_limiter=args.cpu_limiter,
            seed=seed_events(payload_format=payload_format_of(outputs)),
            on_invocation=progress.invocation,
            **({"function_dir": args.function_dir} if args.function_dir else {}),
            sampling=args.sampling,
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


def _run_aws(args: argparse.Namespace, outputs: dict, execution_input: dict) -> _Finished:
    progress = _Progress(0, 0, args.sampling, count_invocations=False)  # the runner's bar counts sizes
    aws = run_aws(
        outputs,
        execution_input,
        seed=seed_events(payload_format=payload_format_of(outputs)),
        poll_interval_s=args.poll_interval,
        log_delivery_wait_s=args.poll_interval,
        sampling=args.sampling,
        skip_failing=args.skip_failing,
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


def run_and_save(
    args: argparse.Namespace, outputs: dict | None, facts: dict[str, Any], execution_input: dict
) -> Saved:
    """Run on ``args.target``, write ``results/<time>_<target>_<function>[_<folder>].json``, return the
    printout.

    Raises ``TuningError`` when the run produced no result (nothing is written then)."""
    if args.target == "aws":
        done = _run_aws(args, outputs or {}, execution_input)
    else:
        done = _run_local(args, outputs, execution_input)
        facts = {
            **facts,
            "architecture": done.emulation.get("architecture_priced", facts["architecture"]),
            "runtime": done.emulation["runtime"],
        }
    stats, _ = per_power_stats(done.output)
    # local runs: every invocation; AWS: the REPORT lines read back (none when the logs were unreadable)
    confidence = run_confidence(
        [stat["value"] for stat in stats],
        done.invocations or [],
        discard=discard_of(execution_input),
        architecture=facts["architecture"],
        region=facts["region"],
    )
    path = write_results(
        source=args.target,
        function_name=facts["function_name"],
        region=facts["region"],
        architecture=facts["architecture"],
        started=done.started,
        ended=done.ended,
        execution_input=execution_input,
        output=done.output,
        execution_arn=done.execution_arn,
        invocations=done.invocations,
        emulation=done.emulation,
        extra={
            "mix": args.mix,
            "stack": args.stack,
            "prices_as_of": PRICES_AS_OF,
            "notes": done.notes,
            "sampling": done.sampled.describe(),
            **done.metadata,
        },
        confidence=confidence,
        skipped=done.skipped,
        variant=args.function_dir.resolve().name if args.function_dir else None,
        results_dir=args.results_dir,
    )
    return compose(done, confidence, facts, args, path)


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


def compose(
    done: _Finished,
    confidence: list[dict[str, Any]],
    facts: dict[str, Any],
    args: argparse.Namespace,
    path: Path,
) -> Saved:
    """The table (skipped sizes as rows with their cause), for ``--num auto`` the n reached per size, each
    strategy's pick and the command to apply the run's optimum through Pulumi."""
    output = done.output
    stats, _ = per_power_stats(output)
    rows = power_rows(
        output,
        stats,
        done.invocations,
        architecture=facts["architecture"],
        region=facts["region"],
        mix=args.mix,
        confidence=confidence,
    )
    label = f"emulated on this machine, {facts['runtime']}" if args.target == "local" else "measured on AWS"
    code = f" with the code in {done.metadata['function_dir']}" if args.function_dir else ""
    lines = [
        f"Power Tuning of {facts['function_name']}{code} ({label}; {facts['architecture']}, "
        f"{facts['region']}; list prices as of {PRICES_AS_OF}; * = this run's {args.strategy} optimum)",
        format_table(rows, done.skipped),
        *sampling_lines(done.sampled),
        "",
        "Picks by strategy (Power Tuning's rules; within noise = 95% intervals of its metric overlap):",
        *pick_lines(stats, confidence, args.balanced_weight),
    ]
    command = pulumi_command(output["power"], args.stack or "<stack>")
    lines += [
        *(f"note: {note}" for note in done.notes),
        "",
        f"Results: {path}",
        "Apply with Pulumi:",
        f"  {command}",
    ]
    lines.append("  pulumi up")
    return Saved(path, "\n".join(lines), output["power"])
