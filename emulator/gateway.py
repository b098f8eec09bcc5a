"""The local API Gateway: what the REST API's prod stage does in front of the function, on one machine.

It routes by ``api/openapi.yaml`` (the document API Gateway imports), enforces the API key like a usage-plan
stage, builds REST proxy events (payload v1), invokes the function through an ``invoke`` callable (the local
Lambda runtime) and maps the proxy response back — including API Gateway's own answers, so clients see the
same statuses offline as on AWS:

* unknown path, or a method the spec does not define on a path → 403 ``Missing Authentication Token``
  (REST APIs answer an undefined route this way, before the key is even looked at);
* missing or wrong ``x-api-key`` on a key-protected method → 403 ``{"message":"Forbidden"}``;
* a function error or an invalid proxy response → 502 ``{"message": "Internal server error"}``;
* over the stage's rate/burst limits → 429 ``{"message":"Too Many Requests"}``;
* a request body over API Gateway's 10 MB, or an event over Lambda's 6 MB request limit → 413
  ``{"message":"Request Too Long"}``.

With ``FrontDoor(api_type="http", …)`` it is the HTTP API instead: payload 2.0 events and responses, no API
keys and no request validation, an unmatched route → 404 ``{"message":"Not Found"}``, a function error → 500
``{"message":"Internal Server Error"}``, and its auth: ``iam`` wants a SigV4 ``Authorization`` header (403
``{"message":"Forbidden"}`` without), ``jwt`` a Bearer token (401 ``{"message":"Unauthorized"}`` without).
Neither is verified locally: the signature and the token are only checked for presence.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fnmatch
import hmac
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from api.events import PAYLOAD_FORMATS, ProxyRequest, last_header, proxy_event
from api.names import API_KEY_HEADER, STAGE
from api.spec import CORS_ALLOW_HEADERS, CORS_MAX_AGE_S, HTTP_METHODS, load_spec
from emulator.runtime_api import RequestTooLargeError
from emulator.throttling import TokenBucket

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_ANY_METHOD = "x-amazon-apigateway-any-method"
_PROXY_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_V2_RESPONSE_KEYS = {"statusCode", "headers", "body", "isBase64Encoded", "cookies"}
SIGV4_PREFIX = "AWS4-HMAC-SHA256 "
BEARER_PREFIX = "Bearer "


@dataclass(frozen=True)
class FrontDoor:
    """Which API Gateway the stack puts in front of the function (its ``apiType`` and ``authMode``)."""

    api_type: str = "rest"  # "rest": the REST API (keys per the spec); "http": the HTTP API
    auth_mode: str = "api_key"  # on http: "none", "iam" or "jwt"

    @property
    def http(self) -> bool:
        return self.api_type == "http"

    def caveat(self) -> str | None:
        """What the local gateway does not do that AWS would, for the serve banner and the log."""
        if self.http and self.auth_mode == "iam":
            return "IAM auth: a SigV4 Authorization header is required; its signature is not verified locally"
        if self.http and self.auth_mode == "jwt":
            return "JWT auth: a Bearer token is required but it is not verified locally"
        return None


class InvocationResult(Protocol):
    """What the gateway needs from an invocation (``emulator.invocations.Invocation`` satisfies it)."""

    request_id: str
    payload: Any
    error: dict | None


@dataclass(frozen=True)
class Operation:
    """One method on one resource, as the spec declares it."""

    method: str
    api_key_required: bool


@dataclass(frozen=True)
class Route:
    """One API Gateway resource (``/items/{id}``) and the methods defined on it."""

    resource: str
    pattern: re.Pattern[str]
    operations: Mapping[str, Operation]  # "GET" → Operation; "ANY" for x-amazon-apigateway-any-method
    literal_segments: int
    greedy: bool

    def operation(self, method: str) -> Operation | None:
        return self.operations.get(method) or self.operations.get("ANY")


@dataclass(frozen=True)
class RouteTable:
    """The resources of the REST API, matched the way API Gateway matches them (literal beats variable)."""

    routes: tuple[Route, ...]
    binary_media_types: tuple[str, ...] = ()

    @classmethod
    def from_openapi(cls, spec_path: Path) -> RouteTable:
        spec = load_spec(spec_path)
        return cls.from_spec(spec)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> RouteTable:
        key_schemes = _api_key_schemes(spec)
        default_security = spec.get("security", [])
        routes = []
        for resource, path_item in (spec.get("paths") or {}).items():
            operations = {}
            for key in (*HTTP_METHODS, _ANY_METHOD):
                if key in path_item:
                    method = "ANY" if key == _ANY_METHOD else key.upper()
                    security = path_item[key].get("security", default_security)
                    operations[method] = Operation(method, _requires_key(security, key_schemes))
            routes.append(_route(resource, operations))
        # API Gateway prefers the most specific resource: more literal segments first, greedy proxies last.
        routes.sort(key=lambda r: (r.greedy, -r.literal_segments, -len(r.resource)))
        binary = tuple(spec.get("x-amazon-apigateway-binary-media-types") or ())
        return cls(tuple(routes), binary)

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The resource serving ``path`` (stage prefix removed, URL-encoded) and its decoded parameters."""
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found:
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    def is_binary(self, content_type: str | None) -> bool:
        if not content_type:
            return False
        media_type = content_type.split(";", 1)[0].strip().lower()
        return any(fnmatch.fnmatch(media_type, pattern.lower()) for pattern in self.binary_media_types)


