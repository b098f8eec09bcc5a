"""A local Lambda Runtime API (version 2018-06-01) for one execution environment, on loopback only.

The environment's process runs AWS's runtime interface client (``python -m awslambdaric``), which polls
``GET /runtime/invocation/next`` and posts each result back, exactly as in Lambda. This server is the
platform's side of that contract: it hands out one event at a time with Lambda's headers, takes the
response, the function error or the init error, enforces Lambda's 6 MB payload limit, and tells the
environment (``emulator.environment``) what happened through its ``report`` callable, in order:
``Ready`` (the client's first ``next``: init is over), then per event ``Started`` and one ``Result``;
or ``InitFailed``.

It speaks just the HTTP/1.1 the clients send (the C client keeps one connection alive; the init error comes
from ``http.client``): a hand-written loop rather than ``http.server``, whose header parsing alone cost
more than the whole round trip's budget (≤ 1 ms at 1769 MB).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Literal

# Lambda's "6 MB" for synchronous invocations, in bytes as its error messages state them (measured by Zac
# Charles, "Deep Dive: Lambda's Request/Response Payload Size Limit", 2022): a response may have 6,291,556
# bytes; a request must be under 6,291,456 ("Request must be smaller than 6291456 bytes").
MAX_RESPONSE_BYTES = 6_291_556
MAX_REQUEST_BYTES = 6_291_456
_PREFIX = "/2018-06-01/runtime/"


class RequestTooLargeError(ValueError):
    """An event over Lambda's request limit: the Invoke API refuses it (RequestEntityTooLargeException)."""


_NEXT = _PREFIX + "invocation/next"
_INIT_ERROR = _PREFIX + "init/error"
_MAX_HEAD_BYTES = 64 * 1024
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
}


@dataclass(frozen=True)
class Event:
    """One invocation as ``next`` hands it out: the body and Lambda's headers."""

    request_id: str
    body: bytes
    deadline_ms: int  # Unix epoch ms
    function_arn: str
    trace_id: str  # the X-Ray header; the C client crashes without it
    client_context: str | None = None
    cognito_identity: str | None = None

    def headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
        ]
        if self.client_context is not None:
            headers.append(("Lambda-Runtime-Client-Context", self.client_context))
        if self.cognito_identity is not None:
            headers.append(("Lambda-Runtime-Cognito-Identity", self.cognito_identity))
        return headers


@dataclass(frozen=True)
class Ready:
    """The client asked for its first event: init is over. ``user_agent`` names its Python and version."""

    at: float  # time.monotonic()
    user_agent: str


@dataclass(frozen=True)
class InitFailed:
    """The client posted an init error (it exits next): Lambda's error document, as posted."""

    body: bytes
    error_type: str  # Lambda-Runtime-Function-Error-Type


@dataclass(frozen=True)
class Started:
    """The event was written to the client."""

    request_id: str
    at: float


@dataclass(frozen=True)
class Result:
    """The client's answer to the event: its response, a function error, or a response over the limit."""

    request_id: str
    kind: Literal["response", "error", "too_large"]
    body: bytes  # the response, or the error document; empty when too large
    error_type: str  # Lambda-Runtime-Function-Error-Type of an error ("Unhandled" when not sent)
    size: int  # the posted body's size in bytes
    at: float


Message = Ready | InitFailed | Started | Result


class _Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes, too_large: int) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.too_large = too_large  # the size of a body that was over the limit (not kept), else 0


