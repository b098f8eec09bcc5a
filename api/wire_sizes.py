"""The bytes one API request costs by size: the HTTP request a client sends and the response the front door
returns (an HTTP API meters their sum in started 512 KB units; AWS does not say which bytes, so the whole
HTTP/1.1 message is counted, which errs high), and the log events CloudWatch Logs ingests for it.

Counted for a request, from its proxy event (payload 1.0 or 2.0): the request line (method, the path with the
stage, the query string, the protocol), every header the event holds as ``name: value`` lines (payload 2.0
has lower-case names and repeats joined with commas, so a repeated header counts once with its values
joined), payload 2.0's ``cookies`` as one ``cookie`` header, a ``Content-Length`` header when there is a body
and the event has none, and the body (its decoded length when ``isBase64Encoded``).

Counted for a response: the status line, the headers the caller passes (what the front door maps the proxy
result to: ``headers``, ``multiValueHeaders``, ``cookies`` as ``Set-Cookie``, its default ``Content-Type``
and request id), the ``Date``, ``Content-Length`` and ``Connection`` headers every answer carries, and the
body.

Approximations: headers API Gateway adds on the way in (``X-Forwarded-*``, ``X-Amzn-Trace-Id``) count as sent
by the client; headers it adds on the way out beyond those above (REST's ``x-amz-apigw-id``,
``X-Amzn-Trace-Id``) are not counted; HTTP/2 header compression and TLS framing are ignored.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.client import responses
from typing import Any
from urllib.parse import urlencode

from api.events import HTTP_PAYLOAD, REST_PAYLOAD, PayloadFormat

_SAMPLE_DATE = "Thu, 01 Jan 1970 00:00:00 GMT"  # every Date header has this width (RFC 9110's IMF-fixdate)
# CloudWatch Logs adds 26 bytes per event to its batch size (PutLogEvents); AWS does not say the bill counts
# them, counted anyway so the logs estimate errs high rather than low.
LOG_EVENT_OVERHEAD_BYTES = 26


@dataclass(frozen=True)
class WireRequest:
    """An API request read back from its proxy event: what the client sent, and the facts of the request the
    access log writes."""

    payload_format: PayloadFormat
    method: str
    path: str  # as the client sent it, with the stage
    query: str  # the raw query string, "" without one
    protocol: str
    headers: tuple[tuple[str, str], ...]
    body_bytes: int
    request_id: str
    source_ip: str
    request_time: str  # API Gateway's CLF time, e.g. 01/Dec/2026:10:00:00 +0000
    route: str  # payload 1.0: the resource ("/items/{id}"); 2.0: the route key ("GET /items/{id}")
    api_key_id: str | None  # payload 1.0: the API key's id when one was presented


def wire_request(event: Any) -> WireRequest | None:
    """The request behind a proxy event; None when ``event`` is not one (a direct Invoke has no request)."""
    if not isinstance(event, Mapping):
        return None
    if event.get("version") == HTTP_PAYLOAD:
        return _v2_request(event)
    if "httpMethod" in event and "requestContext" in event:
        return _v1_request(event)
    return None


def _body_bytes(event: Mapping[str, Any]) -> int:
    body = event.get("body") or ""
    return len(base64.b64decode(body)) if event.get("isBase64Encoded") else _text_bytes(body)


def _v1_request(event: Mapping[str, Any]) -> WireRequest:
    context = event["requestContext"]
    identity = context.get("identity") or {}
    multi_query = event.get("multiValueQueryStringParameters") or {}
    multi_headers = event.get("multiValueHeaders") or {}
    return WireRequest(
        payload_format=REST_PAYLOAD,
        method=event["httpMethod"],
        path=context["path"],
        query=urlencode([(name, value) for name, values in multi_query.items() for value in values]),
        protocol=context["protocol"],
        headers=tuple((name, value) for name, values in multi_headers.items() for value in values),
        body_bytes=_body_bytes(event),
        request_id=context["requestId"],
        source_ip=identity.get("sourceIp") or "",
        request_time=context["requestTime"],
        route=event["resource"],
        api_key_id=identity.get("apiKeyId"),
    )


def _v2_request(event: Mapping[str, Any]) -> WireRequest:
    context = event["requestContext"]
    http = context["http"]
    cookies = event.get("cookies") or []
    headers = [*(event.get("headers") or {}).items(), *([("cookie", "; ".join(cookies))] if cookies else [])]
    return WireRequest(
        payload_format=HTTP_PAYLOAD,
        method=http["method"],
        path=event["rawPath"],
        query=event.get("rawQueryString") or "",
        protocol=http["protocol"],
        headers=tuple(headers),
        body_bytes=_body_bytes(event),
        request_id=context["requestId"],
        source_ip=http["sourceIp"],
        request_time=context["time"],
        route=event["routeKey"],
        api_key_id=None,
    )


def _text_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _header_bytes(headers: Iterable[tuple[str, str]]) -> int:
    """``name: value`` CRLF per header, and the empty line that ends them."""
    return sum(_text_bytes(f"{name}: {value}\r\n") for name, value in headers) + 2


def _has(headers: Iterable[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


def request_bytes(request: WireRequest) -> int:
    """The bytes of the HTTP/1.1 request the client sent (see the module's docstring for what is counted)."""
    target = request.path + (f"?{request.query}" if request.query else "")
    headers = list(request.headers)
    if request.body_bytes and not _has(headers, "content-length"):
        headers.append(("Content-Length", str(request.body_bytes)))
    line = f"{request.method} {target} {request.protocol}\r\n"
    return _text_bytes(line) + _header_bytes(headers) + request.body_bytes


def response_bytes(status: int, headers: Sequence[tuple[str, str]], body: bytes) -> int:
    """The bytes of the HTTP/1.1 response the front door returns: status line, ``headers`` plus the framing
    headers every answer carries, body."""
    framing = [
        (name, value)
        for name, value in (
            ("Date", _SAMPLE_DATE),
            ("Content-Length", str(len(body))),
            ("Connection", "keep-alive"),
        )
        if not _has(headers, name.lower())
    ]
    line = f"HTTP/1.1 {status} {responses.get(status, '')}\r\n"
    return _text_bytes(line) + _header_bytes([*headers, *framing]) + len(body)


def log_bytes(lines: Iterable[str]) -> int:
    """What CloudWatch Logs ingests for ``lines``, one event each: UTF-8 bytes plus the event's overhead."""
    return sum(_text_bytes(line) + LOG_EVENT_OVERHEAD_BYTES for line in lines)
