"""The local API Gateway against the real api/openapi.yaml: routing, API key, proxy events and responses."""

from __future__ import annotations

import base64
import email.message
import http.client
import io
import json
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator.gateway import (
    FrontDoor,
    GatewayHttpServer,
    HttpRequest,
    LocalApiGateway,
    RouteTable,
    _RequestHandler,
)
from emulator.throttling import TokenBucket

SPEC = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
KEY = "the-right-key"


@dataclass
class FakeInvocation:
    request_id: str
    payload: Any
    error: dict | None = None


class FakeFunction:
    """Records every event and answers with a fixed payload (or error)."""

    def __init__(self, payload: Any = ..., error: dict | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.payload = {"statusCode": 200, "body": "{}"} if payload is ... else payload
        self.error = error

    def __call__(self, event: dict[str, Any]) -> FakeInvocation:
        self.events.append(event)
        return FakeInvocation("req-1", self.payload, self.error)


def request(method: str, target: str, *, key: str | None = KEY, headers=(), body: bytes = b"") -> HttpRequest:
    all_headers = [("Host", "127.0.0.1:3000"), *headers]
    if key is not None:
        all_headers.append(("x-api-key", key))
    return HttpRequest(method, target, all_headers, body, source_ip="127.0.0.9")


@pytest.fixture(scope="module")
def routes() -> RouteTable:
    return RouteTable.from_openapi(SPEC)


def gateway(routes: RouteTable, function: FakeFunction) -> LocalApiGateway:
    return LocalApiGateway(routes, api_key=KEY, invoke=function, port=3000)


def test_every_spec_operation_requires_the_api_key(routes: RouteTable) -> None:
    operations = {
        (route.resource, method): op for route in routes.routes for method, op in route.operations.items()
    }
    assert ("/items", "POST") in operations
    assert ("/items/{id}", "PATCH") in operations
    assert ("/DynamoDBManager", "POST") in operations
    assert all(op.api_key_required for op in operations.values())


@pytest.mark.parametrize(
    ("target", "method"),
    [
        ("/prod/nothing-here", "GET"),
        ("/prod/items/a/b", "GET"),
        ("/prod/items", "DELETE"),  # the path exists, the method does not
        ("/prod/DynamoDBManager", "GET"),
        ("/items", "GET"),  # no stage prefix
        ("/test/items", "GET"),  # another stage
    ],
)
def test_undefined_route_is_missing_authentication_token_before_the_key(routes, target, method) -> None:
    function = FakeFunction()
    response = gateway(routes, function).handle(request(method, target, key=None))
    assert response.status == 403
    assert json.loads(response.body) == {"message": "Missing Authentication Token"}
    assert function.events == []


@pytest.mark.parametrize("key", [None, "wrong-key", "", KEY + "x"])
def test_missing_or_wrong_key_is_forbidden_and_never_reaches_the_function(routes, key) -> None:
    function = FakeFunction()
    response = gateway(routes, function).handle(request("GET", "/prod/items", key=key))
    assert response.status == 403
    assert json.loads(response.body) == {"message": "Forbidden"}
    assert ("Content-Type", "application/json") in response.headers
    assert function.events == []


def test_without_api_key_auth_a_request_without_key_reaches_the_function(routes: RouteTable) -> None:
    """authMode none: the stack's methods need no key, and the event carries no apiKey identity."""
    function = FakeFunction()
    open_gateway = LocalApiGateway(routes, api_key=KEY, invoke=function, front_door=FrontDoor("rest", "none"))
    assert open_gateway.handle(request("GET", "/prod/items", key=None)).status == 200
    assert function.events[0]["requestContext"]["identity"]["apiKey"] is None


def test_proxy_event_has_the_rest_v1_shape(routes: RouteTable) -> None:
    function = FakeFunction()
    headers = [("Accept", "text/plain"), ("Accept", "application/json"), ("Content-Type", "application/json")]
    target = "/prod/items/caf%C3%A9%3A1?limit=5&tag=a&tag=b&empty="
    gateway(routes, function).handle(request("PUT", target, headers=headers, body=b'{"n": 1}'))

    (event,) = function.events
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/café:1"
    assert event["httpMethod"] == "PUT"
    assert event["pathParameters"] == {"id": "café:1"}
    assert event["queryStringParameters"] == {"limit": "5", "tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"], "empty": [""]}
    assert event["headers"]["Accept"] == "application/json"
    assert event["multiValueHeaders"]["Accept"] == ["text/plain", "application/json"]
    assert event["headers"]["x-api-key"] == KEY
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.9"
    assert event["stageVariables"] is None
    assert event["body"] == '{"n": 1}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "prod"
    assert context["resourcePath"] == "/items/{id}"
    assert context["path"] == "/prod/items/café:1"
    assert context["httpMethod"] == "PUT"
    assert context["identity"]["sourceIp"] == "127.0.0.9"
    assert context["identity"]["apiKey"] == KEY
    assert len(context["requestId"]) == 36


