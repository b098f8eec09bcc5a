"""The emulator's AWS endpoint: a moto server in its own process, with the gaps this project needs filled.

A separate process (not an in-process ThreadedMotoServer) keeps its state apart from any ``mock_aws`` used by
unit tests in the same interpreter, and lets the local stack, the tests and the notebooks share one endpoint.
What the child adds to plain moto:

* CloudWatch percentiles (``p50``, ``p99.9``…) in ``get_metric_data``: moto crashes on them; nearest rank.
* Step Functions executions really run (``execute_state_machine``), ``MOTO_PORT`` pointing at this server.
* DynamoDB as DynamoDB behaves where the function meets the difference: malformed expressions are 400s, each
  request is atomic (one at a time; a failed write leaves its item as it was), numbers add exactly.

Each patch below says which moto code it replaces, the moto behaviour it changes and the test that pins it:
after a moto upgrade, the failing test names the patch to revisit.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import decimal
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
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from api.names import DEFAULT_REGION
from emulator.state import DurableState, StateError, key_of
from settings.paths import REPO_ROOT

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


def _patch_moto(state: DurableState | None = None) -> None:
    """Teach moto's CloudWatch the ``pNN`` statistics and let Step Functions run definitions; with ``state``,
    journal every DynamoDB write it applies (inside the lock that makes requests atomic: in their order).

    * ``cloudwatch.models.Statistics.get_statistics_for_type``: moto knows no ``pNN`` statistic (it crashes
      on ``p99``); nearest rank here. Pinned by tests/emulator/test_moto_server.py::
      test_get_metric_data_answers_percentiles_by_nearest_rank.
    * ``default_user_config["stepfunctions"]["execute_state_machine"]``: moto only records an execution as
      RUNNING; here it runs the definition. Pinned by tests/tuning/test_aws_runner.py::
      test_succeeded_run_returns_the_analyzer_output (and test_aborted_execution_is_an_error).
    * ``default_user_config["lambda"]["use_docker"]``: moto's Lambda would start Docker (none here) to run
      a function; off, it answers from the queue the tests fill. Pinned by the same test_aws_runner tests.
    """
    # moto loads only in the server's own process: importing its server is slow (README: import costs).
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
    if state is not None:
        _journal_dynamodb_writes(state)
    _make_dynamodb_requests_atomic()
    _compute_dynamodb_numbers_as_dynamodb()
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config.setdefault("lambda", {})["use_docker"] = False


def _answer_dynamodb_parser_crashes_as_validation_errors() -> None:
    """Moto's expression parser crashes on some malformed expressions (``OR OR``, ``SET n = (:v)``, very deep
    nesting) and the server answers 500, where DynamoDB answers 400 ValidationException. Answer as DynamoDB
    does, so the function's mapping of bad expressions to 400 is what the emulator exercises too.

    Wraps ``dynamodb.responses.DynamoHandler.call_action``. Pinned by tests/emulator/test_moto_server.py::
    test_malformed_expressions_are_validation_errors_as_on_dynamodb."""
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


def _journal_dynamodb_writes(state: DurableState) -> None:
    """``--state``: each DynamoDB write moto applied is journaled (fsynced) before its answer goes out.

    Wraps ``DynamoHandler.call_action`` and reads moto's backend (``get_table``, ``get_item``,
    ``DynamoType``) to journal the item images: moto keeps tables in memory only. Pinned by
    tests/e2e/test_local_stack.py::test_state_keeps_every_acknowledged_write_across_a_clean_stop_and_kill_9."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        status, headers, body = original(self)
        action = self._get_action()
        if int(status) < 400 and action in _JOURNALED:
            state.append(_journal_record(self.dynamodb_backend, action, self.params, state))
        return status, headers, body

    DynamoHandler.call_action = call_action


_JOURNALED = frozenset(
    {
        "CreateTable",
        "DeleteTable",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    }
)


