"""The one builder of API Gateway proxy events, as the ``prod`` stage hands them to the function: payload
format 1.0 (REST API) or 2.0 (HTTP API), chosen by a parameter. The local gateway sends them, tuning payloads
and the load mix are made of them, the tests call the handler with them."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlencode

from api.names import LOCAL_ACCOUNT_ID, STAGE

LOCAL_API_ID = "local"
LOCAL_API_KEY_ID = "local-api-key"

PayloadFormat = Literal["1.0", "2.0"]
REST_PAYLOAD: PayloadFormat = "1.0"  # what a REST API's Lambda proxy integration sends
HTTP_PAYLOAD: PayloadFormat = "2.0"  # what the HTTP API's integration is configured to send
PAYLOAD_FORMATS: dict[str, PayloadFormat] = {"rest": REST_PAYLOAD, "http": HTTP_PAYLOAD}  # by apiType


def api_type_of(outputs: Mapping[str, Any] | None) -> str:
    """A stack's front door from its outputs' ``api_type``; absent: REST, which stacks that predate the
    output serve."""
    api_type = (outputs or {}).get("api_type") or "rest"
    if api_type not in PAYLOAD_FORMATS:
        raise ValueError(
            f"the stack outputs' api_type is {api_type!r}: expected one of {', '.join(PAYLOAD_FORMATS)}"
        )
    return api_type


@dataclass(frozen=True)
class ProxyRequest:
    """One HTTP request as API Gateway has routed it: what goes into its proxy event."""

    method: str
    resource: str  # the route's template, e.g. "/items/{id}"
    path_parameters: Mapping[str, str] | None = None
    path: str | None = None  # the path under the stage as sent (None: the resource with the parameters in it)
    headers: Sequence[tuple[str, str]] = ()  # in order, names as sent, repeats kept
    query: Sequence[tuple[str, str]] = ()
    body: bytes | str | None = None
    binary: bool = False  # a binary media type: API Gateway passes the body base64-encoded
    request_id: str = "local"
    source_ip: str = "127.0.0.1"
    api_key: str | None = None  # the key presented to a method that requires one (identity.apiKey)
    protocol: str = "HTTP/1.1"
    domain_name: str = "api.example.invalid"
    stage: str = STAGE


def single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's two views of repeated names: the last value, and every value in order."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def last_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The last value of header ``name`` (case-insensitive), as API Gateway's single-value view keeps it."""
    value = None
    for key, candidate in headers:
        if key.lower() == name.lower():
            value = candidate
    return value


def _body(request: ProxyRequest) -> str | None:
    if request.body is None or request.body in (b"", ""):
        return None
    if request.binary:
        raw = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        return base64.b64encode(raw).decode("ascii")
    if isinstance(request.body, bytes):
        return request.body.decode("utf-8", errors="replace")
    return request.body


def _concrete_path(request: ProxyRequest) -> str:
    if request.path is not None:
        return request.path
    path = request.resource
    for name, value in (request.path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    return path


def proxy_event(
    request: ProxyRequest, now: datetime | None = None, payload_format: PayloadFormat = REST_PAYLOAD
) -> dict[str, Any]:
    """The proxy event Lambda receives for ``request`` in ``payload_format``."""
    now = now or datetime.now(UTC)
    if payload_format == HTTP_PAYLOAD:
        return _v2_event(request, now)
    return _v1_event(request, now)


def _joined(pairs: Iterable[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    """Payload 2.0's view of repeated names: every value in order, joined with commas."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _v2_event(request: ProxyRequest, now: datetime) -> dict[str, Any]:
    """Payload format 2.0: lower-case headers, cookies apart, the stage in ``rawPath`` (HTTP API docs)."""
    path = f"/{request.stage}{_concrete_path(request)}"
    cookie_lines = [value for name, value in request.headers if name.lower() == "cookie"]
    cookies = [c.strip() for line in cookie_lines for c in line.split(";") if c.strip()]
    headers = _joined(((n, v) for n, v in request.headers if n.lower() != "cookie"), lower=True)
    query = _joined(request.query, lower=False)
    body = _body(request)
    route_key = f"{request.method} {request.resource}"
    event: dict[str, Any] = {
        "version": HTTP_PAYLOAD,
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(list(request.query)),
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "domainName": request.domain_name,
            "domainPrefix": request.domain_name.split(".", 1)[0].rsplit(":", 1)[0],
            "http": {
                "method": request.method,
                "path": path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request.request_id,
            "routeKey": route_key,
            "stage": request.stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": request.binary and body is not None,
    }
    # Absent rather than null when empty, as HTTP API sends them.
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if request.path_parameters:
        event["pathParameters"] = dict(request.path_parameters)
    if body is not None:
        event["body"] = body
    return event


def _v1_event(request: ProxyRequest, now: datetime) -> dict[str, Any]:
    path = _concrete_path(request)
    single_headers, multi_headers = single_and_multi(request.headers)
    single_query, multi_query = single_and_multi(request.query)
    body = _body(request)
    identity = {
        "apiKey": request.api_key,
        "apiKeyId": LOCAL_API_KEY_ID if request.api_key is not None else None,
        "sourceIp": request.source_ip,
        "userAgent": last_header(request.headers, "user-agent"),
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "user": None,
        "userArn": None,
    }
    return {
        "resource": request.resource,
        "path": path,
        "httpMethod": request.method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(request.path_parameters) if request.path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": f"{zlib.crc32(request.resource.encode()):08x}",
            "resourcePath": request.resource,
            "httpMethod": request.method,
            "extendedRequestId": request.request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "path": f"/{request.stage}{path}",
            "accountId": LOCAL_ACCOUNT_ID,
            "protocol": request.protocol,
            "stage": request.stage,
            "domainPrefix": request.domain_name.rsplit(":", 1)[0],
            "domainName": request.domain_name,
            "requestId": request.request_id,
            "identity": identity,
            "apiId": LOCAL_API_ID,
        },
        "body": body,
        "isBase64Encoded": request.binary and body is not None,
    }
