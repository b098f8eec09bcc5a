"""A local Lambda runtime: the function runs in execution environments with a memory size's CPU share.

Each execution environment is a process running AWS's runtime interface client, ``python -m awslambdaric
app.lambda_handler``, on the runtime's Python (``emulator.lambda_python``: Lambda's 3.13 when this machine
has it), with the function folder as ``LAMBDA_TASK_ROOT`` and working directory and Lambda's environment
variables. It talks to its own local Runtime API (``emulator.runtime_api``), so the function is loaded, run,
logged and its errors reported by the same code as in Lambda. The platform's part is here, as Lambda does
it: init is timed from process start to the client's first ``next``; the CPU is capped at ``memory / 1769``
of a core and the memory at the memory size (``emulator.limits``); a timeout, a crash or a memory overrun
discards the environment; an init error fails the invocation and the next one starts a fresh environment;
and every invocation yields Lambda's START / END / REPORT log lines around the function's own output. Used
by the local power-tuning runner (one runtime per memory size) and the local API gateway.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import json
import math
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from api.names import DEFAULT_REGION, HANDLER, LAMBDA_RUNTIME, LOCAL_ACCOUNT_ID
from emulator.lambda_python import LambdaPython, label_from_user_agent, lambda_python
from emulator.limits import CgroupError, EnvironmentLimits, host_cores, plan_limits
from emulator.runtime_api import (
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    Event,
    InitFailed,
    Ready,
    RequestTooLargeError,
    Result,
    RuntimeApi,
    Started,
)
from settings.paths import FUNCTION_DIR


def check_function_dir(function_dir: Path, handler: str = HANDLER) -> None:
    """ValueError unless ``function_dir`` holds ``handler``'s module, the one check of a function folder for
    the runtime, ``serve``, ``chaos`` and the local tuning run alike."""
    module_file = handler.rpartition(".")[0].replace(".", "/") + ".py"
    if not Path(function_dir).is_dir():
        raise ValueError(f"{str(function_dir)!r} does not exist or is not a directory")
    if not (Path(function_dir) / module_file).is_file():
        raise ValueError(
            f"{str(function_dir)!r} holds no {module_file} (no handler module for {handler!r}): the runtime "
            "loads the handler from the function folder, as Lambda does"
        )


def function_dir_argument(text: str) -> Path:
    """An argparse type for ``--function-dir`` (serve, chaos): a folder ``check_function_dir`` accepts."""
    try:
        check_function_dir(Path(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return Path(text)


INIT_LIMIT_S = 10.0  # Lambda's init phase limit; a slower init is retried within the invoke, so we allow both
INIT_CPU_MODES = ("boost", "capped")
# The "lambda-init-error" fault starts the client on a handler module that does not exist: the environment
# then fails its init exactly as a broken deployment does (Runtime.ImportModuleError), through the client.
INJECTED_INIT_ERROR_MODULE = "injected_fault_lambda_init_error"
_RSS_POLL_S = 0.05
_LOG_DRAIN_S = 5.0
_MARKER = "\x1e"  # ends the log lines of one phase; written by the runtime into the environment's log pipe
_KILLED = -signal.SIGKILL


class Faults(Protocol):
    """Fault injection (``emulator.faults``): ``fire(name)`` is True when the named fault happens now.

    The runtime asks "lambda-crash" once per invocation, after the environment received the event (the
    process is then killed mid-request), and "lambda-init-error" once per new environment."""

    def fire(self, name: str) -> bool: ...


@dataclass
class Invocation:
    """One invocation's result and telemetry.

    On failure ``error`` is ``{"errorType", "errorMessage"}`` and ``payload`` is Lambda's error document (what
    the Invoke API returns as the payload of a function error); otherwise ``payload`` is the handler's result.
    ``timed_out`` and ``out_of_memory`` tell the platform's two failures apart from the function's own.
    """

    request_id: str
    payload: Any
    error: dict | None
    duration_ms: float
    billed_ms: int
    init_ms: float | None
    memory_mb: int
    max_memory_used_mb: int
    report_line: str
    log_lines: list[str]  # INIT_START and init output when cold, START, the function's lines, END, REPORT
    cold: bool
    log_stream: str = ""  # the environment's CloudWatch log stream name, e.g. 2026/11/27/[$LATEST]3f2a…
    timed_out: bool = False
    out_of_memory: bool = False

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else self.error["errorType"]

    @property
    def error_message(self) -> str | None:
        return None if self.error is None else self.error["errorMessage"]


def report_line(
    request_id: str,
    duration_ms: float,
    billed_ms: int,
    memory_mb: int,
    max_memory_used_mb: int,
    init_ms: float | None = None,
    status: str = "",
) -> str:
    """Lambda's text-format REPORT line; ``status`` adds Lambda's trailing fields for failed environments."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        fields.append(status)
    return "\t".join(fields)