def _written_keys(action: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key or whole item) of every item an applied write may have changed."""
    if action == "PutItem":
        return [(params["TableName"], params["Item"])]
    if action in ("UpdateItem", "DeleteItem"):
        return [(params["TableName"], params["Key"])]
    if action == "BatchWriteItem":
        return [
            (table, request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])
            for table, requests in params["RequestItems"].items()
            for request in requests
        ]
    written = []
    for entry in params["TransactItems"]:
        for kind, field in (("Put", "Item"), ("Update", "Key"), ("Delete", "Key")):
            if kind in entry:
                written.append((entry[kind]["TableName"], entry[kind][field]))
    return written


def _journal_record(backend: Any, action: str, params: dict[str, Any], state: DurableState) -> dict[str, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import dynamo_json_dump

    if action == "CreateTable":
        schema = {"KeySchema": params["KeySchema"], "AttributeDefinitions": params["AttributeDefinitions"]}
        return {"op": "table", "table": params["TableName"], "schema": schema}
    if action == "DeleteTable":
        return {"op": "drop", "table": params["TableName"]}
    changes = []
    for table_name, given in _written_keys(action, params):
        table = backend.get_table(table_name)
        hash_key = DynamoType(given[table.hash_key_attr])
        range_key = DynamoType(given[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_key, range_key)
        image = json.loads(dynamo_json_dump(item.to_json()))["Attributes"] if item is not None else None
        schema = state.tables[table.name].schema
        changes.append({"table": table.name, "key": key_of(given, schema), "item": image})
    return {"op": "items", "changes": changes}


def _restore(state: DurableState) -> None:
    """Put the state's tables and items into moto before it serves (its backend, in this process)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][DEFAULT_REGION]
    for name, table in state.tables.items():
        backend.create_table(
            name,
            schema=table.schema["KeySchema"],
            throughput=None,
            attr=table.schema["AttributeDefinitions"],
            global_indexes=None,
            indexes=None,
            streams=None,
            billing_mode="PAY_PER_REQUEST",
            sse_specification=None,
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        for item in table.items.values():
            backend.put_item(name, item)


# The single-item writes a failed request must leave untouched, and the parameter holding the item's key.
_ITEM_WRITES = {"PutItem": "Item", "UpdateItem": "Key", "DeleteItem": "Key"}


def _make_dynamodb_requests_atomic() -> None:
    """DynamoDB applies a request whole or not at all, and one write at a time per item; moto does neither.
    An UpdateExpression it crashes on halfway (``SET #d = :v REMOVE #d.#l``) keeps what it had set before the
    crash, so the function's ``version`` rose on a request answered 400, and again on each retry; and its
    threaded server checks a condition and makes the write it guards at different moments, so two
    conditional writers could both pass. So DynamoDB requests run one at a time (moto holds the GIL for most
    of each anyway), and a single-item write that ends in an error puts its item back as it was.

    Wraps ``DynamoHandler.call_action`` and writes ``table.items`` directly. The restore is pinned by
    tests/emulator/test_moto_server.py::test_a_write_that_fails_halfway_leaves_no_trace and
    tests/function/test_tutorial_edges.py::test_a_request_that_fails_halfway_changes_nothing; the lock by
    no test that fails reliably without it (a race: tests/function/test_concurrency.py exercises it)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    lock = threading.Lock()

    def call_action(self):  # type: ignore[no-untyped-def]
        with lock:
            restore = _item_restorer(self)
            try:
                status, headers, body = original(self)
            except BaseException:
                restore()
                raise
            if int(status) >= 400:
                restore()
            return status, headers, body

    DynamoHandler.call_action = call_action


def _item_restorer(handler: Any) -> Callable[[], None]:
    """What puts the item a PutItem, UpdateItem or DeleteItem names back as it is now (absent included); for
    any other request, or one whose table or key moto cannot find (it answers that itself), nothing."""
    from moto.dynamodb.exceptions import ResourceNotFoundException
    from moto.dynamodb.models.dynamo_type import DynamoType

    field = _ITEM_WRITES.get(handler._get_action())
    params = getattr(handler, "params", None)
    try:
        table = handler.dynamodb_backend.get_table(params["TableName"])
        given = params[field]
        hash_key = DynamoType(given[table.hash_key_attr])
        range_key = DynamoType(given[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError, IndexError, AttributeError, ResourceNotFoundException):
        return lambda: None
    before = copy.deepcopy(table.get_item(hash_key, range_key))

    def restore() -> None:
        items, key = (table.items[hash_key], range_key) if range_key is not None else (table.items, hash_key)
        if before is None:
            items.pop(key, None)
        else:
            items[key] = before

    return restore


# DynamoDB's numbers: 38 significant digits, magnitudes from 1E-130 to 9.99…E+125, and zero.
_NUMBER_CONTEXT = decimal.Context(
    prec=38,
    Emax=decimal.MAX_EMAX,  # decimal's widest range, so that only the checks below refuse a magnitude
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.Inexact],  # exact or refused (dropping zeros is exact)
)
_SMALLEST, _TOO_LARGE = Decimal("1E-130"), Decimal("1E+126")
# DynamoDB's own messages; it calls a result that needs more than 38 digits an overflow too.
NUMBER_OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
NUMBER_UNDERFLOW = (
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
)
NOT_A_NUMBER = "A value provided cannot be converted into a number"


def dynamodb_sum(left: str, right: str, *, subtract: bool = False) -> str:
    """``left + right`` (``-`` when ``subtract``) of two N strings as DynamoDB computes it: exact within 38
    digits and its range, else ValueError with DynamoDB's message; written as DynamoDB returns numbers, with
    no exponent and no trailing zeros (``1E+2`` + ``1`` → ``101``)."""
    try:
        a, b = Decimal(left), Decimal(right)
        result = _NUMBER_CONTEXT.subtract(a, b) if subtract else _NUMBER_CONTEXT.add(a, b)
    except decimal.InvalidOperation:
        raise ValueError(NOT_A_NUMBER) from None
    except decimal.Inexact:
        raise ValueError(NUMBER_OVERFLOW) from None
    if result and not _SMALLEST <= abs(result) < _TOO_LARGE:
        raise ValueError(NUMBER_OVERFLOW if abs(result) >= _TOO_LARGE else NUMBER_UNDERFLOW)
    return format(_NUMBER_CONTEXT.normalize(result), "f")


def _compute_dynamodb_numbers_as_dynamodb() -> None:
    """moto adds numbers with ``int()`` unless their text has a ".": on ``1E+2``, which the function's codec
    writes, ``SET n = n + :x`` and ``ADD n :x`` crashed (400 "Invalid expression: ValueError", where DynamoDB
    answers 200), and no result was ever refused for its precision or range. Numbers now add as DynamoDB's.

    Replaces ``dynamodb.models.dynamo_type.DynamoType.__add__`` and ``__sub__`` for two numbers. Pinned by
    tests/function/test_tutorial_edges.py::test_arithmetic_on_numbers_in_exponent_form and
    test_results_outside_dynamodb_numbers_are_its_400_and_change_nothing."""
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models.dynamo_type import DynamoType

    original_add, original_subtract = DynamoType.__add__, DynamoType.__sub__

    def arithmetic(original: Callable[[Any, Any], Any], subtract: bool) -> Callable[[Any, Any], Any]:
        def operator(self, other):  # type: ignore[no-untyped-def]
            if not (self.is_number() and other.is_number()):
                return original(self, other)  # moto's own error for other types
            try:
                return DynamoType({"N": dynamodb_sum(self.value, other.value, subtract=subtract)})
            except ValueError as error:
                raise MockValidationException(str(error)) from None

        return operator

    DynamoType.__add__ = arithmetic(original_add, subtract=False)
    DynamoType.__sub__ = arithmetic(original_subtract, subtract=True)


def project_schemas() -> list[dict[str, Any]]:
    """The key schemas of this project's tables (api/*.json): a state folder may hold only these."""
    from api.table_schema import IDEMPOTENCY_TABLE_PATH, TABLE_PATH, table_definition

    return [
        {key: table_definition(path)[key] for key in ("KeySchema", "AttributeDefinitions")}
        for path in (TABLE_PATH, IDEMPOTENCY_TABLE_PATH)
    ]


def serve(host: str, port: int, *, stop_on_sigint: bool = True, state_dir: Path | None = None) -> None:
    """Run the server in this process until SIGTERM (and SIGINT, when in the foreground); print the endpoint.

    As a child, Ctrl-C in the terminal reaches the whole process group: the child ignores it so that its
    parent can still flush (metrics, logs) to it during shutdown, then stops it with SIGTERM.
    """
    import logging

    # moto answers every Origin with CORS allowed, so any web page that finds the port could read or reset the
    # local table; moto.settings reads this once, at its import, which is below. Pinned by
    # test_moto_server.py::test_a_web_page_of_another_origin_is_not_allowed_to_read_the_emulator
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state = DurableState.open(state_dir, project_schemas()) if state_dir is not None else None
    _patch_moto(state)
    if state is not None:
        _restore(state)
    # Bound here, in the main thread, so a port in use fails at once (ThreadedMotoServer would wait forever).
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    bound_host, bound_port = server.server_address[:2]
    os.environ["MOTO_PORT"] = str(bound_port)
    # A short poll: stop (every test's teardown) waits for the loop's next look, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, (lambda *_: stop.set()) if stop_on_sigint else signal.SIG_IGN)
    print(f"{READY_PREFIX}http://{bound_host}:{bound_port}", flush=True)
    stop.wait()
    server.shutdown()
    thread.join()
    if state is not None:
        state.close()  # compacts: the next start reads one snapshot


def _die_with_parent() -> None:
    """Linux: have the kernel stop the child when the parent dies, so no server outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class MotoServer:
    """A moto server child process on a free loopback port; a context manager that always stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_dir: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.state_dir = state_dir
        self.endpoint_url = ""
        self._process: subprocess.Popen[str] | None = None
        # A file, not a pipe: nobody reads the child's stderr while it runs, and a full pipe would block it.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop())

    def start(self) -> str:
        """Spawn the child and wait until it serves; returns its endpoint URL."""
        self.spawn()
        return self.wait_ready()

    def spawn(self) -> None:
        """Start the child without waiting for it: the caller can do its own start-up meanwhile, then
        ``wait_ready()``."""
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
                *(["--state", str(self.state_dir)] if self.state_dir is not None else []),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def wait_ready(self) -> str:
        """Wait for the spawned child's READY line (raising with its cause if it never comes)."""
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
            cause = self._start_failure(result)  # before _terminate: our own SIGTERM is not the cause
            self._terminate()
            self._stderr.seek(0)
            stderr = self._stderr.read().strip()[-2000:]
            self.stop()
            raise RuntimeError(
                f"moto server did not start on {self.host}:{self.port}: {cause}"
                + (f"; its stderr: {stderr}" if stderr else "")
            )
        return result[0]

    def _start_failure(self, result: list[str]) -> str:
        """Why no READY line came: still silent after the timeout, or the child ended (how), or it printed
        something else."""
        assert self._process is not None
        if not result:
            return f"no answer within {_START_TIMEOUT_S:.0f} s"
        if result[0]:
            return f"it printed {result[0].strip()!r} instead of its endpoint"
        try:  # end of its output: the child is exiting; wait for its status rather than race it
            returncode = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "it closed its output without starting"
        if returncode >= 0:
            return f"it exited with code {returncode} during start"
        name = signal.Signals(-returncode).name
        hint = " (often the kernel's out-of-memory killer: see `dmesg`)" if name == "SIGKILL" else ""
        return f"it was killed by {name} during start{hint}"

    def reset(self) -> None:
        """Drop every resource (tables, log groups, metrics, executions) and keep the server running."""
        if not self.endpoint_url.startswith("http://"):
            raise RuntimeError("the moto server is not running")
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (http:// checked above)
            pass

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

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
    parser.add_argument("--state", type=Path, default=None, help="keep the DynamoDB tables in this folder")
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, stop_on_sigint=not args.child, state_dir=args.state)
    except StateError as error:
        parser.exit(2, f"error: {error}\n")


if __name__ == "__main__":
    main()
