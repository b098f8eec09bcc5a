"""Cold and warm duration per memory size on the local Lambda runtime: our function vs the tutorial style.

Both functions run in the local runtime's execution environments with each memory size's CPU share
(memory / 1769 of a core) against one emulator moto server, and read the same item with the same direct event
``{"operation": "read", "payload": {"Key": {"id": "bench-1"}}}`` (table from env TABLE_NAME). Per size and
function: *cold* = Init Duration + the first request's Duration in a new environment (median of
``--cold-runs`` environments), *warm* = median Duration of ``--warm`` further requests. The two functions
alternate in shuffled order, so drift and noise on the shared machine hit both alike. Target: ours at least 3×
faster warm at 128 MB.

    .venv/bin/python -m programs.bench.cold [--sizes 128,256,512,1024,1769] [--cold-runs 3] [--warm 15]
                                   [--init-cpu boost|capped] [--cpu-limiter auto|dutycycle|...]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from pathlib import Path

from tqdm import tqdm

from emulator.environment import INIT_CPU_MODES
from emulator.invocations import Invocation
from emulator.limits import CPU_LIMITERS, plan_limits
from emulator.runtime import LambdaRuntime
from emulator.table_setup import dynamodb_client, private_table
from settings.arguments import in_range
from settings.aws_limits import MEMORY_MB
from settings.paths import FUNCTION_DIR

FUNCTIONS = {"ours": FUNCTION_DIR, "tutorial": Path(__file__).resolve().parent / "tutorial_function"}
TABLE = "bench-items"
ITEM_ID = "bench-1"
EVENT = {"operation": "read", "payload": {"Key": {"id": ITEM_ID}}}
DEFAULT_SIZES = (128, 256, 512, 1024, 1769)
WARM_TARGET = 3.0


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from None
    low, high = MEMORY_MB
    if not sizes or any(not low <= size <= high for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be Lambda memory sizes from {low} to {high} MB")
    return sizes


_positive = in_range(int, 1, math.inf, lambda text: f"must be at least 1, got {text!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES), help="memory sizes in MB")
    parser.add_argument(
        "--cold-runs", type=_positive, default=3, help="new environments per size and function"
    )
    parser.add_argument("--warm", type=_positive, default=15, help="warm requests per size and function")
    parser.add_argument("--init-cpu", choices=INIT_CPU_MODES, default="boost", help="CPU during init")
    parser.add_argument(
        "--cpu-limiter", choices=CPU_LIMITERS, default="auto", help="how the share is enforced"
    )
    return parser.parse_args(argv)


def _check(name: str, memory_mb: int, invocation: Invocation) -> None:
    """A benchmark of a failing call measures nothing: stop with the function's error."""
    payload = invocation.payload if isinstance(invocation.payload, dict) else {}
    if invocation.error is not None or payload.get("Item", {}).get("id") != ITEM_ID:
        raise SystemExit(f"{name} at {memory_mb} MB did not read the item: {invocation.error or payload}")


def measure(
    args: argparse.Namespace, environment: dict[str, str]
) -> tuple[dict[tuple[str, int], dict[str, float]], str]:
    """{(function, size): {"init", "first", "cold", "warm"}} medians in ms, and the runtime they ran on."""
    label = ""
    samples: dict[tuple[str, int], dict[str, list[float]]] = {
        (name, size): {"init": [], "first": [], "cold": [], "warm": []}
        for name in FUNCTIONS
        for size in args.sizes
    }
    steps = len(args.sizes) * len(FUNCTIONS) * args.cold_runs
    with tqdm(total=steps, desc="environments", unit="env") as bar:
        for size in args.sizes:
            for run in range(args.cold_runs):
                for name in random.sample(list(FUNCTIONS), len(FUNCTIONS)):
                    bar.set_postfix_str(f"{name} {size} MB")
                    with LambdaRuntime(
                        function_name=f"bench-{name}",
                        memory_mb=size,
                        environment=environment,
                        function_dir=FUNCTIONS[name],
                        init_cpu=args.init_cpu,
                        cpu_limiter=args.cpu_limiter,
                        max_environments=1,
                    ) as runtime:
                        cold = runtime.invoke(EVENT)
                        _check(name, size, cold)
                        sample = samples[(name, size)]
                        sample["init"].append(cold.init_ms or 0.0)
                        sample["first"].append(cold.duration_ms)
                        sample["cold"].append((cold.init_ms or 0.0) + cold.duration_ms)
                        if run == 0:  # warm requests in the first environment only
                            for _ in range(args.warm):
                                warm = runtime.invoke(EVENT)
                                _check(name, size, warm)
                                sample["warm"].append(warm.duration_ms)
                        label = runtime.label
                    bar.update(1)
    medians = {
        key: {kind: statistics.median(values) for kind, values in kinds.items()}
        for key, kinds in samples.items()
    }
    return medians, label


def report(
    args: argparse.Namespace, medians: dict[tuple[str, int], dict[str, float]], limiter: str, label: str
) -> str:
    lines = [
        f"Local runtime {label}, init CPU {args.init_cpu}, CPU limiter {limiter}; medians in ms "
        f"(cold = init + first request, {args.cold_runs} environments; warm: {args.warm} requests)",
        "",
        f"{'MB':>5}  {'cold ours':>10}  {'cold tutorial':>13}  {'×':>5}  "
        f"{'warm ours':>9}  {'warm tutorial':>13}  {'×':>5}  {'init ours / tutorial':>20}",
    ]
    for size in args.sizes:
        ours, tutorial = medians[("ours", size)], medians[("tutorial", size)]
        lines.append(
            f"{size:>5}  {ours['cold']:>10.1f}  {tutorial['cold']:>13.1f}"
            f"  {tutorial['cold'] / ours['cold']:>5.1f}  {ours['warm']:>9.2f}  {tutorial['warm']:>13.2f}"
            f"  {tutorial['warm'] / ours['warm']:>5.1f}"
            f"  {ours['init']:>9.1f} / {tutorial['init']:>8.1f}"
        )
    if 128 in args.sizes:
        ratio = medians[("tutorial", 128)]["warm"] / medians[("ours", 128)]["warm"]
        verdict = "met" if ratio >= WARM_TARGET else "NOT met"
        lines += ["", f"Warm at 128 MB: ours is {ratio:.1f}× faster (target ≥ {WARM_TARGET:g}×: {verdict})."]
    lines.append(
        "× = tutorial / ours. Timings are this machine's CPU at each memory size's share, not Lambda's."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with private_table(TABLE) as environment:
        item = {"id": {"S": ITEM_ID}, "title": {"S": "A typical item"}}
        dynamodb_client(environment).put_item(TableName=TABLE, Item=item)
        medians, label = measure(args, environment)
    print(report(args, medians, plan_limits(min(args.sizes), args.cpu_limiter).cpu_method, label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