def billed_duration(duration_ms: float) -> int:
    """Lambda bills the invoke phase in whole ms, rounded up.

    Since 2025-08 AWS bills the INIT phase of managed runtimes too; like Lambda's REPORT line we keep Init
    Duration a separate field rather than folding it into Billed Duration: the reader decides how to price it.
    """
    return max(1, math.ceil(duration_ms))


def check_init_cpu(init_cpu: str) -> None:
    """ValueError unless ``init_cpu`` is a mode the runtime knows (callers check before starting anything)."""
    if init_cpu not in INIT_CPU_MODES:
        raise ValueError(f"init_cpu must be one of {', '.join(INIT_CPU_MODES)}; got {init_cpu!r}")


def peak_rss_kb(pid: int) -> int:
    """A process's peak resident memory (Lambda's Max Memory Used), in KiB; 0 once it is gone.

    VmHWM belongs to the program's own memory map; ``ru_maxrss`` would not do on Linux, as it keeps the peak
    of the process it was forked from (the runtime's, often larger than the memory size) across exec."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _trace_id() -> str:
    """An X-Ray trace header as Lambda sends it (the function is not sampled locally)."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


# Environments are started from one long-lived thread: each asks the kernel to kill it when its parent
# *thread* dies (setpriv --pdeathsig), so one forked from a short-lived request thread would die with it.
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")


# An uncapped ("boost") init takes a whole core. Lambda inits each environment on its own hardware; here
# parallel cold starts would share the host's cores and each would measure the others' load, so at most one
# boost init per core runs at a time (the wait for a slot is not part of Init Duration).
_init_slots = threading.Semaphore(host_cores())


def _spawn(command: list[str], **popen_kwargs: Any) -> subprocess.Popen[bytes]:
    return _spawner.submit(subprocess.Popen, command, **popen_kwargs).result()


def _pump(fd: int, sink: queue.Queue[str | None]) -> None:
    """Move each line of the log pipe into ``sink``; None marks the end (every writer closed)."""
    with open(fd, "rb") as stream:
        for raw in stream:
            sink.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
    sink.put(None)


def _exit_message(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        name = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGTERM: "terminated"}
        return f"signal: {name.get(-returncode, signal.Signals(-returncode).name.lower())}"
    return f"exit status {returncode}"


@dataclass(frozen=True)
class _Exited:
    """The environment's process ended."""

    returncode: int


_Message = Ready | InitFailed | Started | Result | _Exited


@dataclass
class _Outcome:
    """What one invocation (or init) of an environment came to."""

    payload_text: str | None = None
    error: dict | None = None
    duration_ms: float = 0.0
    max_rss_kb: int = 0
    log_lines: list[str] = field(default_factory=list)
    report_status: str = ""  # Lambda's trailing REPORT fields when the environment failed
    healthy: bool = True  # False: discard the environment
    timed_out: bool = False
    out_of_memory: bool = False


