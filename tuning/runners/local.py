"""Power Tuning without AWS: run the same experiment on the local Lambda runtime, one memory size at a time.

For each power value a fresh ``emulator.runtime.LambdaRuntime`` (new environments, the first invocation cold)
gives the function that memory's CPU share of this machine; the ``num`` events of the execution input run
serially, or at once with ``parallelInvocation``. The durations then go through
``tuning.engine.analyzer.build_output``, the code that reproduces Power Tuning's arithmetic, so a local result
has the tool's exact output schema. Everything measured here is labelled as emulated: the timings are this
machine's CPU, not Lambda's.
"""

from __future__ import annotations

import contextlib
import functools
import json
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from api.access_log import Answer, access_log_line
from api.events import HTTP_PAYLOAD
from api.names import LOCAL_TABLE_NAME
from api.wire_sizes import log_bytes, request_bytes, response_bytes, wire_request
from emulator.environment import INIT_CPU_MODES as INIT_CPU_MODES  # the CLI's choices, re-exported
from emulator.environment import check_init_cpu
from emulator.gateway import HttpResponse, integration_response
from emulator.invocations import Invocation
from emulator.limits import CPU_LIMITERS as CPU_LIMITERS  # the CLI's choices, re-exported: one list
from emulator.limits import cpu_share, host_cores, plan_limits
from emulator.runtime import LambdaRuntime
from emulator.runtime import check_function_dir as check_function_dir  # the CLI's check, re-exported
from emulator.table_setup import function_environment, private_table
from settings.paths import FUNCTION_DIR
from settings.stack_files import read_stack_settings
from tuning.errors import TuningError
from tuning.payloads import expand_payloads
from tuning.record import ExecutionInput
from tuning.results import InvocationRecord
from tuning.runners.request import Finished, Priced, RunRequest, finished
from tuning.runners.rounds import RoundReport, RoundResult, merged_note, merged_output, sample

# Said in every local results file beside the figures, so nobody reads them as Lambda's.
EMULATION_NOTE = "timings are this machine's CPU, not Lambda's; the price uses the configured architecture"


@dataclass(frozen=True)
class _Target:
    """The function as the runner emulates it: how its record names and prices it, its timeout."""

    priced: Priced
    timeout_s: float
    memory_mb: int  # its configured memory, which the seeding runs with (on AWS: the live alias)
    tracing: bool  # the stage traces with X-Ray: its access log line carries the trace id


def host_cpu_model() -> str:
    """The CPU model the timings come from (/proc/cpuinfo on Linux)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def parallel_environments(num: int, memory_mb: int, cores: int) -> int:
    """How many environments run at once in parallel mode: all ``num`` as Power Tuning does, unless their CPU
    shares together would exceed this machine's cores, which would make each slower than its share."""
    per_environment = min(cpu_share(memory_mb), 1.0)  # a Python handler uses at most one core
    return max(1, min(num, int(cores / per_environment)))


def _target(request: RunRequest, outputs: dict | None) -> _Target:
    """The function tuned: the running local stack's, else the ARN's with the project's settings."""
    execution_input, outputs = request.execution_input, outputs or {}
    stack = read_stack_settings(None).settings  # what the running local stack's outputs do not say
    priced = Priced(
        function_name=outputs.get("function_name") or execution_input.function_name,
        region=outputs.get("region") or execution_input.price_region,
        price_region=execution_input.price_region,
        architecture=outputs.get("architecture") or stack.architecture,
        api_type=request.api_type,
    )
    memory_mb = int(outputs.get("memory_size") or stack.memory_size)
    return _Target(priced, timeout_s=float(stack.timeout), memory_mb=memory_mb, tracing=stack.tracing)


@contextlib.contextmanager
def _dynamodb(outputs: dict | None, region: str) -> Iterator[dict[str, str]]:
    """The function's environment (``function_environment``): the running local stack's endpoint and table,
    or a private moto server's with a fresh table (stopped at the end, also on errors and Ctrl-C)."""
    if outputs and outputs.get("endpoint_url"):
        yield function_environment(outputs["endpoint_url"], outputs["table_name"], region)
        return
    with private_table((outputs or {}).get("table_name") or LOCAL_TABLE_NAME, region) as environment:
        yield environment


class _WireSizes(NamedTuple):
    """Bytes of one API request through the front door (``api.wire_sizes``); None for an event no front door
    sends (a direct Invoke)."""

    request: int | None = None
    response: int | None = None
    access_log: int | None = None


def _gateway_message(response: HttpResponse) -> str | None:
    """The message of the front door's own answer (its access log's ``$context.error.message``)."""
    return json.loads(response.body)["message"] if response.from_gateway else None


