"""Wire sizes: the bytes of a request read back from its proxy event, of the front door's answer and of the
log events. Every expected number is counted by hand from the literal request in the test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.events import HTTP_PAYLOAD, REST_PAYLOAD, ProxyRequest, proxy_event
from api.wire_sizes import log_bytes, request_bytes, response_bytes, wire_request
from emulator.gateway import integration_response

NOW = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)
GET_ITEM = ProxyRequest(
    method="GET",
    resource="/items/{id}",
    path_parameters={"id": "a1"},
    headers=[("Host", "h.io"), ("Accept", "*/*"), ("Cookie", "a=1; b=2")],
    query=[("limit", "5")],
)


@pytest.mark.parametrize("payload_format", [REST_PAYLOAD, HTTP_PAYLOAD])
def test_the_same_request_has_the_same_size_in_both_payload_formats(payload_format: str) -> None:
    # GET /prod/items/a1?limit=5 HTTP/1.1 CRLF     3+1+22+1+8+2 = 37
    # Host: h.io CRLF                              4+2+4+2      = 12 (2.0: "host", same length)
    # Accept: */* CRLF                             6+2+3+2      = 13
    # Cookie: a=1; b=2 CRLF                        6+2+8+2      = 18 (2.0: from "cookies", joined by "; ")
    # CRLF                                                      =  2
    request = wire_request(proxy_event(GET_ITEM, NOW, payload_format))
    assert request is not None
    assert request.payload_format == payload_format
    assert request_bytes(request) == 37 + 12 + 13 + 18 + 2


@pytest.mark.parametrize("payload_format", [REST_PAYLOAD, HTTP_PAYLOAD])
def test_a_base64_body_counts_its_decoded_bytes_and_its_content_length(payload_format: str) -> None:
    upload = ProxyRequest(
        method="POST",
        resource="/items",
        headers=[("Host", "h.io")],
        body=b"\x00\x01\x02\x03\x04",
        binary=True,
    )
    event = proxy_event(upload, NOW, payload_format)
    assert event["isBase64Encoded"] is True
    assert event["body"] == "AAECAwQ="  # 8 characters on the event
    # POST /prod/items HTTP/1.1 CRLF 27, Host: h.io CRLF 12, Content-Length: 5 CRLF 19, CRLF 2, body 5
    assert request_bytes(wire_request(event)) == 27 + 12 + 19 + 2 + 5


def test_a_text_body_counts_utf8_bytes() -> None:
    note = ProxyRequest(method="POST", resource="/items", body='{"n":"é"}')  # 9 characters, 10 bytes
    # POST /prod/items HTTP/1.1 CRLF 27, Content-Length: 10 CRLF 20, CRLF 2, body 10
    assert request_bytes(wire_request(proxy_event(note, NOW))) == 27 + 20 + 2 + 10


@pytest.mark.parametrize("event", [{"action": "echo"}, [1, 2], "text", None, {"version": "1.0"}])
def test_an_event_no_front_door_sends_has_no_request(event: object) -> None:
    assert wire_request(event) is None


def test_the_response_counts_status_line_headers_framing_and_body() -> None:
    # HTTP/1.1 200 OK CRLF 17, Content-Type: application/json CRLF 32, Date: <29> CRLF 37,
    # Content-Length: 11 CRLF 20, Connection: keep-alive CRLF 24, CRLF 2, {"id":"a1"} 11
    body = b'{"id":"a1"}'
    assert (
        response_bytes(200, [("Content-Type", "application/json")], body) == 17 + 32 + 37 + 20 + 24 + 2 + 11
    )


def test_a_rest_result_counts_its_multi_value_headers_as_the_front_door_maps_them() -> None:
    result = _Result({"statusCode": 200, "headers": {"Vary": "a"}, "multiValueHeaders": {"Vary": ["b", "c"]}})
    response = integration_response(result, http_api=False, request_id="r1")
    # HTTP/1.1 200 OK CRLF 17, Vary: b CRLF 9, Vary: c CRLF 9 (the multi-value entry wins), Content-Type:
    # application/json CRLF 32, x-amzn-RequestId: r1 CRLF 22, Date 37, Content-Length: 0 CRLF 19,
    # Connection 24, CRLF 2
    assert response_bytes(response.status, response.headers, response.body) == (
        17 + 9 + 9 + 32 + 22 + 37 + 19 + 24 + 2
    )


def test_a_payload_2_result_counts_its_cookies_as_set_cookie_headers() -> None:
    result = _Result({"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["s=1"], "body": "ok"})
    response = integration_response(result, http_api=True, request_id="r1")
    # HTTP/1.1 201 Created CRLF 22, x-a: 1 CRLF 8, Content-Type: application/json CRLF 32,
    # apigw-requestid: r1 CRLF 21, Set-Cookie: s=1 CRLF 17, Date 37, Content-Length: 2 CRLF 19,
    # Connection 24, CRLF 2, ok 2
    assert response_bytes(response.status, response.headers, response.body) == (
        22 + 8 + 32 + 21 + 17 + 37 + 19 + 24 + 2 + 2
    )


def test_each_log_line_is_one_event_of_its_utf8_bytes_and_26_more() -> None:
    # 35 bytes + 26, "é" 2 bytes + 26
    assert log_bytes(["START RequestId: x Version: $LATEST", "é"]) == 61 + 28


class _Result:
    """An invocation's result as the gateway reads it."""

    def __init__(self, payload: dict) -> None:
        self.request_id, self.payload, self.error = "lambda-1", payload, None
