"""End to end: the local stack over HTTP, its telemetry in the emulator, and a clean stop."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from emulator import faults
from tests.e2e.lambda_metrics import lambda_metric_sum
from tests.e2e.served_stack import PROJECT_ROOT, ServedStack, start_stack, stop_stack

pytestmark = pytest.mark.slow
WAIT_S = 30


def call(
    stack: ServedStack, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        stack.outputs["api_url"] + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw, status, answer_headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, answer_headers = error.read(), error.code, dict(error.headers)
    return status, answer_headers, json.loads(raw) if raw else None


def keyed(stack: ServedStack) -> dict[str, str]:
    return {"x_api_key": stack.outputs["api_key"]}


def test_outputs_follow_the_stack_contract(served_stack: ServedStack) -> None:
    outputs = served_stack.outputs
    assert outputs["api_url"].endswith("/prod")
    assert outputs["api_url"].startswith("http://127.0.0.1:")
    assert outputs["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:serverless-crud-local"
    assert outputs["alias_arn"] == outputs["function_arn"] + ":live"
    assert outputs["log_group_name"] == "/aws/lambda/serverless-crud-local"
    assert outputs["state_machine_arn"] is None
    pulumi_config = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"]
    assert outputs["memory_size"] == pulumi_config["memorySize"]["default"]  # runs as the prod stack would
    assert outputs["architecture"] == pulumi_config["architecture"]["default"]
    assert served_stack.outputs_path.stat().st_mode & 0o077 == 0  # it holds the API key
    assert re.fullmatch(r"[A-Za-z0-9]{40}", outputs["api_key"])  # API Gateway's form: never starts with "-"
    tables = served_stack.client("dynamodb").list_tables()["TableNames"]
    assert outputs["table_name"] in tables


@pytest.mark.parametrize("key", [None, "not-the-key"])
def test_requests_without_the_right_key_are_forbidden(served_stack: ServedStack, key: str | None) -> None:
    headers = {} if key is None else {"x_api_key": key}
    for method, path, body in (("GET", "/items", None), ("POST", "/DynamoDBManager", {"operation": "ping"})):
        status, _, answer = call(served_stack, method, path, body, **headers)
        assert status == 403
        assert answer == {"message": "Forbidden"}


def test_rest_crud_cycle(served_stack: ServedStack) -> None:
    key = keyed(served_stack)
    status, headers, created = call(served_stack, "POST", "/items", {"name": "tea", "price": 3.5}, **key)
    assert status == 201, created
    assert created["version"] == 1
    path = f"/items/{created['id']}"
    assert headers["Location"].endswith(path)

    status, headers, read = call(served_stack, "GET", path, **key)
    assert (status, read["name"], read["price"]) == (200, "tea", 3.5)
    etag = headers["ETag"]

    status, _, replaced = call(served_stack, "PUT", path, {"name": "green tea"}, If_Match=etag, **key)
    assert (status, replaced["version"], "price" in replaced) == (200, 2, False)
    status, _, _ = call(served_stack, "PUT", path, {"name": "stale"}, If_Match=etag, **key)
    assert status == 412

    status, _, patched = call(served_stack, "PATCH", path, {"price": 4}, **key)
    assert (status, patched["name"], patched["price"], patched["version"]) == (200, "green tea", 4, 3)

    status, _, page = call(served_stack, "GET", "/items?limit=100", **key)
    assert status == 200
    assert created["id"] in [item["id"] for item in page["items"]]

    assert call(served_stack, "DELETE", path, **key)[0] == 204
    assert call(served_stack, "GET", path, **key)[0] == 404
    assert call(served_stack, "DELETE", path, **key)[0] == 404


def test_tutorial_endpoint_cycle(served_stack: ServedStack) -> None:
    key = keyed(served_stack)
    item_key = {"id": "e2e-tutorial-1"}
    rpc = "/DynamoDBManager"
    create = {"operation": "create", "payload": {"Item": {**item_key, "number": 5}}}
    assert call(served_stack, "POST", rpc, create, **key)[0] == 200
    assert call(served_stack, "POST", rpc, create, **key)[0] == 409  # no silent overwrite
    status, _, read = call(
        served_stack, "POST", rpc, {"operation": "read", "payload": {"Key": item_key}}, **key
    )
    assert (status, read["Item"]["number"]) == (200, 5)
    update = {
        "Key": item_key,
        "UpdateExpression": "SET #num = :newNum",
        "ExpressionAttributeNames": {"#num": "number"},
        "ExpressionAttributeValues": {":newNum": 10},
    }
    assert call(served_stack, "POST", rpc, {"operation": "update", "payload": update}, **key)[0] == 200
    status, _, listed = call(
        served_stack, "POST", "/dynamodbmanager", {"operation": "list", "payload": {}}, **key
    )
    assert status == 200
    assert {"id": "e2e-tutorial-1", "number": 10} in [
        {k: item[k] for k in ("id", "number")} for item in listed["Items"] if item["id"] == "e2e-tutorial-1"
    ]
    assert (
        call(served_stack, "POST", rpc, {"operation": "delete", "payload": {"Key": item_key}}, **key)[0]
        == 200
    )
    status, _, read = call(
        served_stack, "POST", rpc, {"operation": "read", "payload": {"Key": item_key}}, **key
    )
    assert (status, "Item" in read) == (200, False)


def _report_lines(stack: ServedStack) -> list[str]:
    logs = stack.client("logs")
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=stack.outputs["log_group_name"], filterPattern='"REPORT RequestId"'
    )
    return [event["message"] for page in pages for event in page["events"]]


def _metric_sum(stack: ServedStack, name: str, with_resource: bool) -> float:
    function = stack.outputs["function_name"]
    resource = f"{function}:live" if with_resource else None
    return lambda_metric_sum(stack.client("cloudwatch"), function, name, resource)


def _wait_for(condition, what: str) -> None:
    """Telemetry is published off the request path: wait for it, failing with ``what`` if it never comes."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never observed: {what}")
        time.sleep(0.2)