def _wire_sizes(event: Any, invocation: Invocation, duration_ms: float, traced: bool) -> _WireSizes:
    request = wire_request(event)
    if request is None:
        return _WireSizes()
    http_api = request.payload_format == HTTP_PAYLOAD
    response = integration_response(invocation, http_api=http_api, request_id=request.request_id)
    answer = Answer(
        status=response.status,
        body_bytes=len(response.body),
        latency_ms=round(duration_ms),
        error_message=_gateway_message(response),
        traced=traced,
    )
    return _WireSizes(
        request=request_bytes(request),
        response=response_bytes(response.status, response.headers, response.body),
        access_log=log_bytes([access_log_line(request, answer)]),
    )


def _record(power: int, event: Any, invocation: Invocation, *, traced: bool) -> InvocationRecord:
    """One invocation as the results file keeps it; ``duration_ms`` is what Power Tuning counts (Duration +
    Init Duration), ``billed_ms`` the REPORT line's Billed Duration; the bytes are what the bill's front door
    and CloudWatch Logs count (``log_bytes``: the function's lines and the platform's)."""
    duration_ms = invocation.duration_ms + (invocation.init_ms or 0.0)
    wire = _wire_sizes(event, invocation, duration_ms, traced)
    return {
        "power": power,
        "duration_ms": duration_ms,
        "billed_ms": invocation.billed_ms,
        "init_ms": invocation.init_ms,
        "max_memory_used_mb": invocation.max_memory_used_mb,
        "error": invocation.error,
        "cold": invocation.cold,
        "report": invocation.report_line,
        "request_bytes": wire.request,
        "response_bytes": wire.response,
        "log_bytes": log_bytes(invocation.log_lines),
        "access_log_bytes": wire.access_log,
    }


def _seed(runtime: LambdaRuntime, events: Sequence[dict]) -> None:
    """Create the items the payloads read (unmeasured); a failing seed stops the run, as on AWS."""
    for event in events:
        invocation = runtime.invoke(event)
        body = invocation.payload if isinstance(invocation.payload, dict) else {}
        status = body.get("statusCode")
        if invocation.error is not None or not isinstance(status, int) or status >= 300:
            detail = invocation.error or json.dumps(body)[:500]
            raise TuningError(f"Seeding {event.get('path')} failed on the local runtime: {detail}")


def failure_cause(invocation: Invocation, allowed: Sequence[str]) -> str | None:
    """Why an invocation fails its memory size (its ``errorType: errorMessage``); None when it succeeded or
    its errorType is in ``allowedExceptions`` (counted, as the tool's Executor does)."""
    error = invocation.error
    if error is None or error["errorType"] in allowed:
        return None
    return f"{error['errorType']}: {error['errorMessage']}"


def _invocations(
    runtime: LambdaRuntime,
    fresh_runtime: Callable[[], LambdaRuntime],
    events: Sequence[Any],
    execution_input: ExecutionInput,
) -> Iterator[Invocation]:
    """The invocations of one memory size, yielded as they finish (in order)."""
    mode = execution_input.mode
    if mode == "onlyColdStarts":
        for event in events:  # each in a new environment, as the tool's one alias per invocation
            with fresh_runtime() as cold:
                yield cold.invoke(event)
    elif mode == "parallel":
        with ThreadPoolExecutor(max_workers=runtime.max_environments) as pool:
            yield from pool.map(runtime.invoke, events)
    else:
        for event in events:
            yield runtime.invoke(event)
            time.sleep(execution_input.sleep_between_runs_ms / 1000)