class _Environment:
    """One execution environment: the client's process, its Runtime API, its limits and its log."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime
        self.log_stream = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.limits: EnvironmentLimits = runtime.plan.new_environment(
            cap_from_start=runtime.init_cpu == "capped"
        )
        self._messages: queue.Queue[_Message] = queue.Queue()
        self.api = RuntimeApi(self._messages.put)
        self.process: subprocess.Popen[bytes] | None = None
        self.label: str | None = None  # the client's runtime, from its User-Agent
        self._logs: queue.Queue[str | None] = queue.Queue()
        # The process's stdout and stderr, one pipe in order, as Lambda captures them; the runtime keeps the
        # write end too, to mark where each phase's lines end (the reader stops when both ends are closed).
        log_read, self._log_write = os.pipe()
        self._log_lock = threading.Lock()  # the write end is closed once, never while a marker is written
        self._log_open = True
        threading.Thread(target=_pump, args=(log_read, self._logs), daemon=True, name="lambda-log").start()
        self._killed_for_memory = False
        self.max_rss_kb = 0
        self.generation = runtime.generation  # the code it loads: environments of an older one are retired

    def start(self) -> tuple[float, _Outcome]:
        """Start the client and wait for its init: (init ms, outcome with the init log and any init error)."""
        runtime = self.runtime
        handler = runtime.handler
        if runtime.faults is not None and runtime.faults.fire("lambda-init-error"):
            handler = f"{INJECTED_INIT_ERROR_MODULE}.{handler.rpartition('.')[2]}"
        # -B: Lambda's task root is read-only, so its modules are compiled at every cold start, not cached.
        client = [str(runtime.python.executable), "-B", "-m", "awslambdaric", handler]
        started = time.monotonic()
        self.process = _spawn(
            self.limits.wrap(["setpriv", "--pdeathsig", "KILL", "--", *client]),
            env=runtime.environment_variables(self.log_stream, self.api.address, handler),
            cwd=runtime.function_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_write,
            stderr=self._log_write,
            start_new_session=True,  # Ctrl-C in the terminal is the runtime's to handle, not the function's
        )
        self.limits.attach(self.process.pid)
        threading.Thread(target=self._watch, daemon=True, name="lambda-exit").start()

        message = self._await(started + INIT_LIMIT_S + runtime.timeout_s)
        if isinstance(message, Ready):
            init_ms = (message.at - started) * 1000
            self._mark("init")
            self.limits.cap_cpu()
            self.label = label_from_user_agent(message.user_agent)
            self.max_rss_kb = peak_rss_kb(self.process.pid)
            return init_ms, _Outcome(log_lines=self._collect_logs("init"))
        init_ms = (time.monotonic() - started) * 1000
        if isinstance(message, InitFailed):
            self.kill()  # the client exits after posting; no need to wait for it
            self._mark("init")
            error = _error_document(message.body, message.error_type)
            outcome = _Outcome(error=error, log_lines=self._collect_logs("init"), healthy=False)
            outcome.report_status = f"Status: error\tError Type: {error['errorType']}"
            return init_ms, outcome
        self.kill()
        setup_failure = self.limits.describe_exit(self.process.returncode)
        if setup_failure:
            raise CgroupError(setup_failure)
        return init_ms, self._failure(message == "timeout", "", init_ms, INIT_LIMIT_S + runtime.timeout_s)

    def _watch(self) -> None:
        assert self.process is not None
        self._messages.put(_Exited(self.process.wait()))

    def kill(self) -> None:
        """Kill the process (SIGKILL works on a SIGSTOPped one too) and reap it."""
        self.limits.detach()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        """Discard the environment: end the process and its Runtime API, then its limits (cgroups can only
        go once it is gone)."""
        self.api.close()
        self.kill()
        with self._log_lock:
            if self._log_open:
                self._log_open = False
                os.close(self._log_write)  # the log's reader ends once the process's copy is gone too
        self.limits.close()

    def run(self, request_id: str, body: bytes) -> _Outcome:
        """Hand one event to the client and wait for its result, a timeout, a crash or a memory overrun."""
        runtime = self.runtime
        timeout_s = runtime.timeout_s
        deadline = time.monotonic() + timeout_s
        event = Event(
            request_id=request_id,
            body=body,
            deadline_ms=int(time.time() * 1000 + timeout_s * 1000),
            function_arn=runtime.function_arn,
            trace_id=_trace_id(),
        )
        self.limits.busy()
        self.api.deliver(event)
        started = time.monotonic()
        message = self._await(deadline)
        if isinstance(message, Started):
            started = message.at
            if runtime.faults is not None and runtime.faults.fire("lambda-crash"):
                self.kill()
            message = self._await(deadline)
        self.limits.idle()
        if isinstance(message, Result):
            self.max_rss_kb = max(self.max_rss_kb, peak_rss_kb(self.process.pid) if self.process else 0)
            if not self._over_memory(self.max_rss_kb):
                return self._result(message, started)
            self._killed_for_memory = True
        self.kill()
        return self._failure(message == "timeout", request_id, (time.monotonic() - started) * 1000, timeout_s)

    def _result(self, result: Result, started: float) -> _Outcome:
        """The outcome of an event the client answered."""
        self._mark(result.request_id)
        outcome = _Outcome(
            duration_ms=(result.at - started) * 1000,
            max_rss_kb=self.max_rss_kb,
            log_lines=self._collect_logs(result.request_id),
        )
        if result.kind == "response":
            outcome.payload_text = result.body.decode("utf-8", "replace")
        elif result.kind == "error":
            outcome.error = _error_document(result.body, result.error_type)
        else:  # over the limit: the client fails to post and exits, as in Lambda
            outcome.error = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
            }
            outcome.report_status = "Status: error\tError Type: Function.ResponseSizeTooLarge"
            outcome.healthy = False
        return outcome

    def _over_memory(self, rss_kb: int) -> bool:
        """The rss-check method's verdict; cgroup methods leave this to the kernel."""
        return self.limits.plan.memory_method == "rss-check" and rss_kb > self.runtime.memory_mb * 1024

    def _await(self, deadline: float) -> _Message | str:
        """The environment's next message, or "timeout" past ``deadline`` (the rss-check method also kills
        an environment over its memory here: it then reports as exited)."""
        rss_check = self.limits.plan.memory_method == "rss-check"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            try:
                return self._messages.get(timeout=min(remaining, _RSS_POLL_S) if rss_check else remaining)
            except queue.Empty:
                assert self.process is not None
                if rss_check and self._over_memory(peak_rss_kb(self.process.pid)):
                    self._killed_for_memory = True
                    self.kill()

    def _failure(self, timed_out: bool, request_id: str, elapsed_ms: float, timeout_s: float) -> _Outcome:
        """The outcome of an environment that timed out, crashed or ran out of memory (already killed)."""
        assert self.process is not None
        self._mark("end")
        lines = self._collect_logs("end")
        out_of_memory = self._killed_for_memory or self.limits.oom_killed()
        prefix = f"RequestId: {request_id} Error: " if request_id else ""
        if timed_out:
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"{now} {request_id} Task timed out after {timeout_s:.2f} seconds")
            return _Outcome(
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"{prefix}Task timed out after {timeout_s:.2f} seconds",
                },
                duration_ms=timeout_s * 1000,
                max_rss_kb=self.max_rss_kb,
                log_lines=lines,
                report_status="Status: timeout",
                healthy=False,
                timed_out=True,
            )
        returncode = _KILLED if out_of_memory else self.process.returncode
        message = f"{prefix}Runtime exited with error: {_exit_message(returncode)}"
        error_type = "Runtime.OutOfMemory" if out_of_memory else "Runtime.ExitError"
        lines.append(message)
        return _Outcome(
            error={"errorType": error_type, "errorMessage": message},
            duration_ms=elapsed_ms,
            max_rss_kb=self.runtime.memory_mb * 1024 if out_of_memory else self.max_rss_kb,
            log_lines=lines,
            report_status=f"Status: error\tError Type: {error_type}",
            healthy=False,
            out_of_memory=out_of_memory,
        )

    def _mark(self, tag: str) -> None:
        """End a phase's log lines. The client wrote its lines before the request that ended the phase (or
        before it died), so they are in the pipe ahead of the marker."""
        with self._log_lock:
            if self._log_open:
                os.write(self._log_write, f"{_MARKER}{tag}\n".encode())

    def _collect_logs(self, tag: str) -> list[str]:
        """The log lines up to the ``tag`` marker."""
        lines: list[str] = []
        deadline = time.monotonic() + _LOG_DRAIN_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._logs.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            text, marker, found = line.partition(_MARKER)
            if text:
                lines.append(text)
            if marker and found == tag:
                break
        return lines


