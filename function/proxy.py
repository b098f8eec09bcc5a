"""API Gateway proxy events in (REST's payload 1.0, HTTP API's 2.0), proxy responses out in the same format.

API Gateway passes headers with the client's spelling, sometimes only in ``multiValueHeaders`` (1.0) or
lower-case with cookies apart (2.0), and bodies possibly base64-encoded; this module turns either event into
one plain ``Request``, so the routes never know which front door called them.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import codec
from problems import ApiError

MAX_BODY_BYTES = 256 * 1024
JSON_MEDIA_TYPES = frozenset({"application/json"})
MERGE_PATCH_MEDIA_TYPES = frozenset({"application/merge-patch+json", "application/json"})


@dataclass
class Request:
    method: str
    resource: str  # the route template as API Gateway names it: "/items/{id}"
    path: str
    path_parameters: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: str | None  # as the event carries it: decoded only when a route reads it (see json_body)
    request_id: str
    base_path: str = ""  # the stage prefix clients used ("/prod"), for Location headers
    body_base64: bool = False
    http_api: bool = False  # came as payload 2.0: answered in 2.0's shape
    caller: str = ""  # who API Gateway says is calling (API key id or IAM principal); "" when nobody is

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-ready value; None → no body
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def _merged(single: dict | None, multi: dict | None) -> dict[str, str]:
    """Case-insensitive view of (multi-value) headers: repeated lines joined with ", " as HTTP allows."""
    merged: dict[str, str] = {}
    for name, values in (multi or {}).items():
        if values:
            merged[name.lower()] = ", ".join(str(value) for value in values)
    for name, value in (single or {}).items():
        if value is not None:
            merged.setdefault(name.lower(), str(value))
    return merged


def is_http_api_event(event: dict) -> bool:
    """Payload 2.0 (HTTP API) names its version; REST's 1.0 carries ``httpMethod``."""
    return event.get("version") == "2.0" and "routeKey" in event


def parse(event: dict, request_id: str) -> Request:
    """The request an API Gateway proxy event (either payload format) describes."""
    return parse_v2(event, request_id) if is_http_api_event(event) else parse_v1(event, request_id)


def parse_v2(event: dict, request_id: str) -> Request:
    """The request an HTTP API payload 2.0 event describes. The query comes from ``rawQueryString``: its
    ``queryStringParameters`` joins repeats with commas, where REST's last-value view is what routes read."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    raw_path = event.get("rawPath") or http.get("path") or ""
    stage = context.get("stage") or ""
    prefix = f"/{stage}" if stage and stage != "$default" else ""
    in_stage = prefix and (raw_path == prefix or raw_path.startswith(prefix + "/"))
    base_path = prefix if in_stage else ""
    _, _, template = str(event.get("routeKey") or "").partition(" ")
    headers = {name.lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    if event.get("cookies"):
        headers["cookie"] = "; ".join(event["cookies"])
    raw_query = event.get("rawQueryString")
    query = (
        dict(parse_qsl(raw_query, keep_blank_values=True))
        if raw_query is not None
        else dict(event.get("queryStringParameters") or {})
    )
    return Request(
        method=str(http.get("method", "")).upper(),
        resource=template,
        path=raw_path[len(base_path) :],
        path_parameters=event.get("pathParameters") or {},
        query=query,
        headers=headers,
        body=event.get("body"),
        request_id=request_id,
        base_path=base_path,
        body_base64=bool(event.get("isBase64Encoded")),
        http_api=True,
    )


def parse_v1(event: dict, request_id: str) -> Request:
    """The request an API Gateway REST proxy event (payload 1.0) describes."""
    query: dict[str, str] = {}
    for name, values in (event.get("multiValueQueryStringParameters") or {}).items():
        if values:
            query[name] = values[-1]
    query.update(event.get("queryStringParameters") or {})
    context = event.get("requestContext") or {}
    path = event.get("path") or ""
    context_path = context.get("path") or path
    base_path = context_path[: -len(path)] if path and context_path.endswith(path) else ""
    return Request(
        method=str(event.get("httpMethod", "")).upper(),
        resource=event.get("resource") or "",
        path=path,
        path_parameters=event.get("pathParameters") or {},
        query=query,
        headers=_merged(event.get("headers"), event.get("multiValueHeaders")),
        body=event.get("body"),
        request_id=request_id,
        base_path=base_path,
        body_base64=bool(event.get("isBase64Encoded")),
        caller=_caller(context.get("identity") or {}),
    )


def _caller(identity: dict) -> str:
    """The API key's id (never the key itself) or the IAM principal, as the stage authenticated them."""
    for field_name in ("apiKeyId", "userArn", "caller"):
        value = identity.get(field_name)
        if value:
            return f"{field_name}:{value}"
    return ""


def _body_text(request: Request) -> str | None:
    """The body as text. Decoded here, after routing, so a bad body on the tutorial endpoint is answered
    in the tutorial's error shape (errorType/errorMessage) like every other error there."""
    body = request.body
    if body is None or not request.body_base64:
        return body
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "the base64-encoded body is malformed") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8 text") from None


def json_body(request: Request, media_types: frozenset[str] | None) -> Any:
    """The request's JSON body, size- and type-checked; ``media_types=None`` accepts any Content-Type."""
    body = _body_text(request)
    if body is None or not body.strip():
        raise ApiError(400, "a JSON body is required")
    if len(body) > MAX_BODY_BYTES or (
        not body.isascii() and len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES
    ):
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    if media_types is not None:
        content_type = request.header("content-type")
        media_type = content_type.split(";", 1)[0].strip().lower() if content_type else None
        if media_type is not None and media_type not in media_types:
            raise ApiError(415, f"send the body as {' or '.join(sorted(media_types))}, not {media_type}")
    return codec.loads(body)


def json_object_body(request: Request, media_types: frozenset[str] | None) -> dict:
    document = json_body(request, media_types)
    if not isinstance(document, dict):
        raise ApiError(400, "the body must be a JSON object")
    return document


def to_event_response(response: Response, http_api: bool = False) -> dict:
    """The proxy response API Gateway expects (anything else is a 502 'Malformed Lambda proxy response');
    2.0's shape adds ``cookies`` (this API sets none) and has no ``multiValueHeaders``."""
    headers = {"X-Content-Type-Options": "nosniff", **response.headers}
    body = ""
    if response.body is not None or response.status != 204:
        headers["Content-Type"] = response.content_type
        body = codec.dumps(response.body)
    allow_origin = os.environ.get("CORS_ALLOW_ORIGIN")
    if allow_origin:
        headers["Access-Control-Allow-Origin"] = allow_origin
        headers["Access-Control-Expose-Headers"] = "ETag, Location, Retry-After, Idempotent-Replayed"
        if allow_origin != "*":
            headers["Vary"] = "Origin"
    answer = {"statusCode": response.status, "headers": headers, "body": body, "isBase64Encoded": False}
    if http_api:
        answer["cookies"] = []
    return answer
