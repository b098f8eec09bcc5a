"""Fixtures for the function's tests: ``function/`` on the path as Lambda loads it, a mocked table, and an
``api`` that builds API Gateway REST proxy events (payload v1) the way the prod stage does."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from api.names import CURSOR_KEY_VARIABLE, IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name
from emulator.table_setup import create_table as create_tables

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "function"
TABLE = "items-test"
CURSOR_KEY = "function-tests-cursor-key"  # what Pulumi's secret or the local stack's key is on a deployment

# Lambda puts the package root first on sys.path and imports app as a top-level module; so do the tests —
# without leaving a __pycache__ in function/, the folder that is zipped and deployed as it is.
if str(FUNCTION_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTION_DIR))
_write_bytecode = sys.dont_write_bytecode
sys.dont_write_bytecode = True
# Init as deployed, with a cursor key (else a warning at import); each test then sets it (``cursor_key``).
with pytest.MonkeyPatch.context() as _patch:
    _patch.setenv(CURSOR_KEY_VARIABLE, CURSOR_KEY)
    import app
    import store

sys.dont_write_bytecode = _write_bytecode


def create_table(client: Any, name: str = TABLE) -> None:
    """The tables as api/ defines them (the same definitions Pulumi and the emulator use): the items and,
    beside them, the idempotency records."""
    create_tables(client, name)


@dataclass
class Context:
    aws_request_id: str
    function_name: str = "crud"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text, parse_float=Decimal)


class Api:
    """Calls ``app.lambda_handler`` with proxy events; ``direct`` sends a direct (non-proxy) invocation."""

    def __init__(self) -> None:
        self.last_request_id = ""

    def _context(self) -> Context:
        self.last_request_id = str(uuid.uuid4())
        return Context(self.last_request_id)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw: str | None = None,
        event_changes: dict | None = None,
    ) -> Reply:
        headers = (
            {"Content-Type": "application/json", **(headers or {})} if body is not None or raw else headers
        )
        segments = path.split("/")
        if len(segments) == 3 and segments[1] == "items":
            resource, parameters = "/items/{id}", {"id": segments[2]}
        else:
            resource, parameters = path, None
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in (headers or {}).items()},
            "queryStringParameters": query,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": parameters,
            "stageVariables": None,
            "requestContext": {"path": f"/prod{path}", "stage": "prod", "httpMethod": method},
            "body": raw if raw is not None else (None if body is None else json.dumps(body)),
            "isBase64Encoded": False,
        }
        event.update(event_changes or {})
        response = app.lambda_handler(event, self._context())
        assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert isinstance(response["body"], str)
        return Reply(response["statusCode"], response["headers"], response["body"])

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def direct(self, event: Any) -> Any:
        return app.lambda_handler(event, self._context())


@pytest.fixture(autouse=True)
def cursor_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The function's cursor key, as every deployment sets it (tests of a missing key remove it)."""
    monkeypatch.setenv(CURSOR_KEY_VARIABLE, CURSOR_KEY)
    return CURSOR_KEY


@pytest.fixture(scope="module")
def mocked_dynamodb() -> Iterator[Any]:
    """In-process moto for one test module (starting it per test costs more than the tests themselves)."""
    with mock_aws():
        store.reset_client()
        try:
            yield boto3.resource("dynamodb", region_name="us-east-1")
        finally:
            store.reset_client()


@pytest.fixture
def table_name(mocked_dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty table per test; TABLE_NAME points at it."""
    name = f"{TABLE}-{uuid.uuid4().hex[:8]}"
    create_table(mocked_dynamodb.meta.client, name)
    monkeypatch.setenv("TABLE_NAME", name)
    monkeypatch.setenv(IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name(name))
    monkeypatch.delenv("CORS_ALLOW_ORIGIN", raising=False)
    return name


@pytest.fixture
def api(table_name: str) -> Api:
    return Api()


@pytest.fixture
def raw_table(mocked_dynamodb: Any, table_name: str) -> Any:
    """Direct access to the test's table, to check what was (not) stored."""
    return mocked_dynamodb.Table(table_name)


class FailingDynamoDB:
    """Stands in for the function's client: every API call fails the way DynamoDB (or the network) can."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.calls: list[str] = []

    def __getattr__(self, operation: str) -> Any:
        def fail(**params: Any) -> None:
            self.calls.append(operation)
            if self.code == "EndpointConnectionError":
                raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
            error = {"Error": {"Code": self.code, "Message": f"{self.code} (simulated)"}}
            raise ClientError(error, operation)

        return fail


@pytest.fixture
def fail_dynamodb(monkeypatch: pytest.MonkeyPatch, table_name: str) -> Any:
    """``fail_dynamodb("ThrottlingException")`` makes every DynamoDB call of the function fail that way."""

    def install(code: str) -> FailingDynamoDB:
        failing = FailingDynamoDB(code)
        monkeypatch.setattr(store, "client", lambda: failing)
        return failing

    return install


@pytest.fixture
def server_api(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Api:
    """An ``Api`` whose function talks to the emulator's moto server (atomic conditional writes)."""
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv(IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name(TABLE))
    create_table(boto3.client("dynamodb"), TABLE)
    return Api()