def _measure_power(
    fresh_runtime: Callable[[], LambdaRuntime],
    power: int,
    events: Sequence[Any],
    execution_input: ExecutionInput,
    on_invocation: Callable[[dict], Any] | None,
    traced: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    """One memory size in a fresh runtime: (how it was emulated, its invocation records, why it failed).

    The first failing invocation ends the size, as it ends the tool's Executor: another try at a size that
    timed out would cost the whole timeout again, and one that ran out of memory will again. Its record is
    kept (the table counts it)."""
    records: list[dict[str, Any]] = []
    with fresh_runtime() as runtime:
        cause = None
        with contextlib.closing(_invocations(runtime, fresh_runtime, events, execution_input)) as invocations:
            for event, invocation in zip(events, invocations, strict=True):
                records.append(_record(power, event, invocation, traced=traced))
                if on_invocation is not None:
                    on_invocation(records[-1])
                cause = failure_cause(invocation, execution_input.allowed_exceptions)
                if cause is not None:
                    break
        return _power_facts(power, runtime), records, cause  # after the runs: the runtime they reported


def _checked_target(request: RunRequest, outputs: dict | None, function_dir: Path) -> _Target:
    """Everything checked before any server or process starts; ValueError for bad options."""
    target = _target(request, outputs)
    check_init_cpu(request.init_cpu)
    check_function_dir(function_dir)
    # an unknown or unusable limiter fails now, not mid-run
    plan_limits(min(request.execution_input.power_values), request.cpu_limiter)
    return target


def run_local(
    request: RunRequest,
    outputs: dict | None,
    *,
    seed: Sequence[dict] = (),
    on_invocation: Callable[[dict], Any] | None = None,
    on_round: Callable[[RoundReport], Any] | None = None,
) -> Finished:
    """Run Power Tuning's experiment for ``request.execution_input`` on the local runtime; return its record.

    ``outputs`` are the running local stack's (its moto endpoint and table are used) or None (a private moto
    server with a fresh table is started and always stopped). ``request.sampling`` sets the rounds
    (``--num auto``: ``tuning.runners.rounds``). Before each round the ``seed`` events run, unmeasured.
    ``on_invocation(record)`` is called after each measured invocation, ``on_round`` after each round. A size
    whose invocation fails (error, timeout, out of memory) is set aside with its cause and the others go on.
    Raises ValueError for bad options and TuningError when no size worked.
    """
    execution_input = request.execution_input
    function_dir = Path(request.function_dir or FUNCTION_DIR)
    target = _checked_target(request, outputs, function_dir)
    priced = target.priced
    cores = host_cores()
    started = datetime.now(UTC)
    per_power: dict[int, dict[str, Any]] = {}
    with _dynamodb(outputs, priced.region) as environment:

        def fresh_runtime(power: int, num: int) -> Callable[[], LambdaRuntime]:
            parallel = execution_input.mode == "parallel"
            environments = parallel_environments(num, power, cores) if parallel else 1
            return functools.partial(
                LambdaRuntime,
                function_name=priced.function_name,
                memory_mb=power,
                environment=environment,
                function_dir=function_dir,
                timeout_s=target.timeout_s,
                init_cpu=request.init_cpu,
                cpu_limiter=request.cpu_limiter,
                max_environments=environments,
            )

        def measure(power_values: list[int], num: int) -> RoundResult:
            events = expand_payloads(execution_input.payload, num)
            if seed:  # before each round, as the items may have changed; in environments of its own
                with fresh_runtime(target.memory_mb, num)() as seeding:
                    _seed(seeding, seed)
            result = RoundResult()
            for power in power_values:
                facts, records, cause = _measure_power(
                    fresh_runtime(power, num), power, events, execution_input, on_invocation, target.tracing
                )
                per_power.setdefault(power, facts)
                result.records.extend(records)
                if cause is not None:
                    result.failed[power] = cause
            return result

        sampled = sample(
            execution_input.power_values,
            measure,
            request.sampling,
            execution_input=execution_input,
            architecture=priced.architecture,
            region=priced.price_region,
            on_round=on_round,
        )
    output = merged_output(
        sampled,
        execution_input,
        [(len(r["powerValues"]), r["num"]) for r in sampled.rounds],
        architecture=priced.architecture,
        region=priced.price_region,
    )
    facts = [per_power[p] for p in execution_input.power_values]
    rounds = len(sampled.rounds)
    return finished(
        request,
        priced,
        sampled,
        started=started,
        ended=datetime.now(UTC),
        output=output,
        invocations=sampled.invocations,
        notes=[merged_note(sampled, rounds, "the invocations")] if rounds > 1 else [],
        emulation=_emulation(execution_input.mode, priced.architecture, facts, request.init_cpu, cores),
        extra={"function_dir": _shown(function_dir)},
    )


def _shown(path: Path) -> str:
    """A folder as people would type it: relative to the working directory when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(Path.cwd())) if resolved.is_relative_to(Path.cwd()) else str(resolved)


def _emulation(
    mode: str, architecture: str, per_power: list[dict[str, Any]], init_cpu: str, cores: int
) -> dict:
    """How this run emulated Lambda, for the results file: it is what makes a local figure honest."""
    return {
        "emulated": True,
        "note": EMULATION_NOTE,
        "runtime": per_power[0]["runtime"],
        "cpu_limiter": per_power[0]["cpu_limiter"],
        "memory_limit": per_power[0]["memory_limit"],
        "init_cpu": init_cpu,
        "mode": mode,
        "host_cpu": host_cpu_model(),
        "host_cores": cores,
        "architecture_priced": architecture,
        "per_power": per_power,
    }


def _power_facts(power: int, runtime: LambdaRuntime) -> dict[str, Any]:
    """How one memory size was emulated: CPU share, the cap and its period, the memory limit, parallelism."""
    facts = runtime.emulation
    keys = ("runtime", "cpu_limiter", "cpu_share", "cpu_cores_allowed", "cpu_period_ms", "memory_limit")
    return {"power": power, **{key: facts[key] for key in keys}, "environments": runtime.max_environments}