def test_report_lines_and_metrics_reach_the_emulator(served_stack: ServedStack) -> None:
    key = keyed(served_stack)
    reports_before = len(_report_lines(served_stack))
    invocations_before = _metric_sum(served_stack, "Invocations", with_resource=True)
    for _ in range(3):
        assert call(served_stack, "GET", "/items?limit=1", **key)[0] == 200

    # Earlier tests' telemetry may still be arriving, hence "at least".
    _wait_for(lambda: len(_report_lines(served_stack)) >= reports_before + 3, "3 new REPORT lines")
    newest = _report_lines(served_stack)[-1]
    assert "Memory Size: 1024 MB" in newest
    assert "Billed Duration:" in newest
    for with_resource in (False, True):
        _wait_for(
            lambda wr=with_resource: _metric_sum(served_stack, "Invocations", wr) >= invocations_before + 3,
            f"Invocations metric (Resource dimension: {with_resource})",
        )
        assert _metric_sum(served_stack, "Duration", with_resource) > 0


def test_list_cursors_hold_under_the_key_the_stack_made_at_start(served_stack: ServedStack) -> None:
    key = keyed(served_stack)
    for n in range(2):
        assert call(served_stack, "PUT", f"/items/e2e-cursor-{n}", {"n": n}, **key)[0] in (200, 201)
    reports_before = len(_report_lines(served_stack))
    status, _, first = call(served_stack, "GET", "/items?limit=1", **key)
    assert status == 200
    cursor = first["nextCursor"]
    status, _, second = call(served_stack, "GET", f"/items?limit=1&cursor={cursor}", **key)
    assert status == 200
    assert second["items"]
    assert second["items"] != first["items"]
    status, _, refused = call(served_stack, "GET", f"/items?cursor={cursor[:-3]}", **key)
    assert status == 400
    assert "start listing again" in refused["detail"]
    # Every environment got the stack's key: none logged that it had to make its own.
    _wait_for(lambda: len(_report_lines(served_stack)) >= reports_before + 3, "3 new REPORT lines")
    logs = served_stack.client("logs")
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=served_stack.outputs["log_group_name"], filterPattern='"WARNING"'
    )
    assert [event["message"] for page in pages for event in page["events"]] == []


def test_a_taken_port_is_a_one_line_error_with_exit_code_2(served_stack: ServedStack, tmp_path: Path) -> None:
    port = served_stack.outputs["api_url"].rsplit(":", 1)[1].split("/")[0]
    completed = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--port", port, "--outputs", str(tmp_path / "o.json")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert f"port {port}" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "o.json").exists()