def _api_key_schemes(spec: Mapping[str, Any]) -> set[str]:
    schemes = ((spec.get("components") or {}).get("securitySchemes")) or {}
    return {
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and str(scheme.get("name", "")).lower() == API_KEY_HEADER
    }


def _requires_key(security: Iterable[Mapping[str, Any]], key_schemes: set[str]) -> bool:
    return any(name in key_schemes for requirement in security for name in requirement)


def _route(resource: str, operations: dict[str, Operation]) -> Route:
    parts = []
    literal = 0
    greedy = False
    for segment in resource.strip("/").split("/") if resource != "/" else []:
        variable = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
        if variable is None:
            parts.append(re.escape(segment))
            literal += 1
        elif variable.group(2):
            parts.append(f"(?P<{variable.group(1)}>.+)")
            greedy = True
        else:
            parts.append(f"(?P<{variable.group(1)}>[^/]+)")
    pattern = re.compile("/" + "/".join(parts))
    return Route(resource, pattern, operations, literal, greedy)


@dataclass
class HttpRequest:
    """An incoming HTTP request as the server read it; headers keep their order, case and repeats."""

    method: str
    target: str  # path and query, as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    request_id: str | None = None
    from_gateway: bool = False  # answered by API Gateway itself (its "gateway responses"), not the function


def _gateway_error(status: int, message: str, error_type: str, request_id: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error_type),
    ]
    return HttpResponse(status, headers, body, request_id, from_gateway=True)


def request_too_long(request_id: str) -> HttpResponse:
    """API Gateway's answer to a body over its limit, or over Lambda's request limit."""
    return _gateway_error(413, "Request Too Long", "RequestTooLongException", request_id)


def internal_server_error(request_id: str) -> HttpResponse:
    """API Gateway's answer to a function error or a malformed proxy response."""
    return _gateway_error(502, "Internal server error", "InternalServerErrorException", request_id)


def _http_api_error(status: int, message: str, request_id: str) -> HttpResponse:
    """An HTTP API's own answer: ``{"message": …}`` and its ``apigw-requestid`` header."""
    body = json.dumps({"message": message}).encode()
    headers = [("Content-Type", "application/json"), ("apigw-requestid", request_id)]
    return HttpResponse(status, headers, body, request_id, from_gateway=True)


