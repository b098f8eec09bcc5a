"""``make load``: a bounded, headless locust run against the local stack or a deployed one.

Settings come from flags or the environment (the Makefile passes ``URL``, ``API_KEY``, ``USERS``,
``DURATION``, ``MIX``). Without ``URL`` it targets the running local stack (``.local/outputs.json``, loopback
only) or, when none runs, starts a private one for the run. Reports: ``reports/load/`` (CSV stats, failures,
HTML with throughput, percentiles and error rate), and a summary per operation on the terminal.

``PROFILE=step`` raises the users step by step instead (``STEP_USERS`` more every ``STEP_TIME``, up to
``USERS``) until a step's p99 passes ``P99_MS`` or its error rate ``MAX_ERRORS`` %, and reports the knee: the
request rate at which p99 passed the threshold. A private stack for a step run has the stage's throttling
off, so the knee is the stack's, not API Gateway's rate limit's.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

from api.names import API_KEY_HEADER
from api.stack_outputs import LOCAL_OUTPUTS, auth_headers, url_answers
from emulator.children import let_child_stop
from emulator.local_stack import LocalStack, StackSettings
from programs.steps import StepPlan, percentile, read_steps, step_report
from settings.arguments import in_range, whole
from settings.paths import LOCAL_DIR, REPO_ROOT, REPORTS_DIR
from tuning.payloads import DEFAULT_MIX, parse_mix

REPORT_DIR = REPORTS_DIR / "load"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
PRIVATE_OUTPUTS = LOCAL_DIR / "load" / "outputs.json"  # a private stack, for this run only
MAX_USERS = 200
MAX_DURATION_S = 30 * 60
MAX_REQUESTS = 1_000_000
MAX_P99_MS = 10_000
DEFAULTS = {  # per profile, when USERS and DURATION are not given
    "constant": {"users": "5", "duration": "30s"},
    "step": {"users": str(MAX_USERS), "duration": "5m"},
}
LOCUST_OVERRUN_S = 120  # start-up and the stop timeout on top of the run time
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class UsageError(ValueError):
    """A setting the user gave is out of bounds or unusable: exit code 2 with this message."""


def parse_duration(text: str) -> int:
    """``90``, ``90s``, ``2m``, ``1m30s`` → seconds, within 1 s .. 30 min."""
    match = re.fullmatch(r"\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", text)
    if not text.strip() or match is None:
        raise UsageError(f"DURATION {text!r} is not a duration like 30s, 2m or 1m30s")
    seconds = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if not 1 <= seconds <= MAX_DURATION_S:
        raise UsageError(f"DURATION must be between 1 s and {MAX_DURATION_S // 60} min, got {seconds} s")
    return seconds


def _bounded_integer(name: str, text: str, low: int, high: int) -> int:
    def message(given: str) -> str:
        return f"{name} must be an integer from {low} to {high}, got {given!r}"

    return in_range(lambda given: whole(given.strip()), low, high, message, error=UsageError)(text)


def _users(text: str) -> int:
    return _bounded_integer("USERS", text, 1, MAX_USERS)


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m programs.load", description=__doc__)
    parser.add_argument("--url", default=env.get("URL", ""), help="API base URL ending in /prod (env URL)")
    parser.add_argument("--api-key", default=env.get("API_KEY", ""), help="x-api-key for --url (env API_KEY)")
    parser.add_argument(
        "--profile",
        default=env.get("PROFILE", "constant"),
        help="constant users, or users raised step by step to find the knee (env PROFILE; constant)",
    )
    parser.add_argument(
        "--users",
        default=env.get("USERS"),
        help=f"virtual users, 1-{MAX_USERS}; the most a step run reaches (env USERS; 5, step: {MAX_USERS})",
    )
    parser.add_argument(
        "--duration",
        default=env.get("DURATION"),
        help="run time, e.g. 30s, 2m; a step run's longest (env DURATION; 30s, step: 5m)",
    )
    parser.add_argument(
        "--mix", default=env.get("MIX", DEFAULT_MIX), help=f"operation weights (env MIX; {DEFAULT_MIX})"
    )
    parser.add_argument(
        "--user-rate",
        default=env.get("USER_RATE", "10"),
        help="requests per second each user sends, 0 = back to back (env USER_RATE; 10)",
    )
    parser.add_argument(
        "--step-users", default=env.get("STEP_USERS", "2"), help="users added each step (env STEP_USERS; 2)"
    )
    parser.add_argument(
        "--step-time", default=env.get("STEP_TIME", "15s"), help="each step's length (env STEP_TIME; 15s)"
    )
    parser.add_argument(
        "--p99-ms", default=env.get("P99_MS", "100"), help="p99 that ends a step run, in ms (env P99_MS; 100)"
    )
    parser.add_argument(
        "--max-errors",
        default=env.get("MAX_ERRORS", "1"),
        help="error rate that ends a step run, in %% (env MAX_ERRORS; 1)",
    )
    parser.add_argument(
        "--max-requests",
        default=env.get("MAX_REQUESTS", "200000"),
        help=f"requests after which a step run stops, 1-{MAX_REQUESTS} (env MAX_REQUESTS; 200000)",
    )
    parser.add_argument("--outputs", type=Path, default=LOCAL_OUTPUTS, help="local stack outputs to target")
    parser.add_argument(
        "--report-dir", type=Path, default=REPORT_DIR, help="where the CSV and HTML reports go"
    )
    return parser


def _local_target(
    outputs_path: Path, stack_scope: ExitStack, *, throttling: bool
) -> tuple[str, dict[str, str]]:
    """The running local stack's URL and auth headers, or a private stack's (stage throttling as asked)
    when none answers."""
    if outputs_path.exists():
        outputs = _read_outputs(outputs_path)
        if not is_loopback(outputs["api_url"]):
            raise UsageError(
                f"{outputs_path} points at {outputs.get('api_url')!r}, not loopback; use URL= instead"
            )
        if url_answers(outputs["api_url"]):
            return outputs["api_url"], auth_headers(outputs)
        print(f"{outputs_path} is stale (nothing answers at {outputs['api_url']}); starting a private stack")
    print("No local stack running: starting a private one for this run…", flush=True)
    settings = StackSettings(port=0, outputs_path=PRIVATE_OUTPUTS, throttling=throttling)
    stack = stack_scope.enter_context(LocalStack(settings))
    return stack.outputs["api_url"], auth_headers(stack.outputs)


def _read_outputs(path: Path) -> dict:
    """The local stack's outputs, or a usage error naming the file (a crash can leave it truncated)."""
    try:
        outputs = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(outputs, dict) or not all(
            isinstance(outputs.get(k), str) for k in ("api_url", "api_key")
        ):
            raise ValueError("api_url and api_key missing")
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} is not a local stack's outputs ({error}); delete it or use URL=") from None
    return outputs


