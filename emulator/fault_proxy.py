"""The function's own DynamoDB endpoint when faults are on: a loopback HTTP proxy in front of the moto server.

Only the function's environments are pointed here (``AWS_ENDPOINT_URL``); the operator, the tests and the
tuning tools keep talking to the moto server itself, so faults never hit their calls. Each DynamoDB request
(``X-Amz-Target: DynamoDB_20120810.<Operation>``) waits ``latency_ms``, then may get, in this order:

* ``dynamodb-throttle``: 400 ThrottlingException or ProvisionedThroughputExceededException, not forwarded;
* ``dynamodb-error``: 500 InternalServerError, not forwarded;
* ``dynamodb-lost-response`` (writes only): forwarded and applied, then the connection is closed before the
  answer, so the client cannot know whether its write happened.

Anything else is forwarded unchanged, byte for byte (DynamoDB's ``x-amz-crc32`` header still matches).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from emulator.faults import FaultPlan

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_TARGET_PREFIX = "DynamoDB_20120810."
_ERROR_TYPE = "com.amazonaws.dynamodb.v20120810#"
_THROTTLES = {
    "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table "
    "was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
}
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})
_UPSTREAM_TIMEOUT_S = 30.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    server: _ProxyServer

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_POST  # noqa: N815 (the moto server's own pages; DynamoDB is all POST)

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.removeprefix(_TARGET_PREFIX) if target.startswith(_TARGET_PREFIX) else ""
        proxy = self.server
        plan = proxy.plan
        if operation:
            time.sleep(proxy.latency_s)
            if plan.fire("dynamodb-throttle", operation):
                code = plan.choose("dynamodb-throttle", list(_THROTTLES))
                self._answer_error(400, code, f"{_THROTTLES[code]} (fault injected by the emulator)")
                return
            if plan.fire("dynamodb-error", operation):
                self._answer_error(500, "InternalServerError", "Internal server error (fault injected)")
                return
        try:
            status, headers, answer = self._forward(body)
        except (OSError, http.client.HTTPException):  # moto is gone (stopping): the client sees it gone too
            self.close_connection = True
            return
        if status == 200 and operation in WRITE_OPERATIONS and plan.fire("dynamodb-lost-response", operation):
            self.close_connection = True  # the write is applied; its answer never leaves
            return
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request to the moto server on this client connection's own upstream connection."""
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(*self.server.upstream, timeout=_UPSTREAM_TIMEOUT_S)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        try:
            self._upstream.request(self.command, self.path, body=body, headers=headers)
            response = self._upstream.getresponse()
            return response.status, response.getheaders(), response.read()
        except (OSError, http.client.HTTPException):
            self._close_upstream()
            raise

    def _close_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        self._close_upstream()
        super().finish()

    def _answer_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"__type": f"{_ERROR_TYPE}{code}", "message": message}).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", uuid.uuid4().hex.upper())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the plan logs every injected fault, the moto server every request."""


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up before its answer (botocore's read timeout) is no fault of the proxy."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    def __init__(self, address: tuple[str, int], upstream: str, plan: FaultPlan, latency_ms: int) -> None:
        super().__init__(address, _Handler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.plan = plan
        self.latency_s = latency_ms / 1000


class FaultProxy:
    """``start()`` → the endpoint URL to give the function; ``stop()`` frees the port (safe to call twice)."""

    def __init__(
        self, upstream: str, plan: FaultPlan, *, latency_ms: int = 0, host: str = "127.0.0.1"
    ) -> None:
        self._server = _ProxyServer((host, 0), upstream, plan, latency_ms)
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self.endpoint_url

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
