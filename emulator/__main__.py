"""``python -m emulator serve``: the local stack in the foreground (the demo: ``python -m programs.demo``)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from api.stack_outputs import LOCAL_OUTPUTS, auth_headers
from emulator.environment import INIT_CPU_MODES
from emulator.faults import FAULTS, fault_argument, latency_argument, seed_argument
from emulator.limits import CPU_LIMITERS, CgroupError
from emulator.local_stack import (
    LocalStack,
    NotEmulatedError,
    PortInUseError,
    StackAlreadyRunningError,
    StackSettings,
)
from emulator.moto_server import project_schemas
from emulator.option_types import function_dir_argument
from emulator.state import DurableState, StateError
from settings.arguments import in_range
from settings.aws_limits import MEMORY_MB
from settings.stack_files import StackConfig, StackFileError, read_stack_settings
from settings.stack_settings import SettingsError

_port = in_range(int, 0, 65535, lambda text: f"{text!r} is not a TCP port (0-65535; 0 picks a free one)")
_environments = in_range(
    int, 1, 64, lambda text: f"{text!r} is not a number of execution environments from 1 to 64"
)
_memory = in_range(
    int,
    *MEMORY_MB,
    lambda text: f"{text!r} is not a memory size in Lambda's {MEMORY_MB[0]}-{MEMORY_MB[1]} MB",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="The whole stack offline, served in the foreground.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the local stack in the foreground until Ctrl-C",
        description="The local stack: API Gateway on 127.0.0.1:PORT/prod, the function at its memory size, "
        "and the emulator's AWS endpoint; writes the stack outputs (with the API key) for the other tools.",
    )
    serve.add_argument(
        "--port", type=_port, default=os.environ.get("PORT", "3000"), help="API port (env PORT; 3000)"
    )
    serve.add_argument(
        "--stack",
        default=None,
        metavar="NAME",
        help="serve with the settings of Pulumi.NAME.yaml (memory, timeout, throttling, CORS, auth mode, "
        "architecture label), checked as `pulumi up` checks them (default: Pulumi.yaml's defaults)",
    )
    serve.add_argument(
        "--memory",
        type=_memory,
        default=None,
        help="function memory in MB (default: the stack's memorySize)",
    )
    serve.add_argument(
        "--outputs",
        type=Path,
        default=LOCAL_OUTPUTS,
        help="where to write the stack outputs (default .local/outputs.json)",
    )
    serve.add_argument(
        "--function-dir",
        type=function_dir_argument,
        default=StackSettings.function_dir,
        help="the Lambda package to serve (default function/; bench/tutorial_function to compare)",
    )
    serve.add_argument(
        "--max-environments",
        type=_environments,
        default=4,
        help="concurrent execution environments, 1-64 (default 4)",
    )
    serve.add_argument(
        "--init-cpu",
        choices=INIT_CPU_MODES,
        default="boost",
        help="init with a full core (boost, default) or the memory's CPU share",
    )
    serve.add_argument(
        "--cpu-limiter",
        choices=CPU_LIMITERS,
        default="auto",
        help="how the memory size's CPU share is enforced (default auto: the first that works; "
        "none: full speed)",
    )
    serve.add_argument(
        "--no-throttling",
        dest="throttling",
        action="store_false",
        help="no stage rate/burst limits (the stack's throttleRateLimit/BurstLimit apply by default)",
    )
    serve.add_argument("--quiet", action="store_true", help="no line per request")
    serve.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the table's items in DIR across stops, kill -9 and crashes (default: memory only)",
    )
    serve.add_argument(
        "--no-reload",
        dest="reload",
        action="store_false",
        help="keep serving the code the stack started with (by default an edit to the function folder's "
        ".py files is served by new environments within a second)",
    )
    serve.add_argument(
        "--fault",
        type=fault_argument,
        action="append",
        default=[],
        metavar="NAME=PERCENT",
        help=f"inject a fault into the function's traffic in PERCENT of the chances (repeatable): "
        f"{', '.join(FAULTS)}; off by default",
    )
    serve.add_argument(
        "--fault-seed", type=seed_argument, default=None, help="seed of the faults (default random)"
    )
    serve.add_argument(
        "--dynamodb-latency-ms",
        type=latency_argument,
        default=0,
        help="added to each of the function's DynamoDB requests (default 0)",
    )
    return parser


def _access_line(method: str, path: str, status: int, elapsed_ms: float) -> None:
    print(f"{method:6} {path} → {status} ({elapsed_ms:.1f} ms)", flush=True)


def _stack_config(stack: str | None) -> StackConfig:
    """The named stack's settings, or a usage error with the message `pulumi up` would give."""
    try:
        return read_stack_settings(stack)
    except (StackFileError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _reload_line(file_name: str) -> None:
    print(f"function changed ({file_name}): new environments from now on", flush=True)


def serve(args: argparse.Namespace) -> int:
    settings = StackSettings(
        stack=_stack_config(args.stack),
        port=args.port,
        memory_mb=args.memory,
        outputs_path=args.outputs,
        function_dir=args.function_dir,
        max_environments=args.max_environments,
        init_cpu=args.init_cpu,
        cpu_limiter=args.cpu_limiter,
        throttling=args.throttling,
        faults=dict(args.fault),
        fault_seed=args.fault_seed,
        dynamodb_latency_ms=args.dynamodb_latency_ms,
        reload=args.reload,
        state_dir=args.state,
    )
    if args.state is not None:
        try:  # refused here, with exit 2, before anything starts
            DurableState.open(args.state, project_schemas()).close()
        except (StateError, OSError) as error:
            print(f"error: --state {args.state}: {error}", file=sys.stderr)
            return 2
    stop = threading.Event()
    # SIGHUP: the terminal closed. Stop as cleanly as on Ctrl-C, so no stale outputs file is left behind.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stack = LocalStack(settings, on_request=None if args.quiet else _access_line, on_reload=_reload_line)
    except NotEmulatedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        outputs = stack.start()
    except (PortInUseError, StackAlreadyRunningError, CgroupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as error:  # a part that would not start (moto, a worker): say which, why
        print(f"error: the local stack could not start: {error}", file=sys.stderr)
        return 1
    try:
        _banner(stack, outputs, settings.outputs_path)
        stop.wait()
        print("stopping the local stack…", flush=True)
    finally:
        stack.stop()
    if stack.faults.active:
        print(stack.faults.summary(), flush=True)
    return 0


def _settings_line(stack: LocalStack) -> str:
    """Which stack's settings are served, and those a client notices."""
    bucket = stack.throttle
    throttle = f"{bucket.rate:g} req/s, burst {bucket.burst}" if bucket is not None else "off"
    return (
        f"{stack.settings.stack.source}: throttling {throttle}, CORS {stack.cors_origin or 'off'}, "
        f"timeout {stack.timeout_s:g} s, architecture {stack.architecture} (a label)"
    )


def _banner(stack: LocalStack, outputs: dict, outputs_path: Path) -> None:
    shown = ("cpu_limiter", "cpu_share", "memory_limit", "init_cpu")
    emulation = ", ".join(f"{key}={stack.emulation[key]}" for key in shown if key in stack.emulation)
    latency_ms = stack.settings.dynamodb_latency_ms
    state = (
        f"{stack.settings.state_dir} (every acknowledged write fsynced; survives stops, kill -9, crashes)"
        if stack.settings.state_dir is not None
        else "memory only: the items go when the stack stops (--state DIR keeps them)"
    )
    reload = (
        f"on: edits to {stack.settings.function_dir.name}/*.py are served by new environments (--no-reload)"
        if stack.settings.reload
        else "off: restart to serve edits"
    )
    faults = (
        f"  faults     {stack.faults.describe()}"
        f"{f', DynamoDB +{latency_ms} ms' if latency_ms else ''} (the function's traffic only)\n"
        if stack.faults.active or latency_ms
        else ""
    )
    print(
        f"local stack ready (Ctrl-C stops it)\n"
        f"  settings   {_settings_line(stack)}\n"
        f"  API        {outputs['api_url']}  (routes from api/openapi.yaml)\n"
        f"{_front_door_lines(stack, outputs)}"
        f"  function   {outputs['function_name']}, {outputs['memory_size']} MB ({emulation or 'emulated'})\n"
        f"  runtime    {stack.emulation['runtime']}  (AWS's runtime interface client, .lambda-venv)\n"
        f"  AWS        {outputs['endpoint_url']}  (moto: DynamoDB, CloudWatch, Logs, Step Functions)\n"
        f"{faults}"
        f"  state      {state}\n"
        f"  reload     {reload}\n"
        f"  outputs    {outputs_path}\n"
        f"{_try_lines(outputs)}",
        flush=True,
    )


def _front_door_lines(stack: LocalStack, outputs: dict) -> str:
    """Which API Gateway is emulated, what a client must send, and what is not verified locally."""
    door = stack.front_door
    kind = "HTTP API (payload 2.0, no request validation)" if door.http else "REST API (payload 1.0)"
    if door.http:
        auth = {
            "none": "none needed (authMode none)",
            "iam": "a SigV4 Authorization header (authMode iam)",
            "jwt": "a Bearer token (authMode jwt)",
        }[door.auth_mode]
    elif door.auth_mode == "api_key":
        auth = f"{outputs['api_key']}  (header x-api-key)"
    else:
        auth = "none needed (authMode none)"
    caveat = door.caveat()
    return f"  front door {kind}\n  auth       {auth}\n" + (f"  caveat     {caveat}\n" if caveat else "")


def _try_lines(outputs: dict) -> str:
    headers = "".join(f'-H "{name}: {value}" ' for name, value in auth_headers(outputs).items())
    return f'  try        curl {headers}"{outputs["api_url"]}/items"'


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