def summarize(stats_json: Path, duration_s: float) -> list[str]:
    """One line per operation and the total: requests, rate, failure %, p50/p90/p99 in ms.

    From locust's final JSON stats (its CSV is written once a second and can miss the last one)."""
    entries = json.loads(stats_json.read_text(encoding="utf-8"))
    total: dict[str, int] = {}
    for entry in entries:
        for ms, count in entry["response_times"].items():
            total[ms] = total.get(ms, 0) + count
    rows = [(e["name"], e["num_requests"], e["num_failures"], e["response_times"]) for e in entries]
    rows.append(("total", sum(r[1] for r in rows), sum(r[2] for r in rows), total))
    lines = [f"{'operation':<22} {'requests':>9} {'req/s':>7} {'fail %':>7} {'p50':>6} {'p90':>6} {'p99':>6}"]
    for name, requests, failures, histogram in rows:
        p50, p90, p99 = (percentile(histogram, q) for q in (0.5, 0.9, 0.99))
        failed_percent = 100 * failures / max(requests, 1)
        lines.append(
            f"{name:<22} {requests:>9} {requests / duration_s:>7.1f} {failed_percent:>6.1f}% "
            f"{p50:>6.0f} {p90:>6.0f} {p99:>6.0f}"
        )
    return lines


def _number(name: str, text: str, low: float, high: float, unit: str) -> float:
    def message(given: str) -> str:
        return f"{name} must be a number of {unit} from {low:g} to {high:g}, got {given!r}"

    return in_range(float, low, high, message, error=UsageError)(text)


def _step_plan(args: argparse.Namespace, users: int, duration_s: int) -> StepPlan:
    step_users = _bounded_integer("STEP_USERS", str(args.step_users), 1, MAX_USERS)
    step_s = parse_duration(str(args.step_time))
    if step_s > duration_s:
        raise UsageError(f"STEP_TIME ({step_s} s) must not be longer than DURATION ({duration_s} s)")
    return StepPlan(
        first_users=min(step_users, users),
        step_users=step_users,
        step_s=step_s,
        max_users=users,
        max_s=duration_s,
        max_requests=_bounded_integer("MAX_REQUESTS", str(args.max_requests), 1, MAX_REQUESTS),
        p99_ms=_number("P99_MS", str(args.p99_ms), 1, MAX_P99_MS, "milliseconds"),
        max_error_rate=_number("MAX_ERRORS", str(args.max_errors), 0, 100, "percent") / 100,
    )