def _http_api_auth_refusal(auth_mode: str, authorization: str | None, request_id: str) -> HttpResponse | None:
    """The HTTP API's answer to a request its route's authorizer refuses; None lets it through."""
    presented = authorization or ""
    if auth_mode == "iam" and not presented.startswith(SIGV4_PREFIX):
        return _http_api_error(403, "Forbidden", request_id)
    bearer = presented.startswith(BEARER_PREFIX) and presented.removeprefix(BEARER_PREFIX).strip()
    if auth_mode == "jwt" and not bearer:
        return _http_api_error(401, "Unauthorized", request_id)
    return None


class LocalApiGateway:
    """Turns HTTP requests into proxy events and proxy responses into HTTP responses; transport-agnostic."""

    def __init__(
        self,
        routes: RouteTable,
        *,
        api_key: str,
        invoke: Callable[[dict[str, Any]], InvocationResult],
        stage: str = STAGE,
        host: str = "127.0.0.1",
        port: int = 3000,
        cors_origin: str | None = None,
        throttle: TokenBucket | None = None,
        front_door: FrontDoor = FrontDoor(),
    ) -> None:
        self.routes = routes
        self.front_door = front_door
        self.throttle = throttle  # the stage's rate and burst limits; None = unlimited
        self.cors_origin = cors_origin  # the stack's corsAllowOrigin; None = CORS off
        self._api_key = api_key
        self.invoke = invoke  # settable: the stack binds the port before the runtime is up
        self.stage = stage
        self.host = host
        self.port = port

    def handle(self, request: HttpRequest) -> HttpResponse:
        response = self._dispatch(request)
        if self.cors_origin is not None and response.from_gateway:
            # The stack's DEFAULT_4XX/5XX gateway responses carry CORS headers, so browsers can read errors.
            response.headers += [
                ("Access-Control-Allow-Origin", self.cors_origin),
                ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
            ]
        return response

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        path, _, query = request.target.partition("?")
        prefix = f"/{self.stage}"
        resource_path = path[len(prefix) :] or "/"
        in_stage = path == prefix or path.startswith(prefix + "/")
        matched = self.routes.match(resource_path) if in_stage else None
        cors_preflight = self.cors_origin is not None and request.method == "OPTIONS"
        if matched and cors_preflight and "OPTIONS" not in matched[0].operations:
            return self._preflight(matched[0], request_id)
        operation = matched[0].operation(request.method) if matched else None
        http_api = self.front_door.http
        if matched is None or operation is None:
            if http_api:
                return _http_api_error(404, "Not Found", request_id)
            return _gateway_error(
                403, "Missing Authentication Token", "MissingAuthenticationTokenException", request_id
            )
        route, path_parameters = matched
        presented_key = last_header(request.headers, API_KEY_HEADER)
        # HTTP APIs have no API keys; a REST stack with authMode none has methods without one
        key_required = operation.api_key_required and not http_api and self.front_door.auth_mode == "api_key"
        if http_api:
            authorization = last_header(request.headers, "authorization")
            refusal = _http_api_auth_refusal(self.front_door.auth_mode, authorization, request_id)
            if refusal is not None:
                return refusal
        elif key_required and not self._key_is_valid(presented_key):
            return _gateway_error(403, "Forbidden", "ForbiddenException", request_id)
        if self.throttle is not None and not self.throttle.take():
            if http_api:
                return _http_api_error(429, "Too Many Requests", request_id)
            return _gateway_error(429, "Too Many Requests", "TooManyRequestsException", request_id)
        if len(request.body) > MAX_BODY_BYTES:
            return request_too_long(request_id)
        forwarded = [
            ("X-Forwarded-For", request.source_ip),
            ("X-Forwarded-Port", str(self.port)),
            ("X-Forwarded-Proto", "http"),
        ]
        routed = ProxyRequest(
            method=request.method,
            resource=route.resource,
            path_parameters=path_parameters or None,
            path=unquote(resource_path),
            headers=[*request.headers, *forwarded],
            query=parse_qsl(query, keep_blank_values=True),
            body=request.body,
            binary=self.routes.is_binary(last_header(request.headers, "content-type")),
            request_id=request_id,
            source_ip=request.source_ip,
            api_key=presented_key if key_required else None,
            protocol=request.protocol,
            domain_name=f"{self.host}:{self.port}",
            stage=self.stage,
        )
        payload_format = PAYLOAD_FORMATS[self.front_door.api_type]
        try:
            result = self.invoke(proxy_event(routed, payload_format=payload_format))
        except RequestTooLargeError:  # within API Gateway's limit but over Lambda's: Invoke refuses it
            return request_too_long(request_id)
        return integration_response(result, http_api=http_api, request_id=request_id)

    def _preflight(self, route: Route, request_id: str) -> HttpResponse:
        """The stack's OPTIONS mock integration: answered here, no key, no invocation."""
        methods = ",".join([*(m for m in route.operations if m != "ANY"), "OPTIONS"])
        headers = [
            ("Content-Type", "application/json"),
            ("Access-Control-Allow-Origin", self.cors_origin or ""),
            ("Access-Control-Allow-Methods", methods),
            ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
            ("Access-Control-Max-Age", CORS_MAX_AGE_S),
            ("x-amzn-RequestId", request_id),
        ]
        return HttpResponse(200, headers, b"", request_id)

    def _key_is_valid(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self._api_key.encode())


