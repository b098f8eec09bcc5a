"""The local Runtime API's contract, spoken to as a runtime client does (http.client, like awslambdaric's
init-error path): Lambda's headers, one event at a time, results, errors, init errors, payload limits."""

from __future__ import annotations

import http.client
import json
import queue
import threading
from collections.abc import Iterator

import pytest

from emulator.runtime_api import MAX_RESPONSE_BYTES, Event, InitFailed, Ready, Result, RuntimeApi, Started

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:probe"
BASE = "/2018-06-01/runtime"


class Api:
    """A RuntimeApi and the messages it reported."""

    def __init__(self) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.server = RuntimeApi(self.messages.put)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.server.address, timeout=10)

    def message(self):
        return self.messages.get(timeout=10)


@pytest.fixture
def api() -> Iterator[Api]:
    started = Api()
    try:
        yield started
    finally:
        started.server.close()


def event(request_id: str = "req-1", body: bytes = b'{"n": 1}', **extra: str) -> Event:
    return Event(request_id, body, 1_900_000_000_000, ARN, TRACE, **extra)


def post(connection: http.client.HTTPConnection, path: str, body: bytes, **headers: str):
    connection.request("POST", BASE + path, body, headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def test_next_hands_out_the_event_with_lambdas_headers(api: Api) -> None:
    api.server.deliver(event(client_context='{"custom": {}}', cognito_identity='{"cognitoIdentityId": "x"}'))
    connection = api.connect()
    connection.request(
        "GET", BASE + "/invocation/next", headers={"User-Agent": "aws-lambda-python/3.13.0-4.2.2"}
    )
    response = connection.getresponse()

    assert response.status == 200
    assert response.read() == b'{"n": 1}'
    assert response.getheader("Lambda-Runtime-Aws-Request-Id") == "req-1"
    assert response.getheader("Lambda-Runtime-Deadline-Ms") == "1900000000000"
    assert response.getheader("Lambda-Runtime-Invoked-Function-Arn") == ARN
    assert response.getheader("Lambda-Runtime-Trace-Id") == TRACE
    assert response.getheader("Lambda-Runtime-Client-Context") == '{"custom": {}}'
    assert response.getheader("Lambda-Runtime-Cognito-Identity") == '{"cognitoIdentityId": "x"}'
    ready = api.message()
    assert isinstance(ready, Ready)
    assert ready.user_agent == "aws-lambda-python/3.13.0-4.2.2"
    assert isinstance(api.message(), Started)


def test_optional_headers_are_absent_when_not_set(api: Api) -> None:
    api.server.deliver(event())
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/next")
    response = connection.getresponse()
    response.read()

    assert response.getheader("Lambda-Runtime-Client-Context") is None
    assert response.getheader("Lambda-Runtime-Cognito-Identity") is None


def test_one_event_at_a_time_and_the_response_is_accepted(api: Api) -> None:
    api.server.deliver(event("req-1"))
    api.server.deliver(event("req-2"))
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/next")
    first = connection.getresponse()
    first.read()
    assert first.getheader("Lambda-Runtime-Aws-Request-Id") == "req-1"

    # req-2 is queued, but only the current event may be answered
    status, body = post(api.connect(), "/invocation/req-2/response", b"{}")
    assert (status, body["errorType"]) == (400, "InvalidRequestID")
    status, body = post(connection, "/invocation/req-1/response", b'{"answer": 42}')
    assert (status, body) == (202, {"status": "OK"})
    status, _ = post(connection, "/invocation/req-1/response", b"{}")  # answered once only
    assert status == 400

    connection.request("GET", BASE + "/invocation/next")
    second = connection.getresponse()
    second.read()
    assert second.getheader("Lambda-Runtime-Aws-Request-Id") == "req-2"
    messages = [api.message() for _ in range(4)]
    assert [type(m) for m in messages] == [Ready, Started, Result, Started]
    assert messages[2].kind == "response"
    assert messages[2].body == b'{"answer": 42}'


def test_next_waits_until_an_event_is_delivered(api: Api) -> None:
    got: queue.Queue = queue.Queue()

    def poll() -> None:
        connection = api.connect()
        connection.request("GET", BASE + "/invocation/next")
        got.put(connection.getresponse().getheader("Lambda-Runtime-Aws-Request-Id"))

    threading.Thread(target=poll, daemon=True).start()
    assert isinstance(api.message(), Ready)
    assert got.empty()  # blocked: nothing to hand out yet
    api.server.deliver(event("late"))
    assert got.get(timeout=10) == "late"


def test_a_function_error_carries_the_document_and_its_type(api: Api) -> None:
    api.server.deliver(event())
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/next")
    connection.getresponse().read()
    document = {"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}
    status, _ = post(
        connection,
        "/invocation/req-1/error",
        json.dumps(document).encode(),
        **{"Lambda-Runtime-Function-Error-Type": "Unhandled"},
    )

    assert status == 202
    result = [api.message() for _ in range(3)][-1]
    assert result.kind == "error"
    assert json.loads(result.body) == document
    assert result.error_type == "Unhandled"


def test_an_init_error_is_reported_once_before_the_first_next(api: Api) -> None:
    document = {"errorMessage": "Unable to import module 'app'", "errorType": "Runtime.ImportModuleError"}
    status, body = post(
        api.connect(),
        "/init/error",
        json.dumps(document).encode(),
        **{"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
    )
    assert (status, body) == (202, {"status": "OK"})
    failed = api.message()
    assert isinstance(failed, InitFailed)
    assert json.loads(failed.body) == document
    assert failed.error_type == "Runtime.ImportModuleError"

    api.server.deliver(event())
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/next")
    connection.getresponse().read()
    status, _ = post(api.connect(), "/init/error", b"{}")
    assert status == 403  # init is over once the client asked for an event


def test_a_response_over_six_megabytes_is_refused_and_reported(api: Api) -> None:
    api.server.deliver(event())
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/next")
    connection.getresponse().read()
    status, body = post(connection, "/invocation/req-1/response", b"x" * (MAX_RESPONSE_BYTES + 1))

    assert status == 413
    assert body["errorType"] == "RequestEntityTooLarge"
    result = [api.message() for _ in range(3)][-1]
    assert (result.kind, result.size) == ("too_large", MAX_RESPONSE_BYTES + 1)


def test_a_response_of_exactly_the_limit_is_accepted(api: Api) -> None:
    api.server.deliver(event())
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/next")
    connection.getresponse().read()
    status, _ = post(connection, "/invocation/req-1/response", b"x" * MAX_RESPONSE_BYTES)

    assert status == 202
    assert [api.message() for _ in range(3)][-1].size == MAX_RESPONSE_BYTES


def test_unknown_paths_are_not_found(api: Api) -> None:
    connection = api.connect()
    connection.request("GET", BASE + "/invocation/req-1/response")
    response = connection.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["errorType"] == "NotFound"


def test_close_ends_a_blocked_next(api: Api) -> None:
    ended: queue.Queue = queue.Queue()

    def poll() -> None:
        connection = api.connect()
        connection.request("GET", BASE + "/invocation/next")
        try:
            connection.getresponse()
        except (http.client.HTTPException, OSError) as error:
            ended.put(error)

    threading.Thread(target=poll, daemon=True).start()
    assert isinstance(api.message(), Ready)
    api.server.close()
    assert isinstance(ended.get(timeout=10), http.client.HTTPException | OSError)
