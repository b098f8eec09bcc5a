"""``python -m tuning``: run Power Tuning on AWS or on the local emulator, save the results, print the table
and the ``pulumi config set memorySize`` line. (The analysis report is ``python -m analysis report``.)

Power Tuning's autoOptimize is never used: the stack's config stays the one source of truth for memory size.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api.stack_outputs import AWS_RUN_KEYS, LOCAL_OUTPUTS, OutputsError, running_local_outputs
from settings.arguments import in_range, whole
from settings.aws_limits import MEMORY_MB
from tuning.compare import DEFAULT_MAX_REGRESSION, CompareError, compare_files
from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT, STRATEGIES
from tuning.engine.confidence import METRICS
from tuning.engine.inputs import DEFAULT_POWER_VALUES, MIN_NUM, check_power_values
from tuning.errors import InterruptedRunError, TuningError
from tuning.payloads import DEFAULT_MIX, parse_mix
from tuning.pulumi_stack import PulumiMissingError, StackError, load_outputs, set_memory_size
from tuning.run import run_and_save, run_request
from tuning.runners.aws import DEFAULT_POLL_INTERVAL_S
from tuning.runners.local import CPU_LIMITERS, INIT_CPU_MODES, check_function_dir
from tuning.runners.rounds import AUTO, DEFAULT_MAX_NUM, DEFAULT_PRECISION, Sampling

DEFAULT_POWER_VALUES_TEXT = ",".join(map(str, DEFAULT_POWER_VALUES))
EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130  # 130 = 128 + SIGINT, as shells report Ctrl-C


def power_values_argument(text: str) -> list[int]:
    """An argparse type for ``--power-values`` (this CLI and the demo): Lambda memory sizes, no repeats."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
        check_power_values(values)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error} (e.g. {DEFAULT_POWER_VALUES_TEXT})") from error
    return values


def num_argument(text: str) -> int:
    """An argparse type for ``--num`` (this CLI and the demo): Power Tuning's minimum of 5 invocations."""
    return in_range(
        lambda given: whole(given.strip()),
        MIN_NUM,
        math.inf,
        lambda given: f"must be an integer of at least {MIN_NUM}, got {given!r}",
    )(text)


def num_or_auto_argument(text: str) -> int | str:
    """``--num`` of ``run``: ``auto`` (rounds until ``--precision``) or an integer of at least 5."""
    if text.strip() == AUTO:
        return AUTO
    try:
        return num_argument(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be {AUTO!r} or an integer of at least {MIN_NUM}, got {text!r}"
        ) from None


def _number(low: float, high: float, *, low_included: bool = True) -> Callable[[str], float]:
    """An argparse type for a number within [low, high] (or (low, high]); NaN and words are refused."""
    return in_range(
        float,
        low,
        high,
        lambda text: f"must be a number from {low:g} to {high:g}, got {text!r}",
        low_included=low_included,
    )