def integration_response(result: InvocationResult, *, http_api: bool, request_id: str) -> HttpResponse:
    """What the front door answers for an invocation: the proxy result mapped to HTTP, or its own error when
    the function failed or returned a malformed result (REST 502, HTTP API 500)."""
    if http_api:
        response = None if result.error is not None else v2_response_to_http(result.payload, request_id)
        return response or _http_api_error(500, "Internal Server Error", request_id)
    if result.error is not None:
        return internal_server_error(request_id)
    response = proxy_response_to_http(result.payload, request_id)
    return response or internal_server_error(request_id)


def proxy_response_to_http(payload: Any, request_id: str) -> HttpResponse | None:
    """Map a Lambda proxy response to HTTP; None when API Gateway would call it malformed."""
    if not isinstance(payload, dict) or not set(payload) <= _PROXY_RESPONSE_KEYS:
        return None
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    headers = _response_headers(payload.get("headers"), payload.get("multiValueHeaders"))
    body = payload.get("body")
    if headers is None or not (body is None or isinstance(body, str)):
        return None
    is_base64 = payload.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        return None
    try:
        raw = base64.b64decode(body or "", validate=True) if is_base64 else (body or "").encode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if "content-type" not in {name.lower() for name, _ in headers}:
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))  # Date: the HTTP server stamps every answer itself
    return HttpResponse(status, headers, raw, request_id)


