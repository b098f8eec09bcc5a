"""One tuning run end to end: run on AWS or locally, save the results file, compose what the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.events import PAYLOAD_FORMATS
from api.names import DEFAULT_REGION, LOCAL_ACCOUNT_ID, LOCAL_FUNCTION_NAME
from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT
from tuning.engine.pricing import PRICES_AS_OF
from tuning.payloads import seed_events, weighted_payload
from tuning.pulumi_stack import pulumi_command
from tuning.record import TuningRun
from tuning.results import write_results
from tuning.runners.aws import build_execution_input, run_aws
from tuning.runners.local import run_local
from tuning.runners.request import Finished, RunRequest, front_door_of
from tuning.runners.rounds import RoundReport, Sampled, Sampling, first_num
from tuning.summary import format_table, pick_lines, power_rows, traffic_lines

__all__ = ["RunRequest", "Saved", "run_and_save", "run_request"]  # RunRequest: the library's input

# Without stack outputs the local runner tunes a private function, labelled with the project's settings.
LOCAL_FUNCTION_ARN = f"arn:aws:lambda:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:function:{LOCAL_FUNCTION_NAME}"


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
    api_type = front_door_of(outputs)
    payload = weighted_payload(mix, PAYLOAD_FORMATS[api_type])
    execution_input = build_execution_input(
        (outputs or {}).get("function_arn", LOCAL_FUNCTION_ARN),
        power_values=power_values,
        num=first_num(sampling, payload),
        payload=payload,
        strategy=strategy,
        balanced_weight=balanced_weight,
        parallel=parallel,
    )
    return RunRequest(target, execution_input, sampling, mix, api_type, **where)


@dataclass
class Saved:
    path: Path
    run: TuningRun  # what the file holds: its picks are what the printout shows
    text: str  # the table, the picks, where the file is, the command that applies the result
    memory_mb: int  # the run's optimum: what that command (and --apply) sets


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


def _run_local(request: RunRequest, outputs: dict | None) -> Finished:
    execution_input = request.execution_input
    progress = _Progress(
        len(execution_input.power_values), execution_input.num, request.sampling, count_invocations=True
    )
    try:
        return run_local(
            request,
            outputs,
            seed=seed_events(payload_format=request.payload_format),
            on_invocation=progress.invocation,
            on_round=progress.round,
        )
    finally:
        progress.close()


def _run_aws(request: RunRequest, outputs: dict) -> Finished:
    progress = _Progress(0, 0, request.sampling, count_invocations=False)  # the runner's bar counts sizes
    return run_aws(
        request,
        outputs,
        seed=seed_events(payload_format=request.payload_format),
        log_delivery_wait_s=request.poll_interval_s,
        on_round=progress.round,
    )


def run_and_save(request: RunRequest, outputs: dict | None) -> Saved:
    """Run on ``request.target``, write ``results/<time>_<target>_<function>[_<folder>].json``, return the
    record and its printout.

    Raises ``TuningError`` when the run produced no result (nothing is written then)."""
    done = _run_aws(request, outputs or {}) if request.target == "aws" else _run_local(request, outputs)
    path = write_results(
        done.run,
        variant=request.function_dir.resolve().name if request.function_dir else None,
        results_dir=request.results_dir,
    )
    return compose(done, request, path)


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


def compose(done: Finished, request: RunRequest, path: Path) -> Saved:
    """The table (skipped sizes as rows with their cause), for ``--num auto`` the n reached per size, the
    picks the record holds per strategy and the command to apply the run's optimum through Pulumi."""
    run = done.run
    output, meta = run.output, run.metadata
    rows = power_rows(
        output,
        run.stats,
        run.invocations,
        architecture=meta["architecture"],
        region=meta["region"],
        api_type=run.api_type,
        mix=request.mix,
        confidence=run.confidence,
    )
    label = (
        "measured on AWS"
        if run.emulation is None
        else f"emulated on this machine, {run.emulation['runtime']}"
    )
    code = f" with the code in {meta['function_dir']}" if request.function_dir else ""
    lines = [
        f"Power Tuning of {meta['function_name']}{code} ({label}; {meta['architecture']}, "
        f"{meta['region']}, {run.api_type.upper()} API; list prices as of {PRICES_AS_OF}; * = this run's "
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
        *(f"note: {note}" for note in meta["notes"]),
        "",
        f"Results: {path}",
        "Apply with Pulumi:",
        f"  {command}",
        "  pulumi up",
    ]
    return Saved(path, run, "\n".join(lines), output["power"])
