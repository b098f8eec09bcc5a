"""The local gateway answers as the deployed REST API would: the same keys, preflights and CORS headers.

The deployed body is built by components/openapi_body.py from the same api/openapi.yaml; the emulator may not
import components/, so this test is where the two meet.
"""

from __future__ import annotations

import pytest

from api.spec import CORS_ALLOW_HEADERS, CORS_MAX_AGE_S, OPENAPI_PATH, load_spec, operations
from components.openapi_body import build_body
from emulator import gateway
from emulator.gateway import HttpRequest, LocalApiGateway, RouteTable

ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def deployed() -> dict:
    return build_body(
        load_spec(), invoke_uri="arn:aws:apigateway:local", auth_mode="api_key", cors_origin=ORIGIN
    )


def test_cors_constants_match_the_stack() -> None:
    assert gateway.CORS_ALLOW_HEADERS == CORS_ALLOW_HEADERS
    assert gateway.CORS_MAX_AGE_S == CORS_MAX_AGE_S


def test_the_key_is_required_exactly_where_the_stack_requires_it(deployed: dict) -> None:
    local = RouteTable.from_openapi(OPENAPI_PATH)
    for path, method, operation in operations(deployed):
        if method == "options":
            continue
        matched = local.match(path.replace("{id}", "x"))
        assert matched is not None, path
        local_operation = matched[0].operation(method.upper())
        assert local_operation is not None, (path, method)
        assert local_operation.api_key_required == (operation["security"] == [{"api_key": []}]), (
            path,
            method,
        )


def test_preflights_allow_the_methods_the_stack_allows(deployed: dict) -> None:
    local = LocalApiGateway(
        RouteTable.from_openapi(OPENAPI_PATH), api_key="k", invoke=None, cors_origin=ORIGIN
    )
    for path, item in deployed["paths"].items():
        integration = item["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
        expected = {
            name.removeprefix("method.response.header."): value.strip("'")
            for name, value in integration["responseParameters"].items()
        }
        response = local.handle(HttpRequest("OPTIONS", "/prod" + path.replace("{id}", "x"), [], b""))
        assert response.status == 200
        assert {
            name: value for name, value in response.headers if name.startswith("Access-Control")
        } == expected
