"""One tuning run end to end: run on AWS or locally, save the results file, compose what the CLI prints."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tuning.engine.confidence import run_confidence
from tuning.engine.pricing import PRICES_AS_OF
from tuning.engine.stats import discard_of
from tuning.outputs import pulumi_command
from tuning.payloads import seed_events
from tuning.results import per_power_stats, write_results
from tuning.runners.aws import run_aws
from tuning.runners.local import run_local
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
    notes: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"power", "cause"} per size that failed


def _run_local(args: argparse.Namespace, outputs: dict | None, execution_input: dict) -> _Finished:
    total = len(execution_input["powerValues"]) * execution_input["num"]
    with tqdm(total=total, desc="invocations", unit="inv") as bar:
        local = run_local(
            execution_input,
            outputs=outputs,
            init_cpu=args.init_cpu,
            cpu_limiter=args.cpu_limiter,
            seed=seed_events(),
            on_invocation=lambda *_, **__: bar.update(1),
        )
    return _Finished(local.started, local.ended, local.output, local.invocations, local.emulation, None)


def _run_aws(args: argparse.Namespace, outputs: dict, execution_input: dict) -> _Finished:
    aws = run_aws(
        outputs,
        execution_input,
        seed=seed_events(),
        poll_interval_s=args.poll_interval,
        log_delivery_wait_s=args.poll_interval,
    )
    return _Finished(aws.started, aws.ended, aws.output, aws.invocations, None, aws.execution_arn, aws.notes)


def run_and_save(
    args: argparse.Namespace, outputs: dict | None, facts: dict[str, Any], execution_input: dict
) -> Saved:
    """Run on ``args.target``, write ``results/<time>_<target>_<function>.json``, return the printout.

    Raises ``TuningError`` when the run produced no result (nothing is written then)."""
    if args.target == "aws":
        done = _run_aws(args, outputs or {}, execution_input)
    else:
        done = _run_local(args, outputs, execution_input)
        facts = {**facts, "architecture": done.emulation.get("architecture_priced", facts["architecture"])}
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
        extra={"mix": args.mix, "stack": args.stack, "prices_as_of": PRICES_AS_OF, "notes": done.notes},
        confidence=confidence,
        skipped=done.skipped,
        results_dir=args.results_dir,
    )
    return compose(done, confidence, facts, args, path)


def compose(
    done: _Finished,
    confidence: list[dict[str, Any]],
    facts: dict[str, Any],
    args: argparse.Namespace,
    path: Path,
) -> Saved:
    """The table, each strategy's pick and the command to apply the run's optimum through Pulumi."""
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
    label = "emulated on this machine" if args.target == "local" else "measured on AWS"
    lines = [
        f"Power Tuning of {facts['function_name']} ({label}; {facts['architecture']}, {facts['region']}; "
        f"list prices as of {PRICES_AS_OF}; * = this run's {args.strategy} optimum)",
        format_table(rows, done.skipped),
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