def test_absent_parts_are_null_as_api_gateway_sends_them(routes: RouteTable) -> None:
    function = FakeFunction()
    gateway(routes, function).handle(request("GET", "/prod/items"))
    (event,) = function.events
    assert event["resource"] == "/items"
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None


def test_each_request_gets_its_own_request_id(routes: RouteTable) -> None:
    function = FakeFunction()
    gw = gateway(routes, function)
    first, second = (gw.handle(request("GET", "/prod/items")) for _ in range(2))
    ids = {event["requestContext"]["requestId"] for event in function.events}
    assert len(ids) == 2
    assert first.request_id in ids
    assert second.request_id in ids


def test_literal_resource_beats_a_path_parameter() -> None:
    spec = {
        "paths": {
            "/items/{id}": {"get": {}},
            "/items/special": {"get": {}},
            "/files/{path+}": {"get": {}},
        }
    }
    table = RouteTable.from_spec(spec)
    assert table.match("/items/special")[0].resource == "/items/special"
    assert table.match("/items/other") == (table.match("/items/other")[0], {"id": "other"})
    assert table.match("/items/other")[0].resource == "/items/{id}"
    assert table.match("/files/a/b/c")[1] == {"path": "a/b/c"}


def test_operation_without_security_needs_no_key() -> None:
    spec = {
        "components": {"securitySchemes": {"k": {"type": "apiKey", "in": "header", "name": "x-api-key"}}},
        "security": [{"k": []}],
        "paths": {"/open": {"get": {"security": []}}, "/closed": {"get": {}}},
    }
    function = FakeFunction()
    gw = LocalApiGateway(RouteTable.from_spec(spec), api_key=KEY, invoke=function)
    assert gw.handle(request("GET", "/prod/open", key=None)).status == 200
    assert gw.handle(request("GET", "/prod/closed", key=None)).status == 403
    assert function.events[0]["requestContext"]["identity"]["apiKey"] is None


def test_proxy_response_is_mapped_back(routes: RouteTable) -> None:
    payload = {
        "statusCode": 201,
        "headers": {"ETag": '"1"', "X-Count": 3, "Set-Cookie": "ignored-single"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": '{"id": "x"}',
        "isBase64Encoded": False,
    }
    response = gateway(routes, FakeFunction(payload)).handle(request("POST", "/prod/items", body=b"{}"))
    assert response.status == 201
    assert response.body == b'{"id": "x"}'
    assert ("ETag", '"1"') in response.headers
    assert ("X-Count", "3") in response.headers
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("Content-Type", "application/json") in response.headers  # API Gateway's default


def test_base64_response_body_is_decoded(routes: RouteTable) -> None:
    raw = bytes(range(256))
    payload = {
        "statusCode": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": base64.b64encode(raw).decode(),
        "isBase64Encoded": True,
    }
    response = gateway(routes, FakeFunction(payload)).handle(request("GET", "/prod/items"))
    assert response.body == raw
    assert ("Content-Type", "application/json") not in response.headers


@pytest.mark.parametrize(
    "payload",
    [
        "just a string",
        None,
        {"body": "{}"},  # no statusCode
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "{}", "extra": 1},
        {"statusCode": 99, "body": ""},
        {"statusCode": True, "body": ""},
        {"statusCode": 200, "headers": {"X-Evil": "a\r\nSet-Cookie: x=1"}, "body": ""},
        {"statusCode": 200, "headers": ["not", "a", "dict"], "body": ""},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}, "body": ""},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
        {"statusCode": 200, "body": "", "isBase64Encoded": "yes"},
    ],
)
def test_malformed_proxy_response_is_a_502(routes: RouteTable, payload: Any) -> None:
    response = gateway(routes, FakeFunction(payload)).handle(request("GET", "/prod/items"))
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


