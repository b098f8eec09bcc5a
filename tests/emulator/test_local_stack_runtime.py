"""Lambda's behaviours end to end through the local stack: HTTP in, the runtime client's environments behind
the gateway, and what reaches the function's log group (the test function takes its action from the body)."""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from emulator.local_stack import LocalStack, StackSettings
from emulator.runtime_api import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES
from tests.emulator.conftest import BASIC

pytestmark = pytest.mark.slow
# The environments run uncapped (cpu_limiter "none"): these tests are about Lambda's failures behind the
# gateway, not its CPU share. Capped at 256 MB's share, filling the memory up to its limit is CPU work that a
# busy host stretched past the 3 s timeout now and then: the OOM test saw a timeout (the OOM flake).
TIMEOUT_S = 3.0
# Whether the next init crashes: checked (and consumed) by the function's module code.
INIT_CRASH_SWITCH = """
import pathlib as _pathlib
_switch = _pathlib.Path(__file__).with_name("crash-next-init")
if _switch.exists():
    _switch.unlink()
    raise RuntimeError("init crashed on purpose")
"""


class Stack:
    def __init__(self, stack: LocalStack, function_dir: Path) -> None:
        self.stack = stack
        self.outputs = stack.outputs
        self.function_dir = function_dir
        self.logs = boto3.client(
            "logs",
            endpoint_url=self.outputs["endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def call(self, body: Any = None, data: bytes | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.outputs["api_url"] + "/items",
            data=data if data is not None else json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "x-api-key": self.outputs["api_key"]},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def log_events(self) -> list[dict]:
        assert self.stack.flush_telemetry()
        events = self.logs.filter_log_events(logGroupName=self.outputs["log_group_name"])["events"]
        return sorted(events, key=lambda e: (e["timestamp"], e["eventId"]))

    def log_messages(self) -> list[str]:
        return [event["message"] for event in self.log_events()]

    def invocation_lines(self, marker: str) -> list[str]:
        """The log lines (START … REPORT) of the last invocation that logged ``marker``, read from that
        invocation's own log stream: across streams, timestamps interleave (a timed-out environment's REPORT
        was once sorted after the next environment's lines, and was taken for theirs)."""
        events = self.log_events()
        stream = [e for e in events if marker in e["message"]][-1]["logStreamName"]
        lines = [e["message"] for e in events if e["logStreamName"] == stream]
        at = max(i for i, line in enumerate(lines) if marker in line)
        start = max(i for i in range(at + 1) if lines[i].startswith("START "))
        end = next(i for i in range(at, len(lines)) if lines[i].startswith("REPORT "))
        init = start
        while init > 0 and not lines[init - 1].startswith(("REPORT ", "START ")):
            init -= 1
        return lines[init : end + 1]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("stack")
    function_dir = folder / "function"
    shutil.copytree(BASIC, function_dir)
    app = function_dir / "app.py"
    app.write_text(INIT_CRASH_SWITCH + app.read_text())
    settings = StackSettings(
        port=0,
        outputs_path=folder / "outputs.json",
        function_dir=function_dir,
        memory_mb=256,
        max_environments=1,
        cpu_limiter="none",
        timeout_s=TIMEOUT_S,
        throttling=False,
    )
    with LocalStack(settings) as local:
        yield Stack(local, function_dir)


def test_a_function_exception_is_api_gateways_502_and_the_environment_lives_on(stack: Stack) -> None:
    assert stack.call({"action": "raise"}) == (502, {"message": "Internal server error"})
    assert stack.call({"action": "status"})[0] == 201

    lines = stack.invocation_lines("handling raise")
    assert any(line.startswith("[ERROR] ValueError: boom\r") for line in lines)


def test_a_timeout_is_502_and_the_environment_is_discarded(stack: Stack) -> None:
    stack.call({"action": "status"})  # warm
    assert stack.call({"action": "sleep", "seconds": 30})[0] == 502
    timed_out = stack.invocation_lines("handling sleep")
    assert timed_out[-3].endswith(f"Task timed out after {TIMEOUT_S:.2f} seconds")
    assert "Status: timeout" in timed_out[-1]

    assert stack.call({"action": "status"})[0] == 201
    after = stack.invocation_lines("handling status")
    assert after[0].startswith("INIT_START")  # a fresh environment
    assert "Init Duration" in after[-1]


def test_running_out_of_memory_is_502_and_a_fresh_environment(stack: Stack) -> None:
    assert stack.call({"action": "allocate", "mb": 400})[0] == 502
    report = stack.invocation_lines("handling allocate")[-1]
    assert report.endswith("Max Memory Used: 256 MB\tStatus: error\tError Type: Runtime.OutOfMemory")

    assert stack.call({"action": "status"})[0] == 201
    assert stack.invocation_lines("handling status")[0].startswith("INIT_START")


def test_an_init_crash_is_an_init_error_and_the_next_request_inits_again(stack: Stack) -> None:
    (stack.function_dir / "crash-next-init").touch()
    assert stack.call({"action": "exit"})[0] == 502  # ends the warm environment: the next one is new
    assert stack.call({"action": "status"}) == (502, {"message": "Internal server error"})
    failed = stack.invocation_lines("init crashed on purpose")
    assert any(line.startswith("[ERROR] RuntimeError: init crashed on purpose") for line in failed)
    assert "Error Type: RuntimeError" in failed[-1]

    assert stack.call({"action": "status"})[0] == 201  # init retried, and it worked this time
    assert stack.invocation_lines("handling status")[0].startswith("INIT_START")


def test_logging_records_reach_the_log_stream_as_the_client_writes_them(stack: Stack) -> None:
    assert stack.call({"action": "log"})[0] == 200
    lines = stack.invocation_lines("a record from logging")
    start = next(line for line in lines if line.startswith("START "))
    request_id = start.split()[2]

    (record,) = [line for line in lines if "a record from logging" in line]
    level, timestamp, logged_id, message = record.split("\t")
    assert (level, logged_id, message) == ("[INFO]", request_id, "a record from logging")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp)


def test_lambdas_payload_limits_hold_behind_the_gateway(stack: Stack) -> None:
    assert stack.call({"action": "big", "bytes": MAX_RESPONSE_BYTES}) == (
        502,
        {"message": "Internal server error"},
    )
    assert "Error Type: Function.ResponseSizeTooLarge" in stack.invocation_lines("handling big")[-1]

    # under API Gateway's 10 MB but over Lambda's 6 MB: refused before the function runs
    status, answer = stack.call(data=b'{"pad": "' + b"x" * MAX_REQUEST_BYTES + b'"}')
    assert (status, answer) == (413, {"message": "Request Too Long"})
