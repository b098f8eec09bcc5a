"""The local runner runs Power Tuning's experiment on the local runtime and answers in the tool's schema."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import IO

import psutil
import pytest

from api.table_schema import table_definition
from emulator.invocations import Invocation
from emulator.lambda_python import lambda_python
from emulator.table_setup import create_table
from tests.emulator.conftest import BASIC
from tuning.errors import TuningError
from tuning.payloads import operation_event, parse_mix, seed_events, weighted_payload
from tuning.record import ExecutionInput, read_run
from tuning.run import run_and_save, run_request
from tuning.runners import local as local_runner
from tuning.runners.local import parallel_environments, run_local
from tuning.runners.request import RunRequest, front_door_of
from tuning.runners.rounds import Sampling

REPO_ROOT = Path(__file__).resolve().parents[2]

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:cpu-test"
CPU_BOUND = {"action": "loop", "iterations": 300_000}  # ~10 ms of CPU at full speed


def _input(**overrides):
    return {"lambdaARN": ARN, "powerValues": [256, 1024], "num": 5, "payload": CPU_BOUND, **overrides}


def _request(raw: dict, outputs: dict | None = None, **options) -> RunRequest:
    execution_input = ExecutionInput.for_run(raw)
    sampling, front_door = Sampling(execution_input.num), front_door_of(outputs)
    return RunRequest("local", execution_input, sampling, {"get": 1}, front_door, **options)


def _run(raw: dict, outputs: dict | None = None, *, seed=(), on_invocation=None, **options):
    """The record of a local run of ``raw`` (``options``: RunRequest's)."""
    return run_local(_request(raw, outputs, **options), outputs, seed=seed, on_invocation=on_invocation).run


@pytest.mark.slow
def test_two_memory_sizes_end_to_end_the_smaller_measures_slower():
    seen = []
    run = _run(_input(), function_dir=BASIC, on_invocation=seen.append)

    output = run.output
    assert set(output) == {"power", "cost", "duration", "stateMachine", "stats"}
    assert [entry["value"] for entry in output["stats"]] == [256, 1024]  # input order
    slow, fast = (entry["averageDuration"] for entry in output["stats"])
    assert slow > 1.5 * fast, f"256 MB should take ~4x as long as 1024 MB: {slow:.1f} vs {fast:.1f} ms"
    assert output["stateMachine"]["visualization"].startswith("https://lambda-power-tuning.show/#")

    assert seen == list(run.invocations)
    assert [record["power"] for record in run.invocations] == [256] * 5 + [1024] * 5
    assert [record["cold"] for record in run.invocations] == ([True] + [False] * 4) * 2
    for record in run.invocations:
        assert record["error"] is None
        assert record["billed_ms"] >= 1
        assert record["max_memory_used_mb"] > 0
        assert (record["init_ms"] is not None) == record["cold"]
        assert record["duration_ms"] >= (record["init_ms"] or 0)  # Power Tuning counts Init in the duration
    assert run.metadata["started"] <= run.metadata["ended"]

    emulation = run.emulation
    assert emulation["emulated"] is True
    assert "not Lambda's" in emulation["note"]
    assert emulation["host_cores"] >= 1
    assert emulation["host_cpu"]
    assert emulation["init_cpu"] == "boost"
    assert [p["cpu_share"] for p in emulation["per_power"]] == [round(256 / 1769, 4), round(1024 / 1769, 4)]
    python = lambda_python()
    version = ".".join(python.python_version.split(".")[:2])
    fallback = " (fallback)" if python.interpreter.fallback else ""
    assert emulation["runtime"] == f"python{version} · awslambdaric 4.2.2{fallback}"  # the run's label
    assert [p["runtime"] for p in emulation["per_power"]] == [emulation["runtime"]] * 2


@pytest.mark.slow
def test_the_private_dynamodb_is_reachable_and_has_the_table(monkeypatch):
    """outputs=None: a private moto server and the table from api/table.json, reached over HTTP."""
    run = _run(
        _input(powerValues=[1024], payload={"action": "describe_table"}),
        function_dir=BASIC,
        cpu_limiter="dutycycle",
    )
    assert [record["error"] for record in run.invocations] == [None] * 5
    assert run.emulation["cpu_limiter"] == "dutycycle"


def test_a_function_error_at_every_size_fails_the_run_naming_each_cause(moto_server):
    outputs = {"endpoint_url": moto_server.endpoint_url, "table_name": "t", "architecture": "x86_64"}
    seen = []
    with pytest.raises(
        TuningError, match=r"Every memory size failed.*: 1024 MB: ValueError: boom; 2048 MB: ValueError: boom"
    ):
        _run(
            _input(powerValues=[1024, 2048], payload={"action": "raise"}),
            outputs,
            function_dir=BASIC,
            on_invocation=seen.append,
        )
    assert [record["power"] for record in seen] == [1024, 2048]  # a size stops at its first failure


def test_allowed_exceptions_are_counted_not_fatal(moto_server):
    outputs = {"endpoint_url": moto_server.endpoint_url, "table_name": "t", "architecture": "x86_64"}
    run = _run(
        _input(powerValues=[1024], payload={"action": "raise"}, allowedExceptions=["ValueError"]),
        outputs,
        function_dir=BASIC,
    )
    assert [record["error"]["errorType"] for record in run.invocations] == ["ValueError"] * 5


def test_seeding_runs_unmeasured_before_the_first_memory_size(moto_server):
    outputs = {"endpoint_url": moto_server.endpoint_url, "table_name": "t", "architecture": "x86_64"}
    seeds = [{"action": "status", "statusCode": 201}] * 3
    run = _run(
        _input(powerValues=[1024, 2048], payload={"action": "echo"}), outputs, seed=seeds, function_dir=BASIC
    )
    assert len(run.invocations) == 10
    assert run.invocations[0]["cold"]  # the seeding environments are not reused for measuring


def test_a_failing_seed_stops_the_run(moto_server):
    outputs = {"endpoint_url": moto_server.endpoint_url, "table_name": "t", "architecture": "x86_64"}
    with pytest.raises(TuningError, match="Seeding"):
        _run(_input(), outputs, seed=[{"action": "status", "statusCode": 500}], function_dir=BASIC)


def test_parallel_mode_runs_num_environments_when_the_shares_fit(moto_server):
    outputs = {"endpoint_url": moto_server.endpoint_url, "table_name": "t", "architecture": "x86_64"}
    run = _run(
        _input(powerValues=[128], payload={"action": "sleep", "seconds": 0.3}, parallelInvocation=True),
        outputs,
        function_dir=BASIC,
    )
    assert sum(record["cold"] for record in run.invocations) == 5  # all at once: each in its own environment
    assert run.emulation["mode"] == "parallel"
    assert run.emulation["per_power"][0]["environments"] == 5


def test_parallel_environments_never_oversubscribe_the_cores():
    assert parallel_environments(10, 128, cores=2) == 10  # 10 × 0.072 cores fit on 2
    assert parallel_environments(10, 1024, cores=2) == 3  # 3 × 0.58 ≤ 2
    assert parallel_environments(10, 3008, cores=2) == 2  # one core each at most
    assert parallel_environments(10, 3008, cores=1) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num": 4}, "num must be an integer of at least 5, got 4"),
        ({"num": None}, "num must be an integer of at least 5, got None"),
        ({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f:live"}, "unqualified"),
        ({"powerValues": ["big"]}, "powerValues"),
        ({"payload": [{"payload": {"a": 1}, "weight": 1}] * 6}, "increase"),
    ],
)
def test_bad_input_is_refused_before_anything_runs(overrides, message):
    with pytest.raises(ValueError, match=message):
        ExecutionInput.for_run(_input(**overrides))


@pytest.mark.parametrize(
    ("option", "message"), [({"init_cpu": "turbo"}, "init_cpu"), ({"cpu_limiter": "x"}, "cpu_limiter")]
)
def test_bad_options_are_refused_before_a_server_starts(monkeypatch, option, message):
    monkeypatch.setattr("emulator.table_setup.running_moto", None)  # starting one would fail differently
    with pytest.raises(ValueError, match=message):
        _run(_input(), **option)


@pytest.mark.slow
def test_the_real_function_tunes_with_the_weighted_api_mix():
    """function/ with the CLI's payloads: seeded items, a weighted mix of proxy events, no errors."""
    execution_input = {
        "lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:serverless-crud",
        "powerValues": [512, 1024],
        "num": 5,
        "payload": weighted_payload(parse_mix("get=60,create=20,list=20")),
    }
    run = _run(execution_input, seed=seed_events())

    assert [record["error"] for record in run.invocations] == [None] * 10
    assert run.output["power"] in (512, 1024)


def test_create_table_makes_the_tables_keys_from_api_table_json_and_is_idempotent(moto_endpoint):
    import boto3

    client = boto3.client("dynamodb")
    create_table(client, "items")
    create_table(client, "items")  # a restart finds it there

    table = client.describe_table(TableName="items")["Table"]
    assert (
        table["KeySchema"] == table_definition()["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    )
    assert table["TableStatus"] == "ACTIVE"
    assert "_comment" not in table_definition()


@pytest.mark.slow
def test_a_failed_run_stops_its_private_server_and_environments(monkeypatch):
    import emulator.table_setup

    servers, runtimes = [], []
    real_running_moto, real_runtime = emulator.table_setup.running_moto, local_runner.LambdaRuntime

    @contextlib.contextmanager
    def spy_running_moto(*args, **kwargs):
        with real_running_moto(*args, **kwargs) as server:
            servers.append(server)
            yield server

    def spy_runtime(**kwargs):
        runtimes.append(real_runtime(**kwargs))
        return runtimes[-1]

    monkeypatch.setattr(emulator.table_setup, "running_moto", spy_running_moto)
    monkeypatch.setattr(local_runner, "LambdaRuntime", spy_runtime)
    with pytest.raises(TuningError):
        _run(_input(powerValues=[1024], payload={"action": "raise"}), function_dir=BASIC)

    (server,) = servers
    host, port = urllib.parse.urlsplit(server.endpoint_url).netloc.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):  # the server process is gone, not just answering errors
        socket.create_connection((host, int(port)), timeout=5).close()
    assert runtimes
    for runtime in runtimes:
        with pytest.raises(RuntimeError, match="closed"):
            runtime.invoke({})


def _read_until(stream: IO[bytes], pattern: re.Pattern[bytes], limit_s: float) -> bytes:
    """What ``stream`` said until ``pattern`` appeared (or it closed, or ``limit_s`` passed)."""
    seen = b""
    give_up = time.monotonic() + limit_s
    while not pattern.search(seen) and time.monotonic() < give_up:
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.slow
def test_ctrl_c_during_a_local_run_exits_130_in_one_line_and_leaves_nothing_running(tmp_path):
    """Ctrl-C reaches the whole process group, as from a terminal: the CLI, its moto server and workers."""
    results = tmp_path / "results"
    command = [sys.executable, "-m", "tuning", "run", "--target", "local", "--num", "400"]
    process = subprocess.Popen(
        [*command, "--power-values", "128,256", "--results-dir", str(results)],
        cwd=tmp_path,  # no .local/outputs.json here: a private moto server, as on a fresh clone
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, which the test signals like a terminal would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # pytest may run with it ignored
    )
    try:
        assert process.stderr is not None
        # measuring has begun once the bar counts an invocation: server, table and an environment are running
        progress = _read_until(process.stderr, re.compile(rb"\| *[1-9]\d*/800 "), limit_s=120)
        assert re.search(rb"\| *[1-9]\d*/800 ", progress), progress.decode(errors="replace")
        children = psutil.Process(process.pid).children(recursive=True)
        assert any("awslambdaric" in child.cmdline() for child in children)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    last_line = err.decode(errors="replace").replace("\r", "\n").strip().splitlines()[-1]
    assert process.returncode == 130, err.decode(errors="replace")
    assert last_line == "interrupted: run stopped before it finished; nothing was saved"
    assert b"Traceback" not in err
    assert out == b""
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert not results.exists()


# Bytes of the CLI's payloads, counted by hand (tuning.payloads): headers accept: application/json CRLF 26,
# host: api.example.invalid CRLF 27, user-agent: power-tuning CRLF 26, and the CRLF that ends them, 2.
GET_BYTES = len("GET /prod/items/power-tuning-001 HTTP/1.1\r\n") + 26 + 27 + 26 + 2  # 43 + 81 = 124
LIST_BYTES = len("GET /prod/items?limit=25 HTTP/1.1\r\n") + 26 + 27 + 26 + 2  # 35 + 81 = 116
# POST line 27, the headers 79, content-type: application/json CRLF 32, Content-Length: 76 CRLF 20, CRLF 2,
# and the sample item's 76 bytes of JSON
CREATE_BYTES = 27 + 79 + 32 + 20 + 2 + 76  # 236


@pytest.mark.slow
def test_a_local_run_of_the_api_mix_measures_the_bytes_per_request(tmp_path):
    """The results file's records carry the four sizes and its traffic their means; the CLI prints them."""
    request = run_request(
        "local",
        None,
        power_values=[1024],
        sampling=Sampling(5),
        mix=parse_mix("get=60,create=20,list=20"),
        results_dir=tmp_path,
    )
    saved = run_and_save(request, None)

    document = json.loads(saved.path.read_text())
    records = document["invocations"]
    assert [record["error"] for record in records] == [None] * 5
    assert sorted(record["request_bytes"] for record in records) == [LIST_BYTES] + [GET_BYTES] * 3 + [
        CREATE_BYTES
    ]
    for record in records:
        # a status line and the framing headers alone are over 100 bytes; a list page of 25 items stays small
        assert 100 < record["response_bytes"] < 16 * 1024
        # START, END and REPORT at least, each a log event with its 26 bytes
        assert record["log_bytes"] > len(record["report"]) + 3 * 26
        assert 300 < record["access_log_bytes"] < 700  # one JSON line of 17 fields
    traffic = document["traffic"]
    assert traffic["requests"] == 5
    assert traffic["requestBytes"] == pytest.approx((3 * GET_BYTES + LIST_BYTES + CREATE_BYTES) / 5)  # 144.8
    for key, field in (("responseBytes", "response_bytes"), ("functionLogBytes", "log_bytes")):
        assert min(r[field] for r in records) <= traffic[key] <= max(r[field] for r in records)
    assert read_run(saved.path).traffic.request_bytes == pytest.approx(144.8)
    assert "Measured per request: request 145 B, response " in saved.text


def _invocation(payload, error=None) -> Invocation:
    return Invocation(
        request_id="lambda-1",
        payload=payload,
        error=error,
        duration_ms=4.6,
        billed_ms=5,
        init_ms=None,
        memory_mb=1024,
        max_memory_used_mb=60,
        report_line="REPORT RequestId: lambda-1",  # 26 bytes
        log_lines=["START", "REPORT RequestId: lambda-1"],  # 5 + 26, and 26 per event
        cold=False,
    )


def test_a_function_error_is_measured_as_the_front_doors_502_and_logged_as_such():
    boom = {"errorType": "ValueError", "errorMessage": "boom"}
    record = local_runner._record(1024, operation_event("get"), _invocation(boom, boom), traced=True)
    # HTTP/1.1 502 Bad Gateway CRLF 26, Content-Type: application/json CRLF 32, x-amzn-RequestId: power-tuning
    # CRLF 32, x-amzn-ErrorType: InternalServerErrorException CRLF 48, Date 37, Content-Length: 36 CRLF 20,
    # Connection: keep-alive CRLF 24, CRLF 2, {"message": "Internal server error"} 36
    assert record["response_bytes"] == 26 + 32 + 32 + 48 + 37 + 20 + 24 + 2 + 36
    assert record["request_bytes"] == GET_BYTES
    assert record["log_bytes"] == 5 + 26 + 26 + 26
    # the line API Gateway writes, its time (the event's, 26 characters wide) left as 26 x's
    line = (
        '{"requestId":"power-tuning","extendedRequestId":"power-tuning","ip":"127.0.0.1",'
        '"requestTime":"xxxxxxxxxxxxxxxxxxxxxxxxxx","httpMethod":"GET","resourcePath":"/items/{id}",'
        '"path":"/prod/items/power-tuning-001","status":"502","protocol":"HTTP/1.1","responseLength":"36",'
        '"responseLatency":"5","integrationLatency":"5","integrationStatus":"200","integrationError":"-",'
        '"errorMessage":"Internal server error","apiKeyId":"-",'
        '"xrayTraceId":"1-00000000-000000000000000000000000"}'
    )
    assert record["access_log_bytes"] == len(line) + 26


def test_an_event_no_front_door_sends_has_only_its_log_bytes():
    record = local_runner._record(1024, {"action": "echo"}, _invocation({"ok": True}), traced=False)
    assert (record["request_bytes"], record["response_bytes"], record["access_log_bytes"]) == (
        None,
        None,
        None,
    )
    assert record["log_bytes"] == 5 + 26 + 26 + 26
