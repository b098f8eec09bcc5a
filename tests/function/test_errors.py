"""Dependency failures, bugs, logging: 503/502 with the cause logged, never sent; one JSON/EMF log line."""

from __future__ import annotations

import json

import app
import pytest
import store


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
def test_throttling_is_503_with_retry_after(api, fail_dynamodb, code, capsys):
    fail_dynamodb(code)
    reply = api.get("/items/a")
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.json["status"] == 503
    (line,) = log_lines(capsys)
    assert code in line["cause"]
    assert line["level"] == "ERROR"


@pytest.mark.parametrize(
    "code",
    ["AccessDeniedException", "ResourceNotFoundException", "InternalServerError", "EndpointConnectionError"],
)
def test_other_aws_failures_are_502_with_cause_logged_not_sent(api, fail_dynamodb, code, capsys):
    fail_dynamodb(code)
    for reply in (api.put("/items/a", {"x": 1}), api.get("/items"), api.delete("/items/a")):
        assert reply.status == 502
        assert code not in reply.text
        assert "simulated" not in reply.text
        assert "amazonaws" not in reply.text
    causes = [line["cause"] for line in log_lines(capsys)]
    assert len(causes) == 3
    assert all(code in cause for cause in causes)


def test_tutorial_dependency_failure_carries_error_type(api, fail_dynamodb):
    fail_dynamodb("ThrottlingException")
    reply = api.post("/DynamoDBManager", {"operation": "read", "payload": {"Key": {"id": "a"}}})
    assert reply.status == 503
    assert reply.json["errorType"] == "ThrottlingException"
    result = api.direct({"operation": "list", "payload": {}})
    assert result["status"] == 503
    assert result["errorMessage"]


def test_bad_input_never_reaches_dynamodb(api, fail_dynamodb):
    failing = fail_dynamodb("InternalServerError")
    api.post("/items", {"version": 1})
    api.put("/items/bad id", {"a": 1})
    api.get("/items", query={"cursor": "tampered"})
    api.post("/DynamoDBManager", {"operation": "read", "payload": {"Key": {"id": "a"}, "TableName": "x"}})
    api.direct(
        {
            "operation": "update",
            "payload": {"Key": {"id": "a"}, "AttributeUpdates": {"version": {"Value": 1}}},
        }
    )
    assert failing.calls == []


def test_a_bug_is_an_opaque_500_with_the_traceback_in_the_log(api, monkeypatch, capsys):
    def broken(request):
        raise KeyError("secret-internal-detail")

    monkeypatch.setitem(app.routing.ROUTES["/items/{id}"], "GET", broken)
    reply = api.get("/items/a")
    assert reply.status == 500
    assert "secret-internal-detail" not in reply.text
    assert "Traceback" not in reply.text
    assert reply.json["requestId"] == api.last_request_id
    (line,) = log_lines(capsys)
    assert "secret-internal-detail" in line["cause"]
    assert "Traceback" in line["cause"]


def test_a_bug_in_a_direct_invocation_returns_an_error_object(api, monkeypatch):
    def broken(payload):
        raise RuntimeError("boom")

    monkeypatch.setitem(app.tutorial.OPERATIONS, "read", (broken, frozenset({"Key"})))
    result = api.direct({"operation": "read", "payload": {"Key": {"id": "a"}}})
    assert result["status"] == 500
    assert result["errorType"] == "InternalError"
    assert "boom" not in json.dumps(result)


def test_missing_table_configuration_is_reported(api, monkeypatch, capsys):
    monkeypatch.delenv("TABLE_NAME")
    assert api.get("/items/a").status == 500
    assert "TABLE_NAME" in log_lines(capsys)[0]["cause"]


def test_one_log_line_per_request_that_is_also_an_emf_record(api, capsys):
    api.put("/items/a", {"x": 1})
    api.get("/nowhere/at/all")
    api.direct({"operation": "ping"})
    put, unknown, ping = log_lines(capsys)
    assert put["method"] == "PUT"
    assert put["route"] == "/items/{id}"
    assert put["status"] == 201
    assert put["requestId"]
    assert put["latency_ms"] >= 0
    metrics = put["_aws"]["CloudWatchMetrics"][0]
    assert metrics["Namespace"] == "ServerlessCrud"
    assert metrics["Metrics"] == [{"Name": "Latency", "Unit": "Milliseconds"}]
    for dimension_set in metrics["Dimensions"]:
        for dimension in dimension_set:
            assert dimension in put  # EMF: every dimension is a member of the record
    assert put["Route"] == "PUT /items/{id}"
    assert put["Latency"] == put["latency_ms"]
    assert unknown["status"] == 404
    assert unknown["route"] == "unmatched"  # raw paths would make the metric's dimension unbounded
    assert ping["method"] == "INVOKE"
    assert ping["route"] == "direct ping"


def test_client_is_built_once_and_rebuilt_only_for_another_endpoint(api, monkeypatch):
    first = store.client()
    assert store.client() is first
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    second = store.client()
    assert second is not first
    assert second.meta.endpoint_url == "http://127.0.0.1:1"
