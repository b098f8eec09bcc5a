"""``make demo``: the whole system offline in one command, as a new user's first look.

Starts the local stack on free ports, drives a short CRUD scenario over HTTP on the REST routes and the
tutorial endpoint, runs the local power tuning through the library (``tuning.run``), executes the analysis
notebook into ``reports/power-tuning.html``, prints where everything is, the picks the run's record holds and
the top three lines of the report's plan, then stops the stack and checks that no process is left behind.
Any failed step stops the demo with its cause and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil

from analysis.stack_plan import read_plan, top_lines_text
from api.stack_outputs import auth_headers
from emulator.children import GRACE_S, let_child_stop
from emulator.local_stack import LocalStack, StackSettings
from settings.arguments import stack_argument
from settings.aws_limits import MEMORY_MB
from settings.paths import LOCAL_DIR, REPO_ROOT, REPORTS_DIR, RESULTS_DIR
from settings.stack_files import read_stack_settings
from tuning.cli import num_argument, power_values_argument
from tuning.engine.inputs import DEFAULT_POWER_VALUES, MIN_NUM
from tuning.errors import TuningError
from tuning.payloads import DEFAULT_MIX, parse_mix
from tuning.pulumi_stack import pulumi_command
from tuning.record import TuningRun
from tuning.run import Saved, run_and_save, run_request
from tuning.runners.rounds import Sampling

DEMO_OUTPUTS = LOCAL_DIR / "demo" / "outputs.json"
REPORT_PATH = REPORTS_DIR / "power-tuning.html"
SUMMARY_PATH = REPORTS_DIR / "summary.json"
PLAN_HEAD = (
    "Plan of the report, top three (reports/summary.json's `plan`; the commands are printed, never applied):"
)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class DemoStepError(RuntimeError):
    """A step of the demo did not do what it should; the message says which and why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--power-values",
        type=power_values_argument,
        default=list(DEFAULT_POWER_VALUES),
        help=f"memory sizes to tune (MB, comma-separated, {MEMORY_MB[0]}-{MEMORY_MB[1]})",
    )
    parser.add_argument(
        "--num", type=num_argument, default=20, help=f"invocations per memory size (at least {MIN_NUM}; 20)"
    )
    parser.add_argument(
        "--skip-tuning", action="store_true", help="only the HTTP scenario (no tuning, no report)"
    )
    parser.add_argument(
        "--stack",
        type=stack_argument,
        default=None,
        metavar="NAME",
        help="run on a local stack with Pulumi.NAME.yaml's settings, e.g. its apiType (default: Pulumi.yaml)",
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class ApiClient:
    """A tiny HTTP client for the demo scenario (stdlib only, JSON in and out)."""

    def __init__(self, api_url: str, auth: dict[str, str], refused: int = 403) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth  # what the front door asks for (api.stack_outputs.auth_headers)
        self.refused = refused  # its answer to a request without it

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        authenticated: bool = True,
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if authenticated:
            all_headers.update(self.auth)
        url = self.api_url + path  # the loopback gateway this demo started
        request = urllib.request.Request(url, data=data, headers=all_headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return Answer(response.status, dict(response.headers), _json_or_text(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), _json_or_text(error.read()))


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _check(label: str, answer: Answer, expected: int, summary: Callable[[Any], str] = lambda _: "") -> Answer:
    if answer.status != expected:
        raise DemoStepError(f"{label}: expected HTTP {expected}, got {answer.status}: {answer.body}")
    detail = summary(answer.body)
    print(f"  ✓ {label:<44} → {answer.status}{'  ' + detail if detail else ''}", flush=True)
    return answer


def refusal_status(outputs: dict[str, Any]) -> int:
    """What the front door answers a request without credentials: 401 from a JWT authorizer, else 403."""
    return 401 if outputs.get("api_type") == "http" and outputs.get("auth_mode") == "jwt" else 403


def run_scenario(client: ApiClient) -> None:
    """Create, read, update, list and delete through both faces of the API, and show the front door's auth
    is enforced (when it has any: an HTTP API with authMode none has none)."""
    print("REST routes (/items):", flush=True)
    if client.auth:
        label = f"GET /items without {', '.join(client.auth)}"
        _check(label, client.call("GET", "/items", authenticated=False), client.refused)
    created = _check(
        "POST /items",
        client.call("POST", "/items", {"name": "espresso", "price": 2.5, "tags": ["hot"]}),
        201,
        lambda item: f"version={item['version']} id={item['id']}",
    ).body
    item_path = f"/items/{created['id']}"
    read = _check("GET /items/{id}", client.call("GET", item_path), 200, lambda item: f"name={item['name']}")
    etag = read.headers.get("ETag") or f'"{created["version"]}"'
    _check(
        f"PATCH /items/{{id}} (If-Match {etag})",
        client.call(
            "PATCH",
            item_path,
            {"price": 2.8, "tags": None},
            {"If-Match": etag, "Content-Type": "application/merge-patch+json"},
        ),
        200,
        lambda item: f"price={item['price']} version={item['version']}",
    )
    _check(
        "PATCH /items/{id} with the stale ETag",
        client.call("PATCH", item_path, {"price": 1}, {"If-Match": etag}),
        412,
    )
    _check(
        "GET /items?limit=10",
        client.call("GET", "/items?limit=10"),
        200,
        lambda page: f"{len(page['items'])} item(s)",
    )
    _check("DELETE /items/{id}", client.call("DELETE", item_path), 204)
    _check("GET /items/{id} after delete", client.call("GET", item_path), 404)

    print("Tutorial endpoint (POST /DynamoDBManager):", flush=True)
    rpc = "/DynamoDBManager"
    key = {"id": "demo-1234ABCD"}
    _check(
        "create",
        client.call("POST", rpc, {"operation": "create", "payload": {"Item": {**key, "number": 5}}}),
        200,
    )
    _check(
        "read",
        client.call("POST", rpc, {"operation": "read", "payload": {"Key": key}}),
        200,
        lambda body: f"number={body['Item']['number']}",
    )
    update = {
        "Key": key,
        "UpdateExpression": "SET #num = :newNum",
        "ExpressionAttributeNames": {"#num": "number"},
        "ExpressionAttributeValues": {":newNum": 10},
    }
    _check(
        "update (UpdateExpression)", client.call("POST", rpc, {"operation": "update", "payload": update}), 200
    )
    _check(
        "list",
        client.call("POST", rpc, {"operation": "list", "payload": {"Limit": 10}}),
        200,
        lambda body: f"Count={body['Count']}",
    )
    _check("delete", client.call("POST", rpc, {"operation": "delete", "payload": {"Key": key}}), 200)
    _check("ping", client.call("POST", rpc, {"operation": "ping"}), 200, lambda body: json.dumps(body))


def _run_step(title: str, command: list[str], *, grace_s: float = GRACE_S) -> None:
    """Run one CLI step with its own progress output on this terminal; fail the demo if it fails."""
    print(f"\n{title}\n  $ {' '.join(command)}", flush=True)
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        returncode = process.wait()
    except KeyboardInterrupt:
        let_child_stop(process, grace_s)
        raise
    if returncode != 0:
        raise DemoStepError(f"{title} failed (exit code {returncode}); its output is above")


TUNING_TITLE = "Power tuning on the local runtime (each memory size gets its CPU share)"


def tune(outputs: dict[str, Any], power_values: list[int], num: int, stack: str | None) -> Saved:
    """The local tuning run through the library, as ``python -m tuning run --target local`` does it."""
    print(f"\n{TUNING_TITLE}:", flush=True)
    try:
        request = run_request(
            "local",
            outputs,
            power_values=power_values,
            sampling=Sampling(num),
            mix=parse_mix(DEFAULT_MIX),
            results_dir=RESULTS_DIR,
            stack=stack,
        )
        saved = run_and_save(request, outputs)
    except (ValueError, TuningError) as error:
        raise DemoStepError(f"{TUNING_TITLE} failed: {error}") from None
    print(saved.text, flush=True)
    return saved


def pick_lines(run: TuningRun, stack: str | None, current_mb: int) -> list[str]:
    """The picks the record holds, one line per strategy, with the command that applies each to ``stack``
    (None: the selected stack, as the report's commands say it); a pick of the current size says so, as the
    report does."""
    return [
        f"  {strategy:<8} {pick.power:>5} MB  {pick.duration:.1f} ms  ${pick.cost * 1e6:.3f} per million "
        "invocations  →  "
        + ("keep the current size" if pick.power == current_mb else pulumi_command(pick.power, stack))
        for strategy, pick in run.picks.items()
    ]


def plan_lines() -> list[str]:
    """The plan's top three lines as the report wrote them into summary.json: one computation, the
    report's."""
    lines = top_lines_text(read_plan(SUMMARY_PATH))
    return [f"  {line}" for line in lines] or ["  nothing to change at this traffic"]


def _leftover_processes(before: set[int]) -> list[psutil.Process]:
    """Children of this process that were not there before the stack started, after a short grace period."""
    deadline = time.monotonic() + 10
    while True:
        alive = [
            p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()
        ]
        alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    config = args.stack or read_stack_settings(None)
    stack = LocalStack(StackSettings(port=0, stack=config, outputs_path=DEMO_OUTPUTS))
    interrupted = False
    try:
        print("Starting the local stack (moto endpoint, table, Lambda runtime, API gateway)…", flush=True)
        outputs = stack.start()
        print(f"  API {outputs['api_url']} · {outputs['memory_size']} MB · AWS {outputs['endpoint_url']}\n")
        run_scenario(ApiClient(outputs["api_url"], auth_headers(outputs), refusal_status(outputs)))
        if not args.skip_tuning:
            tuning_started = time.time()
            since = datetime.fromtimestamp(tuning_started - 60, UTC).isoformat(timespec="seconds")
            saved = tune(outputs, args.power_values, args.num, config.name)
            stack.flush_telemetry()
            _run_step(
                "Analysis notebook → reports/power-tuning.html:",
                [
                    sys.executable,
                    "-m",
                    "analysis",
                    "report",
                    "--outputs",
                    str(DEMO_OUTPUTS),
                    "--since",
                    since,
                    *(["--stack", config.name] if config.name else []),
                ],
            )
            if not REPORT_PATH.exists() or REPORT_PATH.stat().st_mtime < tuning_started:
                raise DemoStepError(f"the report step did not write {REPORT_PATH}")
            print(
                "\nPicks of this run (timings emulated on this machine; apply them after tuning on AWS, then "
                "`pulumi up`):",
                *pick_lines(saved.run, config.name, int(outputs["memory_size"])),
                f"  results  {saved.path.relative_to(REPO_ROOT)}",
                f"  report   {REPORT_PATH.relative_to(REPO_ROOT)}",
                f"\n{PLAN_HEAD}",
                *plan_lines(),
                sep="\n",
            )
    except DemoStepError as error:
        print(f"\ndemo failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted: stopping the local stack…", file=sys.stderr, flush=True)
        interrupted = True
    finally:
        stack.stop()
    leftovers = _leftover_processes(before)
    if leftovers:
        print(f"demo failed: processes left behind: {[p.pid for p in leftovers]}", file=sys.stderr)
        return 1
    if interrupted:
        print("demo interrupted; the local stack is stopped and no process is left behind", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"\nLocal stack stopped, no process left behind. Demo took {time.monotonic() - started:.0f} s.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m programs.demo",
        description="Start a private local stack, drive a CRUD scenario over HTTP, run the local power "
        "tuning, write reports/power-tuning.html, print the recommendation, and stop everything.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