class RuntimeApi:
    """The Runtime API endpoint of one execution environment; ``address`` is AWS_LAMBDA_RUNTIME_API."""

    def __init__(self, report: Callable[[Message], object], host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0))
        self.address = f"{host}:{self._listener.getsockname()[1]}"
        self._report = report
        self._events: queue.Queue[Event | None] = queue.Queue()
        self._lock = threading.Lock()
        self._ready = False
        self._pending: str | None = None  # the request id handed out and not yet answered
        self._connections: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, name=f"runtime-api-{self.address}", daemon=True).start()

    def deliver(self, event: Event) -> None:
        """Queue ``event`` for the client's pending or next ``next`` (the caller sends one at a time)."""
        self._events.put(event)

    def close(self) -> None:
        """Stop serving: a blocked ``next`` and every connection end (the client then exits)."""
        with self._lock:
            self._closed = True
            connections = list(self._connections)
        self._events.put(None)
        with contextlib.suppress(OSError):
            self._listener.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self._closed:
                    connection.close()
                    return
                self._connections.add(connection)
            threading.Thread(
                target=self._serve, args=(connection,), daemon=True, name="runtime-api-conn"
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = connection.makefile("rb")
        try:
            while (request := _read_request(reader, connection)) is not None:
                if not self._answer(request, connection):
                    break
        except (OSError, ValueError):
            pass  # the client went away or spoke something else: drop the connection
        finally:
            with self._lock:
                self._connections.discard(connection)
            reader.close()
            connection.close()

    def _answer(self, request: _Request, connection: socket.socket) -> bool:
        """Answer one request; False closes the connection."""
        method, path = request.method, request.path
        if method == "GET" and path == _NEXT:
            return self._next(request, connection)
        if method == "POST" and path == _INIT_ERROR:
            return self._init_error(request, connection)
        if method == "POST" and path.startswith(_PREFIX + "invocation/"):
            request_id, _, verb = path[len(_PREFIX + "invocation/") :].rpartition("/")
            if verb in ("response", "error"):
                return self._result(request, connection, request_id, verb)
        _send(connection, 404, _error_body("NotFound", f"no such Runtime API path: {method} {path}"))
        return True

    def _next(self, request: _Request, connection: socket.socket) -> bool:
        with self._lock:
            first = not self._ready
            self._ready = True
        if first:
            self._report(Ready(time.monotonic(), request.headers.get("user-agent", "")))
        event = self._events.get()
        if event is None:
            self._events.put(None)  # wake any other blocked next too
            return False
        with self._lock:
            self._pending = event.request_id
        # Reported before the answer leaves: it then precedes the result, whichever connection that comes on.
        self._report(Started(event.request_id, time.monotonic()))
        _send(connection, 200, event.body, event.headers())
        return True

    def _result(self, request: _Request, connection: socket.socket, request_id: str, verb: str) -> bool:
        at = time.monotonic()
        with self._lock:
            valid = request_id == self._pending
            if valid:
                self._pending = None
        if not valid:
            _send(connection, 400, _error_body("InvalidRequestID", f"Invalid request ID: {request_id}"))
            return True
        if request.too_large:
            message = f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            _send(connection, 413, _error_body("RequestEntityTooLarge", message))
            self._report(Result(request_id, "too_large", b"", "", request.too_large, at))
            return False
        _send(connection, 202, b'{"status":"OK"}')
        error_type = request.headers.get("lambda-runtime-function-error-type", "Unhandled")
        kind: Literal["response", "error"] = "response" if verb == "response" else "error"
        self._report(Result(request_id, kind, request.body, error_type, len(request.body), at))
        return True

    def _init_error(self, request: _Request, connection: socket.socket) -> bool:
        with self._lock:
            too_late = self._ready
        if too_late:
            _send(connection, 403, _error_body("InvalidStateTransition", "init is already over"))
            return True
        _send(connection, 202, b'{"status":"OK"}')
        self._report(InitFailed(request.body, request.headers.get("lambda-runtime-function-error-type", "")))
        return True


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _send(connection: socket.socket, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
    """One write for head and body (with Nagle off, two writes would cost the client a round trip each)."""
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Length: {len(body)}"]
    if not headers:
        lines.append("Content-Type: application/json")
    lines.extend(f"{name}: {value}" for name, value in headers)
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _read_request(reader: BinaryIO, connection: socket.socket) -> _Request | None:
    """The next request on the connection; None when the client closed it. A body over Lambda's limit is
    read and dropped (its size is kept), so the connection stays in step for the 413 answer."""
    line = reader.readline(_MAX_HEAD_BYTES)
    if not line:
        return None
    method, path, _version = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (header := reader.readline(_MAX_HEAD_BYTES)) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    length = int(headers.get("content-length", "0"))
    if length <= MAX_RESPONSE_BYTES:
        return _Request(method, path, headers, reader.read(length) if length else b"", 0)
    remaining = length
    while remaining and (chunk := reader.read(min(remaining, 1 << 20))):
        remaining -= len(chunk)
    return _Request(method, path, headers, b"", length)