def run(args: argparse.Namespace) -> int:
    if args.profile not in DEFAULTS:
        raise UsageError(f"PROFILE must be one of {', '.join(DEFAULTS)}, got {args.profile!r}")
    users = _users(str(args.users or DEFAULTS[args.profile]["users"]))
    user_rate = _number("USER_RATE", str(args.user_rate), 0, 1000, "requests per second")
    duration_s = parse_duration(str(args.duration or DEFAULTS[args.profile]["duration"]))
    plan = _step_plan(args, users, duration_s) if args.profile == "step" else None
    try:
        parse_mix(args.mix)
    except ValueError as error:
        raise UsageError(f"MIX: {error}") from None
    with ExitStack() as scope:
        if args.url:
            url, auth = args.url.rstrip("/"), {API_KEY_HEADER: args.api_key}
            if not args.api_key:
                raise UsageError("URL= needs API_KEY= (the stage requires x-api-key)")
        else:
            url, auth = _local_target(args.outputs, scope, throttling=plan is None)
        args.report_dir.mkdir(parents=True, exist_ok=True)
        prefix = args.report_dir / "load"
        steps_file = args.report_dir / "steps.jsonl"
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "--host", url, "--stop-timeout", "5", "--csv", str(prefix),
            "--html", str(args.report_dir / "report.html"), "--json-file", str(prefix),
            "--loglevel", "WARNING",
        ]  # fmt: skip
        environment = {
            **os.environ,
            "LOAD_AUTH_HEADERS": json.dumps(auth),
            "LOAD_MIX": args.mix,
            "LOAD_USER_RATE": str(user_rate),
            "PYTHONPATH": str(REPO_ROOT),
        }
        pace = f"{user_rate:g} requests/s each" if user_rate else "back to back"
        if plan is None:  # either way a shape in the locustfile sets the users and ends the run
            environment |= {"LOAD_USERS": str(users), "LOAD_DURATION_S": str(duration_s)}
            print(f"locust: {users} users ({pace}) for {duration_s} s against {url} (mix {args.mix})")
        else:
            environment |= {"LOAD_STEP_PLAN": plan.to_json(), "LOAD_STEPS_FILE": str(steps_file)}
            print(
                f"locust: {plan.first_users} users, {plan.step_users} more every {plan.step_s} s up to "
                f"{users} ({pace}), until p99 > {plan.p99_ms:g} ms or errors > {plan.max_error_rate:.1%}; "
                f"at most {duration_s} s and {plan.max_requests} requests, against {url} (mix {args.mix})"
            )
        sys.stdout.flush()
        stats = Path(f"{prefix}.json")
        for stale in (stats, steps_file):  # a summary must never come from an earlier run
            stale.unlink(missing_ok=True)
        started = time.monotonic()
        returncode, interrupted = _run_locust(command, environment, duration_s)
        elapsed_s = time.monotonic() - started
    if not stats.exists():
        print(f"locust wrote no statistics (exit code {returncode})", file=sys.stderr)
        return EXIT_INTERRUPTED if interrupted else 1
    # Rates over the time it ran when it ended early (Ctrl-C, a step run's threshold), else the planned time.
    print("\n".join(summarize(stats, min(elapsed_s, duration_s) if interrupted or plan else duration_s)))
    print(f"reports: {args.report_dir}/report.html, {prefix}_stats.csv, {prefix}_failures.csv")
    if interrupted:
        print("interrupted: the reports cover the run until Ctrl-C", file=sys.stderr)
        return EXIT_INTERRUPTED
    if plan is not None:
        return _report_steps(steps_file, plan)
    if returncode != 0:
        print(
            "some requests failed: see the failures file (HTTP 429 means the stage's rate or burst limit was "
            "reached, as API Gateway would; fewer USERS stay below it)",
            file=sys.stderr,
        )
    return returncode


def _report_steps(steps_file: Path, plan: StepPlan) -> int:
    """Print the steps and the knee; failing requests are what a step run looks for, so they fail it only
    when the very first step had too many (a wrong key or a stack that does not answer)."""
    steps = read_steps(steps_file)
    if not steps:
        print("no step was measured: each step must outlast its settling time", file=sys.stderr)
        return 1
    print("\n".join(step_report(steps, plan)))
    print(f"steps: {steps_file}")
    if steps[0].error_rate > plan.max_error_rate:
        print(
            f"the first step already failed {steps[0].error_rate:.1%} of its requests: see the failures file",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_locust(command: list[str], environment: dict[str, str], duration_s: int) -> tuple[int, bool]:
    """Locust's exit code, and whether Ctrl-C ended it early (it then stops its users and still writes its
    reports, which ``subprocess.run`` would cut short with SIGKILL)."""
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment)
    try:
        return process.wait(timeout=duration_s + LOCUST_OVERRUN_S), False
    except subprocess.TimeoutExpired:
        print(f"locust did not stop {LOCUST_OVERRUN_S} s after its run time; stopping it", file=sys.stderr)
        return let_child_stop(process, grace_s=0), False
    except KeyboardInterrupt:
        return let_child_stop(process), True


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before locust started (e.g. while the private stack started): it is stopped
        print("interrupted: no load was sent", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