def test_function_error_is_a_502(routes: RouteTable) -> None:
    function = FakeFunction(error={"errorType": "KeyError", "errorMessage": "'x'"})
    response = gateway(routes, function).handle(request("GET", "/prod/items"))
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


@pytest.fixture
def http_server(routes: RouteTable):
    function = FakeFunction({"statusCode": 200, "headers": {"X-Seen": "yes"}, "body": '{"ok": true}'})
    server = GatewayHttpServer(("127.0.0.1", 0), gateway(routes, function))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server, function
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_http_server_keeps_the_connection_alive_and_passes_bodies(http_server) -> None:
    server, function = http_server
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        for body in (b'{"a": 1}', '{"name": "é"}'.encode()):
            connection.request("POST", "/prod/items", body=body, headers={"x-api-key": KEY})
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("X-Seen") == "yes"
            assert len(response.msg.get_all("Date")) == 1  # stamped by the HTTP server, once
            assert json.loads(response.read()) == {"ok": True}
        connection.request("TRACE", "/prod/items", headers={"x-api-key": KEY})  # not even in http.server
        trace = connection.getresponse()
        assert (trace.status, json.loads(trace.read())) == (403, {"message": "Missing Authentication Token"})
        connection.request("HEAD", "/prod/items", headers={"x-api-key": KEY})  # not in the spec
        head = connection.getresponse()
        assert head.status == 403
        assert head.read() == b""  # HEAD answers carry no body, whatever the status
    finally:
        connection.close()
    assert [event["body"] for event in function.events[:2]] == ['{"a": 1}', '{"name": "é"}']
    assert function.events[0]["requestContext"]["domainName"] == f"127.0.0.1:{server.server_address[1]}"


def test_http_server_refuses_a_body_over_10_mb_without_reading_it(http_server) -> None:
    server, function = http_server
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.putrequest("POST", "/prod/items")
        connection.putheader("x-api-key", KEY)
        connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read()) == {"message": "Request Too Long"}
    finally:
        connection.close()
    assert function.events == []


def _body_read_by_server(headers: dict[str, str], wire: bytes) -> bytes | None:
    """What the HTTP layer reads as the body of a request with ``headers`` whose bytes after them are
    ``wire``: no socket, so a refusal cannot race the client's sending."""
    handler = _RequestHandler.__new__(_RequestHandler)
    handler.headers = email.message.Message()
    for name, value in headers.items():
        handler.headers[name] = value
    handler.rfile = io.BytesIO(wire)
    return handler._read_body()


