"""The function answers HTTP API payload 2.0 events exactly as it answers REST's 1.0: same statuses, ETags,
Location headers and problems; only the envelope differs (2.0 adds ``cookies``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from api.events import HTTP_PAYLOAD, REST_PAYLOAD, PayloadFormat, ProxyRequest, proxy_event
from api.names import IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name

from .conftest import Context, app, create_table

JSON = [("Content-Type", "application/json")]
# Each step: method, resource, path parameters, headers, query, body.
SCENARIO: list[tuple[str, str, dict | None, list, list, str | None]] = [
    ("PUT", "/items/{id}", {"id": "fmt-1"}, JSON, [], '{"name": "first"}'),
    ("GET", "/items/{id}", {"id": "fmt-1"}, [], [], None),
    (
        "PATCH",
        "/items/{id}",
        {"id": "fmt-1"},
        [("Content-Type", "application/merge-patch+json"), ("If-Match", '"1"')],
        [],
        '{"price": 2}',
    ),
    ("PATCH", "/items/{id}", {"id": "fmt-1"}, [*JSON, ("If-Match", '"1"')], [], '{"price": 3}'),
    ("GET", "/items", None, [], [("limit", "0"), ("limit", "5")], None),  # repeats: the last value wins
    ("GET", "/items", None, [], [("limit", "nine")], None),
    ("POST", "/items", None, [("Content-Type", "text/plain")], [], '{"name": "x"}'),
    ("POST", "/items", None, JSON, [], "{not json"),
    ("GET", "/items/{id}", {"id": "missing"}, [], [], None),
    ("DELETE", "/items/{id}", {"id": "fmt-1"}, [], [], None),
    ("POST", "/DynamoDBManager", None, JSON, [], '{"operation": "echo", "payload": {"a": 1}}'),
]
VOLATILE = {"createdAt", "updatedAt", "requestId", "instance"}


def _stable(value: Any) -> Any:
    """The answer without what differs between any two calls (timestamps, request ids)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _run(payload_format: PayloadFormat, monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> list[tuple]:
    table = f"fmt-{uuid.uuid4().hex[:8]}"
    create_table(dynamodb.meta.client, table)
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.setenv(IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name(table))
    answers = []
    for method, resource, parameters, headers, query, body in SCENARIO:
        request = ProxyRequest(method, resource, parameters, headers=headers, query=query, body=body)
        response = app.lambda_handler(proxy_event(request, payload_format=payload_format), Context("r"))
        answers.append(
            (
                response["statusCode"],
                {k: v for k, v in response["headers"].items()},
                _stable(json.loads(response["body"])) if response["body"] else None,
            )
        )
    return answers


def test_both_payload_formats_get_the_same_answers(mocked_dynamodb, monkeypatch):
    monkeypatch.delenv("CORS_ALLOW_ORIGIN", raising=False)
    rest = _run(REST_PAYLOAD, monkeypatch, mocked_dynamodb)
    http = _run(HTTP_PAYLOAD, monkeypatch, mocked_dynamodb)
    assert [status for status, _, _ in rest] == [201, 200, 200, 412, 200, 400, 415, 400, 404, 204, 200]
    assert rest[0][1]["ETag"] == '"1"'
    assert rest[0][1]["Location"] == "/prod/items/fmt-1"
    assert len(rest[4][2]["items"]) == 1
    assert http == rest


def test_a_2_0_event_gets_a_2_0_response(api):
    request = ProxyRequest("GET", "/items/{id}", {"id": "absent"}, headers=[("Cookie", "a=1")])
    response = app.lambda_handler(proxy_event(request, payload_format=HTTP_PAYLOAD), Context("r"))
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded", "cookies"}
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"
    rest = app.lambda_handler(proxy_event(request), Context("r"))
    assert set(rest) == {"statusCode", "headers", "body", "isBase64Encoded"}


def test_a_2_0_event_on_the_default_stage_has_no_stage_prefix(api):
    request = ProxyRequest(
        "PUT", "/items/{id}", {"id": "d-1"}, headers=JSON, body='{"n": 1}', stage="$default"
    )
    event = proxy_event(request, payload_format=HTTP_PAYLOAD)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/items/d-1"
    response = app.lambda_handler(event, Context("r"))
    assert response["statusCode"] == 201
    assert response["headers"]["Location"] == "/items/d-1"
