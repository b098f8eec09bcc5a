"""The local gateway as the HTTP API front door: payload 2.0 events, its auth checks and its error shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.gateway import FrontDoor, HttpRequest, LocalApiGateway, RouteTable
from emulator.throttling import TokenBucket

from .test_gateway import FakeFunction

SPEC = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
SIGNED = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/execute-api/aws4_request",
)


@pytest.fixture(scope="module")
def routes() -> RouteTable:
    return RouteTable.from_openapi(SPEC)


def http_gateway(routes, function, auth_mode="none", throttle=None) -> LocalApiGateway:
    door = FrontDoor(api_type="http", auth_mode=auth_mode)
    return LocalApiGateway(routes, api_key="unused", invoke=function, front_door=door, throttle=throttle)


def get(target: str, *headers: tuple[str, str], method: str = "GET", body: bytes = b"") -> HttpRequest:
    return HttpRequest(method, target, [("Host", "127.0.0.1:3000"), *headers], body, source_ip="127.0.0.9")


def test_the_function_gets_a_2_0_event_without_an_api_key(routes) -> None:
    function = FakeFunction()
    request = get("/prod/items/a1?limit=5&tag=a&tag=b", ("Cookie", "s=1"), ("X-Tag", "a"), ("X-Tag", "b"))
    response = http_gateway(routes, function).handle(request)
    assert response.status == 200
    (event,) = function.events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/prod/items/a1"
    assert event["rawQueryString"] == "limit=5&tag=a&tag=b"
    assert event["queryStringParameters"] == {"limit": "5", "tag": "a,b"}
    assert event["headers"]["x-tag"] == "a,b"
    assert event["cookies"] == ["s=1"]
    assert event["pathParameters"] == {"id": "a1"}
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.9"


@pytest.mark.parametrize(
    ("target", "method"), [("/prod/nothing", "GET"), ("/prod/items", "DELETE"), ("/items", "GET")]
)
def test_an_unmatched_route_is_not_found(routes, target, method) -> None:
    function = FakeFunction()
    response = http_gateway(routes, function).handle(get(target, method=method))
    assert response.status == 404
    assert json.loads(response.body) == {"message": "Not Found"}
    assert function.events == []


@pytest.mark.parametrize(
    "authorization", [None, "Bearer abc", "AWS4-HMAC-SHA1 Credential=x", "aws4-hmac-sha256 Credential=x"]
)
def test_iam_wants_a_sigv4_authorization_header(routes, authorization) -> None:
    function = FakeFunction()
    headers = [("Authorization", authorization)] if authorization else []
    response = http_gateway(routes, function, "iam").handle(get("/prod/items", *headers))
    assert response.status == 403
    assert json.loads(response.body) == {"message": "Forbidden"}
    assert function.events == []
    assert http_gateway(routes, function, "iam").handle(get("/prod/items", SIGNED)).status == 200


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Basic dXNlcjpwdw==", SIGNED[1]])
def test_jwt_wants_a_bearer_token(routes, authorization) -> None:
    function = FakeFunction()
    headers = [("Authorization", authorization)] if authorization else []
    response = http_gateway(routes, function, "jwt").handle(get("/prod/items", *headers))
    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert function.events == []
    ok = http_gateway(routes, function, "jwt").handle(get("/prod/items", ("Authorization", "Bearer e.y.j")))
    assert ok.status == 200


def test_throttling_answers_in_the_http_api_shape(routes) -> None:
    function = FakeFunction()
    door = http_gateway(routes, function, throttle=TokenBucket(0.001, 1))
    assert door.handle(get("/prod/items")).status == 200
    response = door.handle(get("/prod/items"))
    assert response.status == 429
    assert json.loads(response.body) == {"message": "Too Many Requests"}


def test_no_request_validation_by_the_gateway(routes) -> None:
    function = FakeFunction()
    bad = get("/prod/items", ("Content-Type", "application/json"), method="POST", body=b"{not json")
    assert http_gateway(routes, function).handle(bad).status == 200
    assert function.events[0]["body"] == "{not json"


def test_a_2_0_response_maps_cookies_and_refuses_multi_value_headers(routes) -> None:
    answer = {"statusCode": 201, "headers": {"ETag": '"1"'}, "body": "{}", "cookies": ["a=1", "b=2"]}
    response = http_gateway(routes, FakeFunction(answer)).handle(get("/prod/items"))
    assert response.status == 201
    assert ("ETag", '"1"') in response.headers
    assert [v for n, v in response.headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    multi = {"statusCode": 200, "multiValueHeaders": {"A": ["1"]}, "body": ""}
    refused = http_gateway(routes, FakeFunction(multi)).handle(get("/prod/items"))
    assert refused.status == 500
    assert json.loads(refused.body) == {"message": "Internal Server Error"}


def test_a_bare_value_is_a_200_json_body_and_a_function_error_a_500(routes) -> None:
    bare = http_gateway(routes, FakeFunction({"hello": "world"})).handle(get("/prod/items"))
    assert bare.status == 200
    assert json.loads(bare.body) == {"hello": "world"}
    crashed = FakeFunction(error={"errorType": "Boom"})
    assert http_gateway(routes, crashed).handle(get("/prod/items")).status == 500


@pytest.mark.parametrize(
    ("auth_mode", "says"), [("iam", "signature is not verified"), ("jwt", "not verified")]
)
def test_the_front_door_says_what_it_does_not_verify(auth_mode, says) -> None:
    caveat = FrontDoor("http", auth_mode).caveat()
    assert caveat is not None
    assert says in caveat
    assert FrontDoor("http", "none").caveat() is None
