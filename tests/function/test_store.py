"""The DynamoDB client's retry budget: how many attempts a throttled call makes, and that the worst case fits
inside the function's timeout."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import store
import yaml
from botocore.retries.standard import ExponentialBackoff
from problems import ApiError

ROOT = Path(__file__).resolve().parents[2]

THROTTLED = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'


class _AlwaysThrottled(BaseHTTPRequestHandler):
    """Answers every DynamoDB request as a throttled table does, and counts them."""

    attempts = 0

    def do_POST(self) -> None:
        type(self).attempts += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(THROTTLED)))
        self.end_headers()
        self.wfile.write(THROTTLED)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttled_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_AlwaysThrottled]]:
    handler = type("Counting", (_AlwaysThrottled,), {"attempts": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("TABLE_NAME", "items")
    store.reset_client()
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        store.reset_client()


def test_a_throttled_call_is_tried_three_times_then_answers_503(
    throttled_endpoint: type[_AlwaysThrottled],
) -> None:
    with pytest.raises(ApiError) as raised:
        store.call("get_item", Key={"id": {"S": "a"}})
    assert raised.value.status == 503
    assert raised.value.headers == {"Retry-After": store.RETRY_AFTER_SECONDS}
    assert throttled_endpoint.attempts == 3  # botocore's older max_attempts=3 made 4: it counts retries


def test_the_worst_case_of_every_attempt_fits_inside_the_default_function_timeout() -> None:
    """Each attempt may wait out its connect and read timeouts, and each retry of a throttled one backs off
    up to 1 s × 2^retry (botocore's standard mode: random × min(1 s × 2^i, 20 s)). DynamoDB sends no
    x-amz-retry-after, which could add up to 5 s per retry."""
    config = store.CLIENT_CONFIG
    attempts = config.retries["total_max_attempts"]
    assert config.retries["mode"] == "standard"
    backoff_s = sum(min(2**retry, ExponentialBackoff._MAX_BACKOFF) for retry in range(attempts - 1))
    worst_s = attempts * (config.connect_timeout + config.read_timeout) + backoff_s
    project = yaml.safe_load(Path(ROOT, "Pulumi.yaml").read_text(encoding="utf-8"))
    assert worst_s < project["config"]["timeout"]["default"]