def test_http_server_reads_bodies_by_length_or_chunks_and_refuses_them_past_10_mb() -> None:
    limit = 10 * 1024 * 1024
    assert _body_read_by_server({"Content-Length": "3"}, b"abcdef") == b"abc"
    assert _body_read_by_server({"Content-Length": "x"}, b"abc") is None
    assert _body_read_by_server({"Content-Length": str(limit + 1)}, b"") is None  # refused unread
    assert _body_read_by_server({}, b"") == b""
    chunked = {"Transfer-Encoding": "chunked"}
    assert _body_read_by_server(chunked, b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n") == b"abcde"
    one_mb = b"%x\r\n" % (1024 * 1024) + b"x" * 1024 * 1024 + b"\r\n"
    assert _body_read_by_server(chunked, one_mb * 10 + b"0\r\n\r\n") == b"x" * limit
    assert _body_read_by_server(chunked, one_mb * 10 + b"1\r\nx\r\n0\r\n\r\n") is None


def test_cors_preflight_is_answered_by_the_gateway_without_key_or_invocation(routes: RouteTable) -> None:
    function = FakeFunction()
    gw = LocalApiGateway(routes, api_key=KEY, invoke=function, cors_origin="https://app.example.com")
    response = gw.handle(request("OPTIONS", "/prod/items/abc", key=None))
    headers = dict(response.headers)
    assert response.status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "GET,PUT,DELETE,PATCH,OPTIONS"
    assert "X-Api-Key" in headers["Access-Control-Allow-Headers"]
    assert function.events == []


def test_gateway_errors_carry_cors_headers_only_when_cors_is_on(routes: RouteTable) -> None:
    with_cors = LocalApiGateway(routes, api_key=KEY, invoke=FakeFunction(), cors_origin="*")
    without = LocalApiGateway(routes, api_key=KEY, invoke=FakeFunction())
    forbidden = with_cors.handle(request("GET", "/prod/items", key=None))
    assert ("Access-Control-Allow-Origin", "*") in forbidden.headers
    assert "Access-Control-Allow-Origin" not in dict(
        without.handle(request("GET", "/prod/items", key=None)).headers
    )
    assert without.handle(request("OPTIONS", "/prod/items", key=None)).status == 403  # no CORS, no preflight
    answered = with_cors.handle(request("GET", "/prod/items"))  # the function's own headers are its business
    assert "Access-Control-Allow-Origin" not in dict(answered.headers)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.1  # one token back after 1/rate seconds
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100.0  # never more than the burst saved up
    assert sum(bucket.take() for _ in range(10)) == 3


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (10, 0)])
def test_token_bucket_refuses_impossible_limits(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="throttling"):
        TokenBucket(rate, burst)


def test_throttled_requests_are_429_and_never_reach_the_function(routes: RouteTable) -> None:
    function = FakeFunction()
    bucket = TokenBucket(rate=1, burst=2, clock=FakeClock())
    gw = LocalApiGateway(routes, api_key=KEY, invoke=function, throttle=bucket)
    statuses = [gw.handle(request("GET", "/prod/items")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(function.events) == 2
    throttled = gw.handle(request("GET", "/prod/items"))
    assert json.loads(throttled.body) == {"message": "Too Many Requests"}


def _raw_exchange(port: int, wire: bytes) -> bytes:
    """Send ``wire`` as it is and read the whole answer (the server closes the connection after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(wire)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_http_server_answers_400_to_a_chunked_body_it_cannot_frame(http_server) -> None:
    server, function = http_server
    port = server.server_address[1]
    wire = (
        f"POST /prod/items HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-api-key: {KEY}\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    ).encode()
    status_line, _, rest = _raw_exchange(port, wire).partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    assert b'{"message": "Bad Request: malformed chunked body"}' in rest
    assert function.events == []


@pytest.mark.parametrize(
    "host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.1", "localhost.evil:{port}", ""]
)
def test_http_server_refuses_a_host_other_than_this_loopback_server(http_server, host: str) -> None:
    server, function = http_server
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", "/prod/items", skip_host=True)
        if host:
            connection.putheader("Host", host.format(port=port))
        connection.putheader("x-api-key", KEY)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 421
        assert "Host header" in json.loads(response.read())["message"]
    finally:
        connection.close()
    assert function.events == []


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_http_server_serves_the_loopback_names(http_server, name: str) -> None:
    server, _ = http_server
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", "/prod/items", skip_host=True)
        connection.putheader("Host", f"{name}:{port}")
        connection.putheader("x-api-key", KEY)
        connection.endheaders()
        assert connection.getresponse().status == 200
    finally:
        connection.close()
