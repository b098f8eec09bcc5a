"""A local Lambda runtime: the function runs in execution-environment processes with a memory's CPU share.

Each environment is a worker process (``emulator/worker.py``) that imports the handler once (init, timed on
its own) and then serves invocations one at a time, like a Lambda sandbox. Its CPU is capped at
``memory / 1769`` of a core and its memory at the memory size (``emulator.limits``); a crash, timeout or
memory overrun discards it, as Lambda does. Every invocation yields Lambda's START / END / REPORT log lines
around the function's own output. Used by the local power-tuning runner (one runtime per memory size) and
the local API gateway.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from api.names import DEFAULT_REGION
from emulator.limits import CgroupError, EnvironmentLimits, host_cores, plan_limits
from emulator.worker import MARKER, peak_rss_kb

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FUNCTION_DIR = REPO_ROOT / "function"
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
INIT_LIMIT_S = 10.0  # Lambda's init phase limit; a slower init is retried within the invoke, so we allow both
INIT_CPU_MODES = ("boost", "capped")
_RSS_POLL_S = 0.05
_LOG_DRAIN_S = 5.0
_KILLED = -signal.SIGKILL
_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass
class Invocation:
    """One invocation's result and telemetry.

    On failure ``error`` is ``{"errorType", "errorMessage"}`` and ``payload`` is Lambda's error document (what
    the Invoke API returns as the payload of a function error); otherwise ``payload`` is the handler's result.
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


# Environments are started from one long-lived thread: the worker asks the kernel to kill it when its parent
# *thread* dies (PR_SET_PDEATHSIG), so a worker forked from a short-lived request thread would die with it.
_spawner = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawner")


# An uncapped ("boost") init takes a whole core. Lambda inits each environment on its own hardware; here
# parallel cold starts would share the host's cores and each would measure the others' load, so at most one
# boost init per core runs at a time (the wait for a slot is not part of Init Duration).
_init_slots = threading.Semaphore(host_cores())


def _spawn(command: list[str], **popen_kwargs: Any) -> subprocess.Popen[bytes]:
    return _spawner.submit(subprocess.Popen, command, **popen_kwargs).result()


def _pump(stream: IO[bytes], sink: queue.Queue, decode: Any) -> None:
    """Move each line of ``stream`` into ``sink`` (decoded); None marks the end (the worker's end closed).
    A line that does not decode (only the function scribbling on our pipe could cause it) is dropped."""
    with stream:
        for raw in stream:
            with contextlib.suppress(ValueError):
                sink.put(decode(raw))
    sink.put(None)


def _log_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def _exit_message(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        name = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGTERM: "terminated"}
        return f"signal: {name.get(-returncode, signal.Signals(-returncode).name.lower())}"
    return f"exit status {returncode}"


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


