"""One Lambda execution environment: its process, the Runtime API handshake, its limits and its log stream.

An environment is a process running AWS's runtime interface client, ``python -m awslambdaric
app.lambda_handler``, on the runtime's Python (``emulator.lambda_python``), with the function folder as
``LAMBDA_TASK_ROOT`` and working directory and Lambda's environment variables. It talks to its own local
Runtime API (``emulator.runtime_api``), so the function is loaded, run, logged and its errors reported by the
same code as in Lambda. The platform's part is here, as Lambda does it: init is timed from process start to
the client's first ``next``; the CPU and memory limits (``emulator.limits``) are an option of the
environment; a timeout, a crash or a memory overrun ends it (the pool, ``emulator.runtime``, then discards
it).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import logging
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

from api.names import LAMBDA_RUNTIME, LOCAL_ACCOUNT_ID
from emulator.lambda_python import LambdaPython, label_from_user_agent
from emulator.limits import CgroupError, EnvironmentLimits, LimitPlan
from emulator.runtime_api import (
    MAX_RESPONSE_BYTES,
    Event,
    InitFailed,
    Ready,
    Result,
    RuntimeApi,
    Started,
)

logger = logging.getLogger(__name__)
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
class Outcome:
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


@dataclass(frozen=True)
class FunctionConfig:
    """What every environment of one function at one memory size shares (checked by ``LambdaRuntime``)."""

    function_name: str
    memory_mb: int
    environment: dict[str, str]  # the function's own variables
    function_dir: Path
    handler: str
    timeout_s: float
    init_cpu: str
    plan: LimitPlan
    python: LambdaPython
    faults: Faults | None
    region: str

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

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


class Environment:
    """One execution environment: the client's process, its Runtime API, its limits and its log."""

    def __init__(self, function: FunctionConfig, generation: int) -> None:
        self.function = function
        self.log_stream = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.limits: EnvironmentLimits = function.plan.new_environment(
            cap_from_start=function.init_cpu == "capped"
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
        self.generation = generation  # the code it loads: environments of an older one are retired

    def start(self) -> tuple[float, Outcome]:
        """Start the client and wait for its init: (init ms, outcome with the init log and any init error)."""
        function = self.function
        handler = function.handler
        if function.faults is not None and function.faults.fire("lambda-init-error"):
            handler = f"{INJECTED_INIT_ERROR_MODULE}.{handler.rpartition('.')[2]}"
        # -B: Lambda's task root is read-only, so its modules are compiled at every cold start, not cached.
        client = [str(function.python.executable), "-B", "-m", "awslambdaric", handler]
        started = time.monotonic()
        self.process = _spawn(
            self.limits.wrap(["setpriv", "--pdeathsig", "KILL", "--", *client]),
            env=function.environment_variables(self.log_stream, self.api.address, handler),
            cwd=function.function_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_write,
            stderr=self._log_write,
            start_new_session=True,  # Ctrl-C in the terminal is the runtime's to handle, not the function's
        )
        self.limits.attach(self.process.pid)
        threading.Thread(target=self._watch, daemon=True, name="lambda-exit").start()

        message = self._await(started + INIT_LIMIT_S + function.timeout_s)
        if isinstance(message, Ready):
            init_ms = (message.at - started) * 1000
            self._mark("init")
            self.limits.cap_cpu()
            self.label = label_from_user_agent(message.user_agent)
            self.max_rss_kb = peak_rss_kb(self.process.pid)
            return init_ms, Outcome(log_lines=self._collect_logs("init"))
        init_ms = (time.monotonic() - started) * 1000
        if isinstance(message, InitFailed):
            self.kill()  # the client exits after posting; no need to wait for it
            self._mark("init")
            error = _error_document(message.body, message.error_type)
            outcome = Outcome(error=error, log_lines=self._collect_logs("init"), healthy=False)
            outcome.report_status = f"Status: error\tError Type: {error['errorType']}"
            return init_ms, outcome
        self.kill()
        setup_failure = self.limits.describe_exit(self.process.returncode)
        if setup_failure:
            raise CgroupError(setup_failure)
        return init_ms, self._failure(message == "timeout", "", init_ms, INIT_LIMIT_S + function.timeout_s)

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

    def run(self, request_id: str, body: bytes) -> Outcome:
        """Hand one event to the client and wait for its result, a timeout, a crash or a memory overrun."""
        function = self.function
        timeout_s = function.timeout_s
        deadline = time.monotonic() + timeout_s
        event = Event(
            request_id=request_id,
            body=body,
            deadline_ms=int(time.time() * 1000 + timeout_s * 1000),
            function_arn=function.function_arn,
            trace_id=_trace_id(),
        )
        self.limits.busy()
        self.api.deliver(event)
        started = time.monotonic()
        message = self._await(deadline)
        if isinstance(message, Started):
            started = message.at
            if function.faults is not None and function.faults.fire("lambda-crash"):
                self.kill()  # the kill wins: an answer posted meanwhile (or half of it) is lost, as on AWS
                message = "crashed"
            else:
                message = self._await(deadline)
        self.limits.idle()
        if isinstance(message, Result):
            self.max_rss_kb = max(self.max_rss_kb, peak_rss_kb(self.process.pid) if self.process else 0)
            if not self._over_memory(self.max_rss_kb):
                return self._result(message, started)
            self._killed_for_memory = True
        self.kill()
        return self._failure(message == "timeout", request_id, (time.monotonic() - started) * 1000, timeout_s)

    def _result(self, result: Result, started: float) -> Outcome:
        """The outcome of an event the client answered."""
        self._mark(result.request_id)
        outcome = Outcome(
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
        return self.limits.plan.memory_method == "rss-check" and rss_kb > self.function.memory_mb * 1024

    def _await(self, deadline: float) -> _Message | str:
        """The environment's next message, or "timeout" past ``deadline`` (the rss-check method also kills
        an environment over its memory here: it then reports as exited)."""
        rss_check = self.limits.plan.memory_method == "rss-check"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._timed_out()
            try:
                return self._messages.get(timeout=min(remaining, _RSS_POLL_S) if rss_check else remaining)
            except queue.Empty:
                assert self.process is not None
                if rss_check and self._over_memory(peak_rss_kb(self.process.pid)):
                    self._killed_for_memory = True
                    self.kill()

    def _failure(self, timed_out: bool, request_id: str, elapsed_ms: float, timeout_s: float) -> Outcome:
        """The outcome of an environment that timed out, crashed or ran out of memory (already killed)."""
        assert self.process is not None
        self._mark("end")
        lines = self._collect_logs("end")
        out_of_memory = self._killed_for_memory or self.limits.oom_killed()
        prefix = f"RequestId: {request_id} Error: " if request_id else ""
        if timed_out:
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"{now} {request_id} Task timed out after {timeout_s:.2f} seconds")
            return Outcome(
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
        return Outcome(
            error={"errorType": error_type, "errorMessage": message},
            duration_ms=elapsed_ms,
            max_rss_kb=self.function.memory_mb * 1024 if out_of_memory else self.max_rss_kb,
            log_lines=lines,
            report_status=f"Status: error\tError Type: {error_type}",
            healthy=False,
            out_of_memory=out_of_memory,
        )

    def _timed_out(self) -> str:
        """Measure the still-running process: its peak is the REPORT's Max Memory Used, and the memory
        figures in the log tell a function still allocating toward its limit from one stuck elsewhere."""
        assert self.process is not None
        self.max_rss_kb = max(self.max_rss_kb, peak_rss_kb(self.process.pid))
        figures = self.limits.memory_figures(self.max_rss_kb)
        logger.warning("environment %s timed out; memory: %s", self.log_stream, figures)
        return "timeout"

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
