"""The emulator's AWS endpoint: a moto server in its own process, with the gaps this project needs filled.

A separate process (not an in-process ThreadedMotoServer) keeps its state apart from any ``mock_aws`` used by
unit tests in the same interpreter, and lets the local stack, the tests and the notebooks share one endpoint.
What the child adds to plain moto:

* CloudWatch percentiles (``p50``, ``p99.9``…) in ``get_metric_data``: moto crashes on them; nearest rank.
* Step Functions executions really run (``execute_state_machine``), ``MOTO_PORT`` pointing at this server.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from api.names import DEFAULT_REGION

READY_PREFIX = "READY "
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")
_START_TIMEOUT_S = 60.0


def aws_env(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """The environment a process needs so that boto3 talks to this emulator and never to AWS."""
    port = endpoint_url.rsplit(":", 1)[-1].rstrip("/")
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "MOTO_PORT": port,
    }


def apply_aws_env(environ: dict[str, str], endpoint_url: str, region: str = DEFAULT_REGION) -> None:
    """Point ``environ`` (usually ``os.environ``) at the emulator; drop settings that would reach real AWS."""
    for key in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        environ.pop(key, None)
    environ.update(aws_env(endpoint_url, region))


def cloudwatch_percentile(values: list[float], percentile: float) -> float | None:
    """CloudWatch's pNN: the nearest-rank value, one that was measured, never an interpolation. The notebook
    reads REPORT lines with the same definition (tests/emulator/test_moto_server.py checks they agree)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]


def _patch_moto() -> None:
    """Teach moto's CloudWatch the ``pNN`` statistics and let Step Functions run definitions."""
    # moto loads only in the server's own process: importing its server takes 1.3 s (measured 2026-12-02).
    from moto.cloudwatch import models as cloudwatch_models
    from moto.core.config import default_user_config

    original = cloudwatch_models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self, stat: str):  # type: ignore[no-untyped-def]
        match = _PERCENTILE.fullmatch(stat)
        if match is None:
            return original(self, stat)
        return cloudwatch_percentile(list(self.metric_single_values_list), float(match.group(1)))

    cloudwatch_models.Statistics.get_statistics_for_type = get_statistics_for_type
    _answer_dynamodb_parser_crashes_as_validation_errors()
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config.setdefault("lambda", {})["use_docker"] = False


def _answer_dynamodb_parser_crashes_as_validation_errors() -> None:
    """Moto's expression parser crashes on some malformed expressions (``OR OR``, ``SET n = (:v)``, very deep
    nesting) and the server answers 500, where DynamoDB answers 400 ValidationException. Answer as DynamoDB
    does, so the function's mapping of bad expressions to 400 is what the emulator exercises too."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        try:
            return original(self)
        except NotImplementedError:
            raise
        except Exception as error:  # only crashes reach here: moto's own API errors are answered inside
            body = json.dumps(
                {
                    "__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
                    "message": f"Invalid expression: {type(error).__name__}",
                }
            )
            return 400, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoHandler.call_action = call_action


def serve(host: str, port: int, *, stop_on_sigint: bool = True) -> None:
    """Run the server in this process until SIGTERM (and SIGINT, when in the foreground); print the endpoint.

    As a child, Ctrl-C in the terminal reaches the whole process group: the child ignores it so that its
    parent can still flush (metrics, logs) to it during shutdown, then stops it with SIGTERM.
    """
    import logging

    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _patch_moto()
    # Bound here, in the main thread, so a port in use fails at once (ThreadedMotoServer would wait forever).
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    bound_host, bound_port = server.server_address[:2]
    os.environ["MOTO_PORT"] = str(bound_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, (lambda *_: stop.set()) if stop_on_sigint else signal.SIG_IGN)
    print(f"{READY_PREFIX}http://{bound_host}:{bound_port}", flush=True)
    stop.wait()
    server.shutdown()
    thread.join()


def _die_with_parent() -> None:
    """Linux: have the kernel stop the child when the parent dies, so no server outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class MotoServer:
    """A moto server child process on a free loopback port; a context manager that always stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.endpoint_url = ""
        self._process: subprocess.Popen[str] | None = None
        # A file, not a pipe: nobody reads the child's stderr while it runs, and a full pipe would block it.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop())

    def start(self) -> str:
        project_root = Path(__file__).resolve().parent.parent
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emulator.moto_server",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--child",
            ],
            cwd=project_root,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        line = self._read_ready_line()
        self.endpoint_url = line.removeprefix(READY_PREFIX).strip()
        # Keep draining stdout: whatever moto prints later can never fill the pipe and stall the server.
        threading.Thread(target=self._process.stdout.read, daemon=True).start()
        return self.endpoint_url

    def _read_ready_line(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(_START_TIMEOUT_S)
        if not result or not result[0].startswith(READY_PREFIX):
            self._terminate()
            self._stderr.seek(0)
            stderr = self._stderr.read()
            self.stop()
            raise RuntimeError(
                f"moto server did not start on {self.host}:{self.port}: {stderr.strip()[-2000:]}"
            )
        return result[0]

    def reset(self) -> None:
        """Drop every resource (tables, log groups, metrics, executions) and keep the server running."""
        if not self.endpoint_url.startswith("http://"):
            raise RuntimeError("the moto server is not running")
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (http:// checked above)
            pass

    def stop(self) -> None:
        self._terminate()
        self._stderr.close()

    def _terminate(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_moto(host: str = "127.0.0.1", port: int = 0) -> Iterator[MotoServer]:
    """``with running_moto() as server: server.endpoint_url`` — started, and stopped even on error."""
    server = MotoServer(host, port)
    with server:
        yield server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the emulator's moto server in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument(
        "--child", action="store_true", help="ignore Ctrl-C; the parent stops it with SIGTERM"
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, stop_on_sigint=not args.child)


if __name__ == "__main__":
    main()