class _Environment:
    """One execution environment: a worker process, its pipes, its limits and its log."""

    def __init__(self, runtime: LambdaRuntime) -> None:
        self.runtime = runtime
        self.log_stream = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.limits: EnvironmentLimits = runtime.plan.new_environment(
            cap_from_start=runtime.init_cpu == "capped"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._commands: IO[bytes] | None = None
        self._replies: queue.Queue[dict | None] = queue.Queue()
        self._logs: queue.Queue[str | None] = queue.Queue()
        self._killed_for_memory = False
        self.max_rss_kb = 0

    def start(self) -> tuple[float, _Outcome]:
        """Start the worker and wait for its init: (init ms, outcome with the init log and any init error)."""
        runtime = self.runtime
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()
        worker = [sys.executable, "-I", "-u", "-B", str(WORKER_SCRIPT)]
        command = [*worker, str(commands_read), str(replies_write), str(os.getpid())]
        started = time.monotonic()
        try:
            self.process = _spawn(
                self.limits.wrap(command),
                env=runtime.worker_environment(self.log_stream),
                cwd=runtime.function_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(commands_read, replies_write),
            )
        except BaseException:
            os.close(commands_write)
            os.close(replies_read)
            raise
        finally:
            os.close(commands_read)
            os.close(replies_write)
        self.limits.attach(self.process.pid)
        self._commands = os.fdopen(commands_write, "wb")
        assert self.process.stdout is not None
        self._start_pump(os.fdopen(replies_read, "rb"), self._replies, json.loads)
        self._start_pump(self.process.stdout, self._logs, _log_text)

        reply = self._await_reply(started + INIT_LIMIT_S + runtime.timeout_s)
        init_ms = (time.monotonic() - started) * 1000
        if reply is not None and reply.get("type") == "ready":
            self.limits.cap_cpu()
            self.max_rss_kb = reply["max_rss_kb"]
            return init_ms, _Outcome(log_lines=self._collect_logs("init"))
        if reply is not None and reply.get("type") == "init_error":
            outcome = _Outcome(error=reply["error"], log_lines=self._collect_logs("init"), healthy=False)
            outcome.report_status = f"Status: error\tError Type: {reply['error']['errorType']}"
            return init_ms, outcome
        timed_out = reply == "timeout"
        self.kill()
        setup_failure = self.limits.describe_exit(self.process.returncode)
        if setup_failure:
            raise CgroupError(setup_failure)
        outcome = self._failure(timed_out, "", init_ms, INIT_LIMIT_S + runtime.timeout_s)
        return init_ms, outcome

    def _start_pump(self, stream: IO[bytes], sink: queue.Queue, decode: Any) -> None:
        threading.Thread(target=_pump, args=(stream, sink, decode), daemon=True, name="lambda-pipe").start()

    def kill(self) -> None:
        """Kill the worker (SIGKILL works on a SIGSTOPped one too) and reap it."""
        self.limits.detach()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        """Discard the environment: end the worker, then its limits (cgroups can only go once it is gone)."""
        if self._commands is not None:
            with contextlib.suppress(OSError):  # the worker is already gone: nothing to tell it
                self._commands.close()
        self.kill()
        self.limits.close()

    def run(self, request_id: str, event: Any) -> _Outcome:
        """Send one event and wait for its result, a timeout, a crash or a memory overrun."""
        timeout_s = self.runtime.timeout_s
        deadline_ms = int(time.time() * 1000 + timeout_s * 1000)
        line = json.dumps({"request_id": request_id, "deadline_ms": deadline_ms, "event": event}) + "\n"
        self.limits.busy()
        sent = time.monotonic()
        try:
            assert self._commands is not None
            self._commands.write(line.encode())
            self._commands.flush()
        except (BrokenPipeError, ValueError):
            reply = None  # the worker died while idle; we report it as this invocation's failure
        else:
            reply = self._await_reply(sent + timeout_s)
        self.limits.idle()
        elapsed_ms = (time.monotonic() - sent) * 1000
        if isinstance(reply, dict) and reply.get("type") == "result":
            self.max_rss_kb = max(self.max_rss_kb, reply["max_rss_kb"])
            if not self._over_memory(self.max_rss_kb):
                return _Outcome(
                    payload_text=reply["payload"],
                    error=reply["error"],
                    duration_ms=reply["duration_ms"],
                    max_rss_kb=self.max_rss_kb,
                    log_lines=self._collect_logs(request_id),
                )
            self._killed_for_memory = True
        self.kill()
        return self._failure(reply == "timeout", request_id, elapsed_ms, timeout_s)

    def _over_memory(self, rss_kb: int) -> bool:
        """The rss-check method's verdict; cgroup methods leave this to the kernel."""
        return self.limits.plan.memory_method == "rss-check" and rss_kb > self.runtime.memory_mb * 1024

    def _await_reply(self, deadline: float) -> dict | str | None:
        """The worker's next message, "timeout" past ``deadline``, or None when it died (or was killed)."""
        rss_check = self.limits.plan.memory_method == "rss-check"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            try:
                return self._replies.get(timeout=min(remaining, _RSS_POLL_S) if rss_check else remaining)
            except queue.Empty:
                assert self.process is not None
                if rss_check and self._over_memory(peak_rss_kb(self.process.pid)):
                    self._killed_for_memory = True
                    self.kill()
                    return None

    def _failure(self, timed_out: bool, request_id: str, elapsed_ms: float, timeout_s: float) -> _Outcome:
        """The outcome of an environment that timed out, crashed or ran out of memory (already killed)."""
        assert self.process is not None
        lines = self._collect_logs(None)
        memory_mb = self.runtime.memory_mb
        out_of_memory = self._killed_for_memory or self.limits.oom_killed()
        prefix = f"RequestId: {request_id} Error: " if request_id else ""
        if timed_out:
            now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"{now} {request_id} Task timed out after {timeout_s:.2f} seconds")
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"{prefix}Task timed out after {timeout_s:.2f} seconds",
            }
            return _Outcome(
                error=error,
                duration_ms=timeout_s * 1000,
                max_rss_kb=self.max_rss_kb,
                log_lines=lines,
                report_status="Status: timeout",
                healthy=False,
            )
        returncode = _KILLED if out_of_memory else self.process.returncode
        message = f"{prefix}Runtime exited with error: {_exit_message(returncode)}"
        error_type = "Runtime.OutOfMemory" if out_of_memory else "Runtime.ExitError"
        lines.append(message)
        return _Outcome(
            error={"errorType": "Runtime.ExitError", "errorMessage": message},
            duration_ms=elapsed_ms,
            max_rss_kb=memory_mb * 1024 if out_of_memory else self.max_rss_kb,
            log_lines=lines,
            report_status=f"Status: error\tError Type: {error_type}",
            healthy=False,
        )

    def _collect_logs(self, tag: str | None) -> list[str]:
        """The log lines up to the worker's ``tag`` marker, or (tag None: worker dead) to the pipe's end."""
        lines: list[str] = []
        deadline = time.monotonic() + _LOG_DRAIN_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._logs.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            text, marker, found = line.partition(MARKER)
            if text:
                lines.append(text)
            if marker and found == tag:
                break
        return lines


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
        function_dir: Path = DEFAULT_FUNCTION_DIR,
        handler: str = "app.lambda_handler",
        timeout_s: float = 30.0,
        init_cpu: str = "boost",
        cpu_limiter: str = "auto",
        max_environments: int = 4,
        memory_limiter: str = "auto",
    ) -> None:
        check_init_cpu(init_cpu)
        if timeout_s <= 0 or max_environments < 1:
            raise ValueError("timeout_s must be > 0 and max_environments ≥ 1")
        if not (Path(function_dir) / (handler.rpartition(".")[0].replace(".", "/") + ".py")).is_file():
            raise ValueError(f"no handler module for {handler!r} in {function_dir}")
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.environment = dict(environment)
        self.function_dir = Path(function_dir).resolve()
        self.handler = handler
        self.timeout_s = timeout_s
        self.init_cpu = init_cpu
        self.max_environments = max_environments
        self.plan = plan_limits(memory_mb, cpu_limiter, memory_limiter)
        self._idle: list[_Environment] = []
        self._all: set[_Environment] = set()
        self._slots_used = 0
        self._changed = threading.Condition()
        self._closed = False

    @property
    def emulation(self) -> dict[str, Any]:
        """How this runtime emulates Lambda: limiter used, CPU share, memory limit method, init CPU."""
        return {
            **self.plan.describe(),
            "init_cpu": self.init_cpu,
            "memory_mb": self.memory_mb,
            "python": _PYTHON,
        }

    def worker_environment(self, log_stream: str) -> dict[str, str]:
        """The worker's whole environment: Lambda's reserved variables over the function's own.

        Nothing is inherited from this process but PATH, and never the developer's AWS profiles."""
        region = (
            self.environment.get("AWS_REGION") or self.environment.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        )
        defaults = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        reserved = {
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{_PYTHON}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "LAMBDA_TASK_ROOT": str(self.function_dir),
            "_HANDLER": self.handler,
        }
        return {**defaults, **self.environment, **reserved}

    def invoke(self, event: Any) -> Invocation:
        """Run ``event`` (any JSON value) in a warm environment if one is idle, else in a new one (cold)."""
        json.dumps(event)  # TypeError now for events Lambda could not receive, before an environment is used
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
                init_lines = [f"INIT_START Runtime Version: python:{_PYTHON}.local", *init.log_lines]
                if init.error is not None:
                    outcome = init  # the invocation fails with the init error, as Lambda's does
            if outcome is None:
                outcome = environment.run(request_id, event)
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

    def _release(self, environment: _Environment) -> None:
        with self._changed:
            if self._closed:
                environment.close()
                return
            self._idle.append(environment)
            self._changed.notify()

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
