"""The Runtime API round trip per invocation: a no-op handler through the local runtime vs called directly.

A no-op handler's Duration is all platform and client: the event handed out by ``next``, the runtime
interface client's context and JSON work, the result posted back. It is measured per memory size (each at
its CPU share) in alternating rounds, so drift on the shared machine hits every size alike, beside the same
handler called directly in this process. Target: at most 1 ms at 1769 MB (one full core).

    .venv/bin/python -m programs.bench.runtime_api_roundtrip [--sizes 128,1769] [--invocations 300]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from emulator.limits import plan_limits
from emulator.runtime import LambdaRuntime
from programs.bench.cold import _positive, _sizes

FUNCTION_DIR = Path(__file__).resolve().parent / "noop_function"
DEFAULT_SIZES = (128, 1769)
ROUNDS = 10
TARGET_MS = 1.0
TARGET_MB = 1769


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES), help="memory sizes in MB")
    parser.add_argument("--invocations", type=_positive, default=300, help="warm invocations per size")
    return parser.parse_args(argv)


def direct_call_ms(calls: int) -> float:
    """The median time of calling the no-op handler in this process: what remains without the round trip."""
    spec = importlib.util.spec_from_file_location("noop_app", FUNCTION_DIR / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        module.lambda_handler({}, None)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(args: argparse.Namespace) -> tuple[dict[int, list[float]], str]:
    """Warm Durations per size (ms), and the runtime they ran on."""
    durations: dict[int, list[float]] = {size: [] for size in args.sizes}
    per_round = max(1, args.invocations // ROUNDS)
    with ExitStack() as stack:
        runtimes = {
            size: stack.enter_context(
                LambdaRuntime(
                    function_name="bench-noop",
                    memory_mb=size,
                    environment={},
                    function_dir=FUNCTION_DIR,
                    max_environments=1,
                )
            )
            for size in args.sizes
        }
        for runtime in runtimes.values():
            if runtime.invoke({}).error is not None:  # the cold start, not measured
                raise SystemExit(f"the no-op function failed at {runtime.memory_mb} MB")
        with tqdm(total=per_round * ROUNDS * len(args.sizes), desc="invocations", unit="inv") as bar:
            for _ in range(ROUNDS):
                for size, runtime in runtimes.items():
                    for _ in range(per_round):
                        durations[size].append(runtime.invoke({}).duration_ms)
                        bar.update(1)
        label = next(iter(runtimes.values())).label
    return durations, label


def report(durations: dict[int, list[float]], direct_ms: float, label: str, limiter: str) -> str:
    lines = [
        f"Runtime API round trip, {label}, CPU limiter {limiter}; no-op handler Duration in ms",
        "",
        f"{'MB':>5}  {'median':>8}  {'p90':>8}  {'direct call':>11}  {'overhead':>8}",
    ]
    for size, values in durations.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        lines.append(
            f"{size:>5}  {median:>8.3f}  {p90:>8.3f}  {direct_ms:>11.4f}  {median - direct_ms:>8.3f}"
        )
    if TARGET_MB in durations:
        overhead = statistics.median(durations[TARGET_MB]) - direct_ms
        verdict = "met" if overhead <= TARGET_MS else "NOT met"
        lines += [
            "",
            f"At {TARGET_MB} MB the round trip costs {overhead:.3f} ms "
            f"(target ≤ {TARGET_MS:g} ms: {verdict}).",
        ]
    lines.append("Timings are this machine's CPU at each memory size's share, not Lambda's.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    durations, label = measure(args)
    direct = direct_call_ms(args.invocations)
    print(report(durations, direct, label, plan_limits(min(args.sizes)).cpu_method))
    return 0


if __name__ == "__main__":
    sys.exit(main())
