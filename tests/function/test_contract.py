"""The function and api/openapi.yaml agree: same routes, and every answer is a documented status with a body
that validates against the documented schema (what schemathesis will hold the deployed API to)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import item_rules
import pytest
import routing
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

SPEC_PATH = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def test_spec_is_valid_openapi_3_0_with_a_description():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.0.")
    assert SPEC["info"]["description"]  # moto's and API Gateway's import need it


def test_function_routes_equal_spec_paths_and_methods():
    spec_routes = {
        (path, method.upper())
        for path, item in SPEC["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    function_routes = {(path, method) for path, methods in routing.ROUTES.items() for method in methods}
    assert function_routes == spec_routes


def test_every_operation_requires_the_api_key_and_has_an_operation_id():
    assert SPEC["components"]["securitySchemes"]["api_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    operation_ids = []
    for item in SPEC["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert operation["security"] == [{"api_key": []}]
                operation_ids.append(operation["operationId"])
    assert len(operation_ids) == len(set(operation_ids)) == 8


def resolve(node: dict) -> dict:
    """Follow local $refs (#/components/...) to the object they name."""
    while "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_conformance(method: str, route: str, reply) -> None:
    """The reply's status is documented for the operation, with its content type, schema and headers."""
    operation = SPEC["paths"][route][method.lower()]
    assert str(reply.status) in operation["responses"], f"{method} {route} → undocumented {reply.status}"
    documented = resolve(operation["responses"][str(reply.status)])
    for header, spec in documented.get("headers", {}).items():
        required = resolve(spec).get("required", True)  # the contract's headers are there unless it says not
        assert header in reply.headers or not required, f"{method} {route} {reply.status}: {header} missing"
    content = documented.get("content")
    if not content:
        assert reply.text == ""
        return
    content_type = reply.headers["Content-Type"]
    assert content_type in content, f"{method} {route} {reply.status}: {content_type} not documented"
    schema = {**content[content_type]["schema"], "components": SPEC["components"]}
    OAS30Validator(schema).validate(json.loads(reply.text))


def scenario(api):
    """One pass over every route and the statuses the function itself can produce (no AWS failures here)."""
    yield "POST", "/items", api.post("/items", {"name": "a", "n": 0.5})
    yield "POST", "/items", api.post("/items", {"id": "x1", "nested": {"a": [1, None]}})
    yield "POST", "/items", api.post("/items", {"id": "x1"})
    yield "POST", "/items", api.post("/items", ["not", "an", "object"])
    yield "POST", "/items", api.post("/items", {"blob": "b" * (256 * 1024)})
    yield "POST", "/items", api.post("/items", {"a": 1}, headers={"Content-Type": "text/plain"})
    yield "GET", "/items", api.get("/items", query={"limit": "1"})
    yield "GET", "/items", api.get("/items")
    yield "GET", "/items", api.get("/items", query={"cursor": "AAAA"})
    yield "GET", "/items/{id}", api.get("/items/x1")
    yield "GET", "/items/{id}", api.get("/items/none")
    yield "GET", "/items/{id}", api.get("/items/bad id")
    yield "PUT", "/items/{id}", api.put("/items/x2", {"a": 1})
    yield "PUT", "/items/{id}", api.put("/items/x2", {"a": 2})
    yield "PUT", "/items/{id}", api.put("/items/x2", {"a": 3}, headers={"If-Match": '"9"'})
    yield "PUT", "/items/{id}", api.put("/items/x2", {"version": 3})
    yield "PUT", "/items/{id}", api.put("/items/x2", {"a": 3}, headers={"Content-Type": "text/csv"})
    yield "PATCH", "/items/{id}", api.patch("/items/x2", {"b": None, "c": 1})
    yield "PATCH", "/items/{id}", api.patch("/items/none", {"c": 1})
    yield "PATCH", "/items/{id}", api.patch("/items/x2", {"c": 2}, headers={"If-Match": '"1"'})
    yield "PATCH", "/items/{id}", api.patch("/items/x2", {"big": "c" * (300 * 1024)})
    yield "PATCH", "/items/{id}", api.patch("/items/x2", {"c": 2}, headers={"Content-Type": "text/plain"})
    yield "PATCH", "/items/{id}", api.patch("/items/x2", {"": 2})
    yield "DELETE", "/items/{id}", api.delete("/items/x2", headers={"If-Match": '"1"'})
    yield "DELETE", "/items/{id}", api.delete("/items/x2")
    yield "DELETE", "/items/{id}", api.delete("/items/x2")
    for path in ("/DynamoDBManager", "/dynamodbmanager"):
        yield "POST", path, api.post(path, {"operation": "ping"})
        yield "POST", path, api.post(path, {"operation": "echo", "payload": [1, "two"]})
        yield "POST", path, api.post(path, {"operation": "read", "payload": {"Key": {"id": "x1"}}})
        yield "POST", path, api.post(path, {"operation": "list", "payload": {"Limit": 1}})
        yield "POST", path, api.post(path, {"operation": "create", "payload": {"Item": {"id": "x1"}}})
        yield (
            "POST",
            path,
            api.post(
                path,
                {
                    "operation": "update",
                    "payload": {"Key": {"id": "zz"}, "AttributeUpdates": {"a": {"Value": 1}}},
                },
            ),
        )
        yield "POST", path, api.post(path, {"operation": "create", "tableName": "other", "payload": {}})
        yield "POST", path, api.post(path, {"operation": "drop"})
        yield "POST", path, api.post(path, {"operation": "echo", "payload": "x" * (256 * 1024)})


def test_every_answer_conforms_to_the_spec(api):
    statuses = set()
    for method, route, reply in scenario(api):
        check_conformance(method, route, reply)
        statuses.add(reply.status)
    assert statuses >= {200, 201, 204, 400, 403, 404, 409, 412, 413, 415}


@pytest.mark.parametrize("status", [502, 503])
def test_dependency_failures_conform_too(api, fail_dynamodb, status):
    fail_dynamodb("ThrottlingException" if status == 503 else "InternalServerError")
    for method, route, reply in (
        ("GET", "/items/{id}", api.get("/items/a")),
        ("GET", "/items", api.get("/items")),
        (
            "POST",
            "/DynamoDBManager",
            api.post("/DynamoDBManager", {"operation": "read", "payload": {"Key": {"id": "a"}}}),
        ),
    ):
        assert reply.status == status
        check_conformance(method, route, reply)


@pytest.mark.parametrize(
    "value",
    ["*", '"3"', ' W/"3" ', '"1", "2"', "3", "garbage", '"-1"', '""', '"1",', '"1234567890123456789"'],
)
def test_if_match_pattern_in_the_spec_is_what_the_function_accepts(value):
    import items
    from problems import ApiError

    pattern = SPEC["components"]["parameters"]["IfMatch"]["schema"]["pattern"]
    request = type("Headers", (), {"header": staticmethod(lambda name: value)})()
    try:
        items.if_match(request)
        accepted = True
    except ApiError:
        accepted = False
    assert accepted == bool(re.search(pattern, value))


@pytest.mark.parametrize(
    "value", ["a", "A.b_c:d-e", "...", ".a", "a" * 128, "", ".", "..", "a b", "a/b", "a" * 129]
)
def test_id_pattern_in_the_spec_is_what_the_function_accepts(value):

    pattern = SPEC["components"]["schemas"]["ItemId"]["pattern"]
    assert bool(item_rules.ID_PATTERN.fullmatch(value)) == bool(re.search(pattern, value))
