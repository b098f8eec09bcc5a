"""The one builder of API Gateway REST proxy events: what each field of an event holds, worked out by hand
from API Gateway's payload format 1.0."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from api.events import HTTP_PAYLOAD, ProxyRequest, proxy_event
from api.spec import load_spec, operations
from api.table_schema import load_table_keys, table_definition

MOMENT = datetime(2026, 12, 2, 17, 30, 5, 123000, tzinfo=UTC)


def test_repeated_headers_and_query_names_keep_the_last_value_and_every_value() -> None:
    event = proxy_event(
        ProxyRequest(
            method="GET",
            resource="/items",
            headers=[("Accept", "a"), ("X-Tag", "1"), ("X-Tag", "2")],
            query=[("limit", "5"), ("tag", "x"), ("tag", "y")],
        ),
        MOMENT,
    )
    assert event["headers"] == {"Accept": "a", "X-Tag": "2"}
    assert event["multiValueHeaders"] == {"Accept": ["a"], "X-Tag": ["1", "2"]}
    assert event["queryStringParameters"] == {"limit": "5", "tag": "y"}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["x", "y"]}
    assert event["pathParameters"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_path_comes_from_the_resource_and_parameters_under_the_stage() -> None:
    event = proxy_event(
        ProxyRequest(method="PUT", resource="/items/{id}", path_parameters={"id": "a:1"}, body='{"n": 1}'),
        MOMENT,
    )
    assert event["path"] == "/items/a:1"
    assert event["pathParameters"] == {"id": "a:1"}
    context = event["requestContext"]
    assert context["path"] == "/prod/items/a:1"
    assert context["stage"] == "prod"
    assert context["resourcePath"] == "/items/{id}"
    assert context["requestTimeEpoch"] == 1796232605123  # 2027-01-01 = 1798761600 s, −30 d, +17:30:05.123
    assert context["requestTime"] == "02/Dec/2026:17:30:05 +0000"
    assert event["headers"] is None  # API Gateway sends null, not {}, without headers
    assert event["body"] == '{"n": 1}'


def test_binary_bodies_are_base64_and_text_bodies_are_decoded() -> None:
    raw = b"\x00\xffpng"
    binary = proxy_event(ProxyRequest(method="POST", resource="/items", body=raw, binary=True))
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw
    text = proxy_event(ProxyRequest(method="POST", resource="/items", body="é".encode()))
    assert text == {**text, "body": "é", "isBase64Encoded": False}


def test_the_api_key_shows_in_the_identity_only_when_presented_to_a_keyed_method() -> None:
    keyed = proxy_event(ProxyRequest(method="GET", resource="/items", api_key="k-1"))["requestContext"]
    assert keyed["identity"]["apiKey"] == "k-1"
    assert keyed["identity"]["apiKeyId"] is not None
    open_ = proxy_event(ProxyRequest(method="GET", resource="/items"))["requestContext"]
    assert open_["identity"]["apiKey"] is None
    assert open_["identity"]["apiKeyId"] is None


def test_the_spec_and_table_readers_read_the_committed_files() -> None:
    found = {(path, method) for path, method, _ in operations(load_spec())}
    assert ("/items/{id}", "get") in found
    assert ("/DynamoDBManager", "post") in found
    keys = load_table_keys()
    assert (keys.hash_key, keys.range_key) == ("id", None)
    assert not any(key.startswith("_") for key in table_definition())  # comment keys never reach CreateTable


def test_http_api_event_has_the_payload_2_0_shape():
    request = ProxyRequest(
        method="GET",
        resource="/items/{id}",
        path_parameters={"id": "a 1"},
        headers=[("X-Tag", "a"), ("x-tag", "b"), ("Cookie", "s=1; t=2"), ("User-Agent", "ua")],
        query=[("q", "1"), ("q", "2 3")],
    )
    event = proxy_event(request, payload_format=HTTP_PAYLOAD)
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/prod/items/a 1"
    assert event["rawQueryString"] == "q=1&q=2+3"
    assert event["queryStringParameters"] == {"q": "1,2 3"}
    assert event["headers"] == {"x-tag": "a,b", "user-agent": "ua"}  # the cookie header moves to cookies
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["userAgent"] == "ua"
    assert event["pathParameters"] == {"id": "a 1"}
    assert not {"body", "multiValueHeaders", "httpMethod"} & set(event)
