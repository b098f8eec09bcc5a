"""schemathesis against ``lambda_handler`` in-process, generated from api/openapi.yaml.

The e2e fuzz (tests/e2e/test_fuzz.py) drives the whole local stack; this one drives only the function, through
a WSGI shim that builds the proxy event API Gateway would. That is cheap enough for 80 examples per tutorial
operation, the fewest that (derandomized) reach what it found: the tutorial endpoint answered undecodable
bodies without errorType/errorMessage. A handler exception is not caught here: it fails the test.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import app
import schemathesis
from hypothesis import HealthCheck, settings

from tests.support.contract_checks import CONTRACT_CHECKS


def proxy_event(environ: dict) -> dict:
    """The REST proxy event (payload v1) API Gateway's prod stage sends for this WSGI request."""
    path = environ.get("PATH_INFO", "")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else None
    headers = {
        name[5:].replace("_", "-").title(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    segments = path.split("/")
    is_item = len(segments) == 3 and segments[1] == "items" and segments[2]
    try:
        text, encoded = (body.decode("utf-8"), False) if body is not None else (None, False)
    except UnicodeDecodeError:  # API Gateway base64-encodes what is not text
        text, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": "/items/{id}" if is_item else path,
        "path": path,
        "httpMethod": environ["REQUEST_METHOD"],
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"id": urllib.parse.unquote(segments[2])} if is_item else None,
        "requestContext": {"path": f"/prod{path}", "stage": "prod"},
        "body": text,
        "isBase64Encoded": encoded,
    }


def function_as_wsgi(environ: dict, start_response: Any) -> Iterable[bytes]:
    response = app.lambda_handler(proxy_event(environ), SimpleNamespace(aws_request_id="fuzz"))
    status = response["statusCode"]
    start_response(f"{status} {HTTPStatus(status).phrase}", list(response["headers"].items()))
    return [response["body"].encode("utf-8")]


schema = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "api" / "openapi.yaml")
schema.app = function_as_wsgi


FUZZ_SETTINGS = {
    "deadline": None,
    "database": None,
    "derandomize": True,  # the same examples every run: a failure here is a regression, never luck
    "suppress_health_check": list(HealthCheck),
}


@schema.include(tag="items").parametrize()
@settings(max_examples=30, **FUZZ_SETTINGS)
def test_items_routes_conform_to_the_contract_under_fuzzing(case, table_name, capsys):
    case.call_and_validate(checks=CONTRACT_CHECKS)
    capsys.readouterr()  # one log line per request: keep pytest's captured output small


@schema.include(tag="tutorial").parametrize()
@settings(max_examples=80, **FUZZ_SETTINGS)
def test_tutorial_endpoint_conforms_to_the_contract_under_fuzzing(case, table_name, capsys):
    case.call_and_validate(checks=CONTRACT_CHECKS)
    capsys.readouterr()


def test_the_shim_reaches_the_function(table_name, capsys):
    """The fuzz tests above prove nothing if their requests never reached the function."""
    schema_case = schema["/items/{id}"]["PUT"].Case(path_parameters={"id": "shim"}, body={"a": 1})
    assert schema_case.call().status_code == 201
    assert schema["/items/{id}"]["GET"].Case(path_parameters={"id": "shim"}).call().json()["a"] == 1
    assert '"route": "/items/{id}"' in capsys.readouterr().out