def _error_document(body: bytes, error_type: str) -> dict:
    """The error a client posted, as Lambda returns it; a body that is not Lambda's error document becomes
    the message, typed by the Lambda-Runtime-Function-Error-Type header."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and {"errorType", "errorMessage"} <= document.keys():
        return document
    return {"errorType": error_type or "Runtime.Unknown", "errorMessage": body.decode("utf-8", "replace")}


class LambdaRuntime:
    """A pool of execution environments of one function at one memory size; thread-safe; a context manager.

    ``invoke`` reuses an idle warm environment, else starts one (a cold start) while fewer than
    ``max_environments`` exist, else waits for one to become idle.
    """

    def __init__(
        self,
        *,
        function_name: str,
        memory_mb: int,
        environment: dict[str, str],
        function_dir: Path = FUNCTION_DIR,
        handler: str = HANDLER,
        timeout_s: float = 30.0,
        init_cpu: str = "boost",
        cpu_limiter: str = "auto",
        max_environments: int = 4,
        memory_limiter: str = "auto",
        python: LambdaPython | None = None,
        faults: Faults | None = None,
    ) -> None:
        check_init_cpu(init_cpu)
        if timeout_s <= 0 or max_environments < 1:
            raise ValueError("timeout_s must be > 0 and max_environments ≥ 1")
        check_function_dir(function_dir, handler)
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.environment = dict(environment)
        self.function_dir = Path(function_dir).resolve()
        self.handler = handler
        self.timeout_s = timeout_s
        self.init_cpu = init_cpu
        self.max_environments = max_environments
        self.plan = plan_limits(memory_mb, cpu_limiter, memory_limiter)
        self.python = python or lambda_python()
        self.faults = faults
        self.region = (
            self.environment.get("AWS_REGION") or self.environment.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        )
        self.function_arn = f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{function_name}"
        self._label: str | None = None  # the runtime the environments reported
        self._idle: list[_Environment] = []
        self._all: set[_Environment] = set()
        self._slots_used = 0
        self._changed = threading.Condition()
        self._closed = False
        self.generation = 0  # +1 per reload: the function's code changed on disk

    @property
    def label(self) -> str:
        """The runtime the function runs on, as its environments report it (``python3.13 · awslambdaric
        4.2.2``); before the first environment started, as the runtime's interpreter reported it."""
        return self._label or self.python.label

    @property
    def emulation(self) -> dict[str, Any]:
        """How this runtime emulates Lambda: limiter, CPU share, memory limit method, init CPU, runtime."""
        return {
            **self.plan.describe(),
            "init_cpu": self.init_cpu,
            "memory_mb": self.memory_mb,
            "runtime": self.label,
        }

    def environment_variables(self, log_stream: str, runtime_api: str, handler: str) -> dict[str, str]:
        """An environment process's whole environment: Lambda's reserved variables over the function's own.

        Nothing comes from this process's environment; the two config-file variables keep the developer's
        ~/.aws out of reach (Lambda has none), the only ones Lambda does not set."""
        runtime_dir = str(self.python.site_packages)
        defaults = {
            "PATH": f"{self.python.executable.parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": runtime_dir,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        reserved = {
            "_HANDLER": handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{LAMBDA_RUNTIME}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": str(self.function_dir),
            "LAMBDA_RUNTIME_DIR": runtime_dir,
        }
        return {**defaults, **self.environment, **reserved}

    def invoke(self, event: Any) -> Invocation:
        """Run ``event`` (any JSON value) in a warm environment if one is idle, else in a new one (cold).

        TypeError for an event JSON cannot hold and RequestTooLargeError over Lambda's 6 MB, both before any
        environment is used, as the Invoke API refuses them."""
        body = json.dumps(event).encode()
        if len(body) >= MAX_REQUEST_BYTES:
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation "
                f"(the event is {len(body)} bytes)"
            )
        request_id = str(uuid.uuid4())
        environment = self._acquire()
        cold = environment is None
        init_ms, init_lines, outcome = None, [], None
        try:
            if environment is None:
                environment = _Environment(self)
                self._track(environment)
                with _init_slots if self.init_cpu == "boost" else contextlib.nullcontext():
                    init_ms, init = environment.start()
                major, minor = self.python.python_version.split(".")[:2]
                init_lines = [f"INIT_START Runtime Version: python:{major}.{minor}.local", *init.log_lines]
                if init.error is not None:
                    outcome = init  # the invocation fails with the init error, as Lambda's does
                elif environment.label is not None:
                    self._label = environment.label
            if outcome is None:
                outcome = environment.run(request_id, body)
        except BaseException:
            self._discard(environment)
            raise
        if outcome.healthy:
            self._release(environment)
        else:
            self._discard(environment)
        return self._invocation(request_id, outcome, init_ms, init_lines, cold, environment.log_stream)

    def _invocation(
        self,
        request_id: str,
        outcome: _Outcome,
        init_ms: float | None,
        init_lines: list[str],
        cold: bool,
        log_stream: str,
    ) -> Invocation:
        """What the caller gets: the result as the Invoke API returns it, and Lambda's log lines around it."""
        max_used_mb = math.ceil(outcome.max_rss_kb / 1024)
        billed = billed_duration(outcome.duration_ms)
        report = report_line(
            request_id,
            outcome.duration_ms,
            billed,
            self.memory_mb,
            max_used_mb,
            init_ms,
            outcome.report_status,
        )
        error = outcome.error
        payload = json.loads(outcome.payload_text) if outcome.payload_text is not None else None
        if error is not None:
            payload = {
                key: error[key]
                for key in ("errorMessage", "errorType", "requestId", "stackTrace")
                if key in error
            }
            error = {"errorType": error["errorType"], "errorMessage": error["errorMessage"]}
        return Invocation(
            request_id=request_id,
            payload=payload,
            error=error,
            duration_ms=outcome.duration_ms,
            billed_ms=billed,
            init_ms=init_ms,
            memory_mb=self.memory_mb,
            max_memory_used_mb=max_used_mb,
            report_line=report,
            log_lines=[
                *init_lines,
                f"START RequestId: {request_id} Version: $LATEST",
                *outcome.log_lines,
                f"END RequestId: {request_id}",
                report,
            ],
            cold=cold,
            log_stream=log_stream,
            timed_out=outcome.timed_out,
            out_of_memory=outcome.out_of_memory,
        )

    def _acquire(self) -> _Environment | None:
        """An idle environment, or None with a slot reserved for a new one."""
        with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError(f"the runtime of {self.function_name} ({self.memory_mb} MB) is closed")
                if self._idle:
                    return self._idle.pop()
                if self._slots_used < self.max_environments:
                    self._slots_used += 1
                    return None
                self._changed.wait()

    def _track(self, environment: _Environment) -> None:
        with self._changed:
            self._all.add(environment)

    def process_ids(self) -> list[int]:
        """The processes of its execution environments (the client each runs), as they are now."""
        with self._changed:
            return [e.process.pid for e in self._all if e.process is not None and e.process.poll() is None]

    def reload(self) -> None:
        """The function's code changed: the next invocations start new environments (cold, with the new
        code). Idle ones go now; busy ones finish their invocation first (see ``_release``)."""
        with self._changed:
            self.generation += 1
            retired, self._idle = self._idle, []
        for environment in retired:
            self._discard(environment)

    def _release(self, environment: _Environment) -> None:
        with self._changed:
            if self._closed:
                environment.close()
                return
            if environment.generation == self.generation:
                self._idle.append(environment)
                self._changed.notify()
                return
        self._discard(environment)  # it ran older code: retired after its invocation, never mid-request

    def _discard(self, environment: _Environment | None) -> None:
        """Give up an environment (or a reserved slot that never got one) and free its slot."""
        try:
            if environment is not None:
                environment.close()
        finally:
            with self._changed:
                self._all.discard(environment)  # type: ignore[arg-type]
                self._slots_used -= 1
                self._changed.notify()

    def close(self) -> None:
        """Stop every environment (busy ones too: their invocations fail) and remove their cgroups."""
        with self._changed:
            self._closed = True
            environments = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._changed.notify_all()
        errors = []
        for environment in environments:
            try:
                environment.close()
            except CgroupError as exc:
                errors.append(str(exc))
        if errors:
            raise CgroupError("; ".join(errors))

    def __enter__(self) -> LambdaRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