def test_sigterm_stops_everything_and_frees_the_port(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "outputs.json")
    try:
        assert call(stack, "GET", "/items", **keyed(stack))[0] == 200  # an execution environment now exists
        children = stack.descendants()
        assert len(children) >= 2  # the moto server and at least one execution environment
        api_port = int(stack.outputs["api_url"].rsplit(":", 1)[1].split("/")[0])
    finally:
        returncode = stop_stack(stack.process)
    assert returncode == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert not stack.outputs_path.exists()  # no tool is left pointing at a dead stack
    listening = {c.laddr.port for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert api_port not in listening


def test_cors_as_the_stack_configures_it(served_stack: ServedStack) -> None:
    """Pulumi.yaml's corsAllowOrigin ("*"): preflights, gateway errors and function answers carry it."""
    request = urllib.request.Request(served_stack.outputs["api_url"] + "/items/abc", method="OPTIONS")
    with urllib.request.urlopen(request, timeout=30) as preflight:
        assert preflight.status == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert call(served_stack, "GET", "/items", x_api_key="wrong")[1]["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = call(served_stack, "GET", "/items", **keyed(served_stack))
    assert (status, headers["Access-Control-Allow-Origin"]) == (200, "*")


def test_the_unprivileged_cpu_limiter_serves_is_labelled_and_a_closed_terminal_stops_it(
    tmp_path: Path,
) -> None:
    """What users without cgroup rights get (containers, rootless): the SIGSTOP/SIGCONT duty cycle. Its
    stack is stopped as a closed terminal stops it (SIGHUP), as cleanly as by SIGTERM: one stack, not two."""
    stack = start_stack(tmp_path / "outputs.json", "--cpu-limiter", "dutycycle", "--memory", "256")
    try:
        status, _, item = call(stack, "PUT", "/items/duty-1", {"n": 1}, **keyed(stack))
        assert (status, item["n"]) == (201, 1)
        assert call(stack, "GET", "/items/duty-1", **keyed(stack))[0] == 200
        children = stack.descendants()
        stack.process.send_signal(signal.SIGHUP)
        returncode = stack.process.wait(timeout=30)
    finally:
        stop_stack(stack.process)
    assert returncode == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert not stack.outputs_path.exists()
    banner = stack.process.stdout.read() if stack.process.stdout else ""
    assert "serverless-crud-local, 256 MB (cpu_limiter=dutycycle, cpu_share=0.1447" in banner


def test_faults_hit_the_functions_traffic_only_and_are_logged_published_and_summed_up(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "outputs.json", "--fault", "dynamodb-error=100", "--fault-seed", "4")
    try:
        status, _, body = call(stack, "GET", "/items", **keyed(stack))
        assert (status, body["status"]) == (502, 502)  # every attempt of the function's Scan failed
        # The operator's own calls go to the moto server itself, where no fault is injected.
        dynamodb = stack.client("dynamodb")
        assert dynamodb.scan(TableName=stack.outputs["table_name"])["Items"] == []
        cloudwatch = stack.client("cloudwatch")

        def published() -> bool:
            found = cloudwatch.list_metrics(Namespace=faults.NAMESPACE, MetricName=faults.METRIC)["Metrics"]
            return [metric["Dimensions"] for metric in found] == [
                [{"Name": "Fault", "Value": "dynamodb-error"}]
            ]

        _wait_for(published, "the FaultsInjected metric in the emulator's namespace")
    finally:
        returncode = stop_stack(stack.process)
    assert returncode == 0
    logged = [line for line in stack.process.stderr.read().splitlines() if line.startswith("fault injected:")]
    assert logged
    assert set(logged) == {"fault injected: dynamodb-error (Scan)"}
    summary = stack.process.stdout.read().splitlines()[-1]
    assert summary == f"faults injected: {len(logged)} (dynamodb-error {len(logged)}; seed 4)"


@pytest.mark.parametrize("fault", ["lambda-crash", "lambda-init-error"])
def test_lambda_faults_reach_the_runtime_and_are_summed_up(tmp_path: Path, fault: str) -> None:
    stack = start_stack(tmp_path / "outputs.json", "--fault", f"{fault}=100", "--fault-seed", "2")
    try:
        status, _, body = call(stack, "GET", "/items", **keyed(stack))
        assert (status, body) == (
            502,
            {"message": "Internal server error"},
        )  # API Gateway's, not the function's
        assert stack.client("dynamodb").scan(TableName=stack.outputs["table_name"])["Items"] == []
    finally:
        assert stop_stack(stack.process) == 0
    logged = [line for line in stack.process.stderr.read().splitlines() if line.startswith("fault injected:")]
    assert set(logged) == {f"fault injected: {fault}"}
    summary = stack.process.stdout.read().splitlines()[-1]
    assert summary == f"faults injected: {len(logged)} ({fault} {len(logged)}; seed 2)"


@pytest.mark.slow
def test_serve_picks_up_an_edit_and_a_syntax_error_then_serves_the_fix(tmp_path: Path) -> None:
    """make serve as a user runs it: an edit is served without a restart, a broken edit is a 502 (Lambda's
    init error), and the next good edit serves again; one line says each change was seen."""
    function = tmp_path / "function"
    shutil.copytree(PROJECT_ROOT / "function", function, ignore=shutil.ignore_patterns("__pycache__"))
    served = start_stack(tmp_path / "outputs.json", "--function-dir", str(function))
    url, key = served.outputs["api_url"] + "/items", served.outputs["api_key"]

    def get() -> tuple[int, dict]:
        request = urllib.request.Request(url, headers={"x-api-key": key})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    def until(check) -> float:
        started = time.monotonic()
        while time.monotonic() - started < 30:
            status, headers = get()
            if check(status, headers):
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"not served within 30 s: last answer {status} {headers}")

    try:
        assert get()[0] == 200
        good = (function / "app.py").read_text()
        edited = good.replace(
            "    return served.result\n",
            "    if isinstance(served.result, dict):\n"
            "        served.result.setdefault('headers', {})['X-Edited'] = 'yes'\n"
            "    return served.result\n",
        )
        assert edited != good
        (function / "app.py").write_text(edited)
        until(lambda status, headers: headers.get("X-Edited") == "yes")
        (function / "app.py").write_text(good + "\ndef broken(:\n")
        until(lambda status, headers: status == 502)
        (function / "app.py").write_text(good)
        until(lambda status, headers: status == 200 and "X-Edited" not in headers)
    finally:
        stop_stack(served.process)
    out = served.process.stdout.read()
    # the edit and the broken edit at least (after a failed init the fix is served by the next new
    # environment, possibly before the watcher's next look)
    assert out.count("function changed (app.py): new environments from now on") >= 2
    assert "reload     on" in out


def _post(served: ServedStack, body: dict, headers: dict | None = None) -> int:
    request = urllib.request.Request(
        served.outputs["api_url"] + "/items",
        data=json.dumps(body).encode(),
        headers={
            "x-api-key": served.outputs["api_key"],
            "Content-Type": "application/json",
            **(headers or {}),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def _ids(served: ServedStack) -> set[str]:
    table = served.client("dynamodb")
    return {item["id"]["S"] for item in table.scan(TableName=served.outputs["table_name"])["Items"]}


@pytest.mark.slow
def test_state_keeps_every_acknowledged_write_across_a_clean_stop_and_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "state"
    outputs = tmp_path / "outputs.json"
    served = start_stack(outputs, "--state", str(state))
    try:
        assert {_post(served, {"id": f"kept-{n}", "n": n}) for n in range(5)} == {201}
        assert _post(served, {"n": 1}, {"Idempotency-Key": "durable-key"}) == 201
    finally:
        assert stop_stack(served.process) == 0
    served = start_stack(outputs, "--state", str(state))
    try:
        assert {f"kept-{n}" for n in range(5)} <= _ids(served)
        assert _post(served, {"id": "after-restart"}) == 201
        processes = [psutil.Process(served.process.pid), *served.descendants()]
        for process in processes:  # the whole stack at once, moto child included: no one stops cleanly
            process.send_signal(signal.SIGSTOP)
        for process in processes:
            process.kill()
        psutil.wait_procs(processes, timeout=10)
    finally:
        stop_stack(served.process)
    outputs.unlink()  # left behind by the killed stack: start_stack waits for the new one's
    served = start_stack(outputs, "--state", str(state))
    try:
        ids = _ids(served)
        assert {f"kept-{n}" for n in range(5)} | {"after-restart"} <= ids
        assert len(ids) == 7  # and the keyed create's item, once
    finally:
        stop_stack(served.process)


@pytest.mark.slow
def test_a_state_folder_of_another_format_stops_serve_with_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "snapshot.json").write_text('{"format": 99, "tables": {}}')
    completed = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--outputs", str(tmp_path / "o.json"),
         "--state", str(state)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "format 99" in completed.stderr
    assert not (tmp_path / "o.json").exists()
