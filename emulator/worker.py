"""One Lambda execution environment: import the handler once (init), then run invocations sent by the parent.

``emulator.runtime`` starts it as ``python -I -u -B worker.py <commands-fd> <replies-fd> <parent-pid>``.
It uses only the standard library and is run by path with ``-I``, so the function sees no repository module on
sys.path — only its own directory first, as in Lambda (/var/task). Protocol, one JSON object per line:

* parent → worker (commands fd): ``{"request_id", "event", "deadline_ms"}`` (epoch ms, for the context).
* worker → parent (replies fd): ``{"type": "ready"}`` or ``{"type": "init_error", "error"}`` once, then
  ``{"type": "result", "payload" (JSON text or null), "error", "duration_ms", "max_rss_kb"}`` per invocation.

The function's stdout and stderr (one pipe, in order) are the environment's log. After init and after every
invocation the worker writes ``MARKER + <"init" | request id> + "\\n"`` to it, so the parent knows which
lines belong to which invocation.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any

MARKER = "\x1e"
_PR_SET_PDEATHSIG = 1


class LambdaContext:
    """The ``context`` argument, with the attributes and method the Python runtime provides."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        env = os.environ
        region = env.get("AWS_REGION", "us-east-1")
        self.aws_request_id = request_id
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a string, as in Lambda
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel kills this environment when the runtime's process dies, even while SIGSTOPped."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def peak_rss_kb(pid: int | str = "self") -> int:
    """A process's peak resident memory (Lambda's Max Memory Used), in KiB; 0 when unreadable.

    VmHWM belongs to the program's own memory map; ``ru_maxrss`` would not do on Linux, as it keeps the peak
    of the process it was forked from (the runtime's, often larger than the memory size) across exec."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    if pid != "self":
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes, Linux KiB


def _mark(tag: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, f"{MARKER}{tag}\n".encode())


def _log_error(error: dict[str, Any]) -> None:
    """Log a failure as the Python runtime does: ``[ERROR] Type: message`` then the traceback."""
    print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
    if error.get("stackTrace"):
        print("Traceback (most recent call last):", file=sys.stderr)
    for frame in error.get("stackTrace", []):
        print(frame.rstrip("\n"), file=sys.stderr)


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Lambda's error document; the stack trace starts in the function's code, not in this worker."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [i for i, frame in enumerate(frames) if frame.filename == __file__]
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames[own[-1] + 1 if own else 0 :]),
    }


def _load_handler(spec: str) -> Any:
    """Import ``module.attr`` like the runtime, naming failures with Lambda's Runtime.* error types."""
    module_name, _, attr = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            _error(exc, "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
        ) from exc
    except ImportError as exc:
        raise _InitError(
            _error(exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        ) from exc
    except Exception as exc:  # module code raised: the env fails init with the function's own error
        raise _InitError(_error(exc)) from exc
    handler = getattr(module, attr, None)
    if not callable(handler):
        message = f"Handler '{attr}' missing on module '{module_name}'"
        raise _InitError({"errorMessage": message, "errorType": "Runtime.HandlerNotFound", "stackTrace": []})
    return handler


class _InitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def _invoke(handler: Any, command: dict[str, Any]) -> dict[str, Any]:
    request_id = command["request_id"]
    context = LambdaContext(request_id, command["deadline_ms"])
    payload = error = None
    started = time.perf_counter()
    try:
        result = handler(command["event"], context)
        try:
            payload = json.dumps(result)
        except (TypeError, ValueError) as exc:
            error = _error(exc, "Runtime.MarshalError", f"Unable to marshal response: {exc}")
    except Exception as exc:  # the function's error is this invocation's result, the environment lives on
        error = _error(exc)
    duration_ms = (time.perf_counter() - started) * 1000
    if error is not None:
        _log_error(error)
        error["requestId"] = request_id
    return {
        "type": "result",
        "request_id": request_id,
        "payload": payload,
        "error": error,
        "duration_ms": duration_ms,
        "max_rss_kb": peak_rss_kb(),
    }


def main(argv: list[str]) -> int:
    commands_fd, replies_fd, parent_pid = (int(arg) for arg in argv)
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runtime's to handle; it then stops us
    commands = os.fdopen(commands_fd, "rb")
    replies = os.fdopen(replies_fd, "wb")

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message).encode() + b"\n")
        replies.flush()

    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _InitError as failed:
        _log_error(failed.error)
        _mark("init")
        reply({"type": "init_error", "error": failed.error})
        return 1
    _mark("init")
    reply({"type": "ready", "max_rss_kb": peak_rss_kb()})
    for line in commands:
        result = _invoke(handler, json.loads(line))
        _mark(result["request_id"])
        reply(result)
    return 0  # the parent closed the commands pipe: the environment is being shut down


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