def _mix(text: str) -> dict[str, int]:
    try:
        return parse_mix(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """Every flag of ``run``, documented where users read it: ``--help``."""
    run.add_argument("--target", choices=("aws", "local"), required=True, help="where to run Power Tuning")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--stack", help="Pulumi stack whose outputs to read (Pulumi's Automation API)")
    source.add_argument(
        "--outputs",
        type=Path,
        help=f"JSON file with the stack outputs instead (local default: {LOCAL_OUTPUTS} if present)",
    )
    run.add_argument(
        "--power-values",
        type=power_values_argument,
        default=list(DEFAULT_POWER_VALUES),
        help=f"memory sizes in MB, comma-separated, {MEMORY_MB[0]}-{MEMORY_MB[1]} "
        f"(default {DEFAULT_POWER_VALUES_TEXT})",
    )
    run.add_argument(
        "--num",
        type=num_or_auto_argument,
        default=10,
        metavar="N|auto",
        help=f"invocations per memory size, at least {MIN_NUM} (default 10), or {AUTO!r}: invoke in rounds "
        "until each size's 95%% interval of the mean duration is within --precision",
    )
    run.add_argument(
        "--precision",
        type=_number(0, 100, low_included=False),
        metavar="PCT",
        help="with --num auto: the interval's half-width, %% of the mean "
        f"(default {DEFAULT_PRECISION * 100:g}%%)",
    )
    run.add_argument(
        "--max-num",
        type=num_argument,
        metavar="N",
        help=f"with --num auto: at most this many invocations per size (default {DEFAULT_MAX_NUM})",
    )
    run.add_argument(
        "--skip-failing",
        action="store_true",
        help="aws: rerun without the sizes an execution failed at, listing them with their cause "
        "(local runs always set failing sizes aside)",
    )
    run.add_argument(
        "--function-dir",
        type=Path,
        metavar="DIR",
        help="local: tune the handler app.lambda_handler of this folder instead of function/",
    )
    run.add_argument(
        "--mix",
        type=_mix,
        default=parse_mix(DEFAULT_MIX),
        help=f"weighted API operations (get, list, create, replace, patch, delete); default {DEFAULT_MIX}",
    )
    run.add_argument(
        "--strategy", choices=STRATEGIES, default="cost", help="what the optimum minimises (default cost)"
    )
    run.add_argument(
        "--balanced-weight",
        type=_number(0, 1),
        default=DEFAULT_BALANCED_WEIGHT,
        help=f"balanced strategy: 0 = speed only, 1 = cost only (default {DEFAULT_BALANCED_WEIGHT})",
    )
    order = run.add_mutually_exclusive_group()
    order.add_argument(
        "--parallel",
        dest="parallel",
        action="store_true",
        help="fire the invocations of a memory size at once",
    )
    order.add_argument(
        "--serial", dest="parallel", action="store_false", help="one invocation after the other (default)"
    )
    run.set_defaults(parallel=False)
    run.add_argument(
        "--poll-interval",
        type=_number(0, 600, low_included=False),
        default=DEFAULT_POLL_INTERVAL_S,
        help="aws: seconds between status checks, also waited for late REPORT lines "
        f"(default {DEFAULT_POLL_INTERVAL_S:g})",
    )
    run.add_argument("--results-dir", type=Path, default=Path("results"), help="where results files go")
    run.add_argument(
        "--init-cpu",
        choices=INIT_CPU_MODES,
        default="boost",
        help="local: init runs with a full core (boost, as observed on AWS) or the memory's CPU share",
    )
    run.add_argument(
        "--cpu-limiter",
        choices=CPU_LIMITERS,
        default="auto",
        help="local: how the CPU share is enforced (auto picks the first that works)",
    )
    run.add_argument(
        "--apply",
        action="store_true",
        help="aws with --stack: set the printed memorySize on that stack (then `pulumi up` yourself)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tuning",
        description="Tune the function's memory with AWS Lambda Power Tuning, on AWS or on the emulator. "
        "(The analysis report is `python -m analysis report`.)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,compare}")
    run = commands.add_parser("run", help="tune the function's memory", description="Run Power Tuning once.")
    add_run_arguments(run)
    compare = commands.add_parser(
        "compare",
        help="the regression gate: compare two results files size by size",
        description="Compare NEW against BASE per memory size on per-invocation data: Power Tuning's figure, "
        "the change with its 95%% bootstrap interval, a permutation test. Exit 0 when no size got "
        "significantly (p < 0.05) worse by more than --max-regression, 1 when one did, 2 on bad input.",
    )
    add_compare_arguments(compare)
    # usage errors found after parsing show that command's usage
    run.set_defaults(subparser=run, handler=command_run)
    compare.set_defaults(subparser=compare, handler=command_compare)
    return parser


def add_compare_arguments(compare: argparse.ArgumentParser) -> None:
    compare.add_argument("base", type=Path, metavar="BASE", help="the reference results file")
    compare.add_argument("new", type=Path, metavar="NEW", help="the results file to judge")
    compare.add_argument(
        "--metric", choices=METRICS, default="duration", help="what is compared (default duration)"
    )
    compare.add_argument(
        "--max-regression",
        type=_number(0, 1000),
        default=DEFAULT_MAX_REGRESSION,
        metavar="PCT",
        help=f"percent worse a size may get before the gate fails (default {DEFAULT_MAX_REGRESSION:g})",
    )
    compare.add_argument(
        "--power",
        type=int,
        nargs="+",
        metavar="N",
        help="compare only these memory sizes (default: every size both runs measured)",
    )


def command_compare(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Print the comparison; exit 0 (passed), 1 (a size regressed) or 2 (the files cannot be compared)."""
    try:
        code, text = compare_files(
            args.base, args.new, metric=args.metric, max_regression=args.max_regression, powers=args.power
        )
    except CompareError as error:
        parser.error(str(error))
    print(text)
    return code


def _read_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any] | None:
    try:
        if args.target == "aws":
            if args.stack is None and args.outputs is None:
                parser.error("--target aws needs --stack NAME or --outputs FILE")
            return load_outputs(args.stack, args.outputs, required=AWS_RUN_KEYS)
        if args.stack is None and args.outputs is None:
            return running_local_outputs()
        return load_outputs(args.stack, args.outputs)
    except OutputsError as error:
        parser.error(str(error))


def command_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Validate, run on the chosen target, save, print; exit 2 on bad input, 1 when the run failed."""
    if args.apply and (args.target != "aws" or args.stack is None):
        parser.error("--apply needs --target aws and --stack NAME (it runs pulumi config set on that stack)")
    if args.num != AUTO and (args.precision is not None or args.max_num is not None):
        parser.error("--precision and --max-num go with --num auto")
    if args.function_dir is not None:
        if args.target != "local":
            parser.error("--function-dir is for --target local: on AWS the deployed code is tuned")
        try:
            check_function_dir(args.function_dir)
        except ValueError as error:
            parser.error(f"--function-dir: {error}")
    outputs = _read_outputs(parser, args)
    sampling = Sampling(
        None if args.num == AUTO else args.num,
        precision=DEFAULT_PRECISION if args.precision is None else args.precision / 100,
        max_num=args.max_num or DEFAULT_MAX_NUM,
    )
    try:
        request = run_request(
            args.target,
            outputs,
            power_values=args.power_values,
            sampling=sampling,
            mix=args.mix,
            strategy=args.strategy,
            balanced_weight=args.balanced_weight,
            parallel=args.parallel,
            stack=args.stack,
            results_dir=args.results_dir,
            function_dir=args.function_dir,
            init_cpu=args.init_cpu,
            cpu_limiter=args.cpu_limiter,
            poll_interval_s=args.poll_interval,
            skip_failing=args.skip_failing,
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        saved = run_and_save(request, outputs)
    except ValueError as error:  # input the runner refuses before measuring (e.g. an unusable --cpu-limiter)
        parser.error(str(error))
    except InterruptedRunError as error:
        print(f"interrupted: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except TuningError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(saved.text)
    if args.apply:
        return _apply(args.stack, saved.memory_mb)
    return 0


def _apply(stack: str, memory_mb: int) -> int:
    """Put the run's optimum into the stack's config through Pulumi's Automation API (never onto the function
    itself: `pulumi up` deploys it)."""
    try:
        set_memory_size(stack, memory_mb)
    except PulumiMissingError:
        print("--apply: the Pulumi CLI is not on PATH; run the command above yourself", file=sys.stderr)
        return EXIT_FAILED
    except StackError as error:
        print(f"--apply: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("Config updated; deploy it with `pulumi up`.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch. Ctrl-C ends with one line and exit 130, not a traceback: the runners have already
    stopped their workers, servers and cgroups on the way out, and nothing half-written is left."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args.subparser, args)
    except KeyboardInterrupt:
        print(f"interrupted: {args.command} stopped before it finished; nothing was saved", file=sys.stderr)
        return EXIT_INTERRUPTED