def v2_response_to_http(payload: Any, request_id: str) -> HttpResponse | None:
    """Map a payload 2.0 response to HTTP; None when the HTTP API would answer 500. Without ``statusCode``
    the HTTP API takes the value itself as a 200 JSON body."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        body = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("apigw-requestid", request_id)]
        return HttpResponse(200, headers, body, request_id)
    if not set(payload) <= _V2_RESPONSE_KEYS:
        return None
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) and _is_scalar(c) for c in cookies):
        return None
    single = {k: v for k, v in payload.items() if k != "cookies"}
    response = proxy_response_to_http(single, request_id)
    if response is not None:
        response.headers += [("Set-Cookie", cookie) for cookie in cookies]
        response.headers = [
            ("apigw-requestid", value) if name == "x-amzn-RequestId" else (name, value)
            for name, value in response.headers
        ]
    return response


def _response_headers(single: Any, multi: Any) -> list[tuple[str, str]] | None:
    """Merge ``headers`` and ``multiValueHeaders`` as API Gateway does (multi-value entries win a clash)."""
    if single is not None and not isinstance(single, dict):
        return None
    if multi is not None and not isinstance(multi, dict):
        return None
    merged: list[tuple[str, str]] = []
    multi_names = set()
    for name, values in (multi or {}).items():
        if not isinstance(values, list) or not all(_is_scalar(v) for v in values):
            return None
        multi_names.add(str(name).lower())
        merged += [(str(name), _header_value(v)) for v in values]
    for name, value in (single or {}).items():
        if not _is_scalar(value):
            return None
        if str(name).lower() not in multi_names:
            merged.append((str(name), _header_value(value)))
    return merged


def _is_scalar(value: Any) -> bool:
    """Header values API Gateway can send; CR/LF would split the response in two (refused as malformed)."""
    if isinstance(value, str):
        return "\r" not in value and "\n" not in value
    return isinstance(value, int | float | bool) or value is None


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


# The names a client on this machine may give the local gateway in its Host header.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class _MalformedBodyError(Exception):
    """A chunked body whose framing cannot be read."""


class _RequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (load tools reuse connections); every method goes through the gateway."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's delayed ACK
    # (Linux's delayed-ACK timer) on every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "LocalApiGateway"
    sys_version = ""
    server: GatewayHttpServer

    def _serve(self) -> None:
        started = time.perf_counter()
        refusal = self._misdirected()
        if refusal is not None:
            self.close_connection = True
            self._send(refusal)
            return
        try:
            body = self._read_body()
        except _MalformedBodyError:
            self.close_connection = True  # the rest of the stream cannot be framed
            self._send(_gateway_error(400, "Bad Request: malformed chunked body", "BadRequestException", "-"))
            return
        if body is None:
            self.close_connection = True
            self._send(request_too_long(str(uuid.uuid4())))
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            response = self.server.gateway.handle(request)
        except Exception:  # a bug or a dead runtime must not kill the connection thread silently
            logger.exception("local API gateway failed on %s %s", self.command, self.path.partition("?")[0])
            response = _gateway_error(500, "Internal server error", "InternalServerErrorException", "-")
        self._send(response)
        if self.server.on_request is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.server.on_request(self.command, self.path.partition("?")[0], response.status, elapsed_ms)

    def _read_body(self) -> bytes | None:
        """The request body; None when it is over API Gateway's size limit (an oversized Content-Length is
        refused before reading) or its length is not a number."""
        length = self.headers.get("Content-Length")
        if length is None:
            return self._read_chunked()
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return None
        return self.rfile.read(int(length))

    def _misdirected(self) -> HttpResponse | None:
        """421 unless the Host header names this loopback server: a web page whose name was rebound to
        127.0.0.1 sends its own name, and must not reach the local API (DNS rebinding)."""
        host = self.headers.get("Host", "")
        port = self.server.server_address[1]
        if host.lower() in {f"{name}:{port}" for name in LOOPBACK_HOSTS}:
            return None
        return _gateway_error(
            421,
            f"Misdirected Request: the Host header must be {' or '.join(LOOPBACK_HOSTS)} with port {port}",
            "MisdirectedRequestException",
            "-",
        )

    def _read_chunked(self) -> bytes | None:
        """A chunked body (some clients stream); None once it passes API Gateway's size limit;
        _MalformedBodyError when a chunk size is not hexadecimal."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return b""
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                raise _MalformedBodyError from None
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, response: HttpResponse) -> None:
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):  # the client left without its answer
            self.close_connection = True

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding", "date"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Any:
        """Every method, TRACE included, goes to the gateway: it answers those the spec lacks as AWS does."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests are reported through ``on_request`` (no API key ever reaches a log)."""


class GatewayHttpServer(ThreadingHTTPServer):
    """A threaded HTTP server on loopback serving one ``LocalApiGateway``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the stdlib's 5 drops connections when a load test's users all connect at once

    def __init__(
        self,
        address: tuple[str, int],
        gateway: LocalApiGateway,
        on_request: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self._connections: set[socket.socket] = set()  # before binding: a failed bind closes the server
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)
        self.gateway = gateway
        self.on_request = on_request
        gateway.port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Also drop the kept-alive connections: a stopped gateway answers nothing more, as a dead process
        would, so clients reconnect to whatever listens next."""
        super().server_close()
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
