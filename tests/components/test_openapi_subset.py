"""The deployed body stays inside what API Gateway's REST import accepts, and means what the contract says."""

from __future__ import annotations

import re
from typing import Any

from components.openapi_subset import api_gateway_subset
from tests.components.harness import ProgramRun, contract_operations, contract_spec

# From AWS's list of OpenAPI features API Gateway's REST import does not support in models.
UNSUPPORTED_IN_MODELS = {"readOnly", "writeOnly", "nullable", "example", "discriminator"}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _schema_keywords(schema: Any) -> set[str]:
    """Every keyword used in a schema, at any depth, not counting property names."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for name, value in schema.items():
        if name == "properties" and isinstance(value, dict):
            found |= {k for s in value.values() for k in _schema_keywords(s)}
        elif isinstance(value, dict):
            found |= _schema_keywords(value)
        elif isinstance(value, list):
            found |= {k for s in value for k in _schema_keywords(s)}
    return found


def _all_schemas(node: Any) -> list[Any]:
    if isinstance(node, dict):
        own = [node["schema"]] if "schema" in node else []
        return own + [s for k, v in node.items() if k != "schema" for s in _all_schemas(v)]
    if isinstance(node, list):
        return [s for v in node for s in _all_schemas(v)]
    return []


def test_only_schema_references_remain(prod: ProgramRun) -> None:
    body = prod.api_body()
    refs = _refs(body)
    assert refs, "the contract's schemas should still be shared as models"
    assert all(ref.startswith("#/components/schemas/") for ref in refs), sorted(set(refs))
    assert set(body["components"]) == {"schemas", "securitySchemes"}


def test_no_schema_uses_a_keyword_api_gateway_models_refuse(prod: ProgramRun) -> None:
    body = prod.api_body()
    schemas = list(body["components"]["schemas"].values()) + _all_schemas(body["paths"])
    assert len(schemas) > 10
    used = set().union(*(_schema_keywords(s) for s in schemas))
    assert not used & UNSUPPORTED_IN_MODELS, used & UNSUPPORTED_IN_MODELS


def test_every_operation_keeps_its_parameters_and_body(prod: ProgramRun) -> None:
    body = prod.api_body()
    spec = contract_spec()
    for path, method, contract_op in contract_operations(spec):
        deployed = body["paths"][path][method]
        expected = [
            (p["name"], p["in"], p.get("required", False))
            for p in _resolved(spec, contract_op.get("parameters", []))
        ]
        actual = [(p["name"], p["in"], p.get("required", False)) for p in deployed.get("parameters", [])]
        assert actual == expected, (path, method)
        if "requestBody" in contract_op:
            contract_body = _resolved(spec, [contract_op["requestBody"]])[0]
            assert deployed["requestBody"]["content"].keys() == contract_body["content"].keys(), (
                path,
                method,
            )
            assert deployed["requestBody"].get("required") == contract_body.get("required"), (path, method)


def _resolved(spec: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        while "$ref" in item:
            node: Any = spec
            for part in item["$ref"][2:].split("/"):
                node = node[part]
            item = node
        out.append(item)
    return out


def test_subset_keeps_property_names_that_look_like_keywords_and_drops_the_keywords() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "post": {
                    "parameters": [{"$ref": "#/components/parameters/P"}],
                    "requestBody": {"$ref": "#/components/requestBodies/B"},
                    "responses": {"200": {"$ref": "#/components/responses/R"}},
                }
            }
        },
        "components": {
            "parameters": {"P": {"name": "p", "in": "query", "schema": {"$ref": "#/components/schemas/S"}}},
            "requestBodies": {
                "B": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/O"}}}}
            },
            "responses": {"R": {"description": "ok"}},
            "schemas": {
                "S": {"type": "string", "example": "x", "nullable": True},
                "O": {
                    "type": "object",
                    "properties": {
                        "example": {"type": "string", "readOnly": True},
                        "nested": {"type": "array", "items": {"type": "integer", "example": 1}},
                    },
                    "anyOf": [{"required": ["example"], "discriminator": {"propertyName": "x"}}],
                },
            },
        },
    }
    subset = api_gateway_subset(spec)
    operation = subset["paths"]["/x"]["post"]
    assert operation["parameters"] == [{"name": "p", "in": "query", "schema": {"type": "string"}}]
    assert operation["requestBody"] == {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/O"}}}
    }
    assert operation["responses"] == {"200": {"description": "ok"}}
    assert subset["components"]["schemas"]["O"] == {
        "type": "object",
        "properties": {
            "example": {"type": "string"},
            "nested": {"type": "array", "items": {"type": "integer"}},
        },
        "anyOf": [{"required": ["example"]}],
    }
    assert set(subset["components"]) == {"schemas"}
    assert spec["components"]["schemas"]["S"]["example"] == "x"  # the input is not modified


# AWS's REST import rules ("Amazon API Gateway important notes for REST APIs"), checked on the deployed body.
PATH_SEGMENT = re.compile(r"^(\{[A-Za-z0-9_]+\}|[A-Za-z0-9.,-]+)$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9]+$")


def test_paths_and_model_names_use_only_the_characters_api_gateway_accepts(prod: ProgramRun) -> None:
    body = prod.api_body()
    for path in body["paths"]:
        assert path.startswith("/"), path
        assert all(PATH_SEGMENT.match(segment) for segment in path[1:].split("/")), path
    assert body["components"]["schemas"]
    assert all(MODEL_NAME.match(name) for name in body["components"]["schemas"])


def test_every_response_model_is_an_object(prod: ProgramRun) -> None:
    body = prod.api_body()
    models = body["components"]["schemas"]
    checked = 0
    for path, item in body["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for media_type, media in (response.get("content") or {}).items():
                    if "schema" not in media:
                        continue
                    schema = media["schema"]
                    if "$ref" in schema:
                        schema = models[schema["$ref"].rsplit("/", 1)[1]]
                    assert schema.get("type") == "object", (path, method, status, media_type)
                    assert "allOf" not in schema, (path, method, status, media_type)
                    checked += 1
    assert checked > 20
    # the contract's tutorial problem (an allOf) is deployed as the one object it means
    contract = contract_spec()
    assert "allOf" in contract["components"]["schemas"]["TutorialProblem"]
    tutorial = models["TutorialProblem"]
    assert tutorial["required"] == ["type", "title", "status", "errorType", "errorMessage"]
    assert set(tutorial["properties"]) == {
        "type", "title", "status", "detail", "requestId", "errorType", "errorMessage",
    }  # fmt: skip
    # the tutorial's "any JSON value" result has no object model: documented without a schema
    assert body["paths"]["/DynamoDBManager"]["post"]["responses"]["200"]["content"] == {
        "application/json": {}
    }


def _one_model_spec(schemas: dict[str, Any], responses: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": {"responses": responses}}},
        "components": {"schemas": schemas},
    }


def test_response_schemas_that_are_not_objects_lose_their_model() -> None:
    ref = {"$ref": "#/components/schemas/Name"}
    responses = {
        "200": {"description": "any", "content": {"application/json": {"schema": {}}}},
        "201": {"description": "str", "content": {"application/json": {"schema": {"type": "string"}}}},
        "202": {"description": "ref to a string", "content": {"application/json": {"schema": ref}}},
        "203": {"description": "obj", "content": {"application/json": {"schema": {"type": "object"}}}},
        "204": {
            "description": "ref",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/O"}}},
        },
    }
    subset = api_gateway_subset(
        _one_model_spec({"Name": {"type": "string"}, "O": {"type": "object"}}, responses)
    )
    kept = {
        status: r["content"]["application/json"]
        for status, r in subset["paths"]["/x"]["get"]["responses"].items()
    }
    assert kept == {
        "200": {},
        "201": {},
        "202": {},
        "203": {"schema": {"type": "object"}},
        "204": {"schema": {"$ref": "#/components/schemas/O"}},
    }
    assert subset["components"]["schemas"]["Name"] == {"type": "string"}  # primitive models may stay


def test_all_of_objects_merge_into_one_object_and_anything_inexact_stays() -> None:
    base = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}
    schemas = {
        "Base": base,
        "Closed": {**base, "additionalProperties": False},
        "Both": {
            "description": "d",
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"required": ["b"], "properties": {"b": {"type": "integer"}}},
            ],
        },
        "Narrowing": {"allOf": [{"$ref": "#/components/schemas/Closed"}, {"properties": {"b": {}}}]},
        "Twice": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {"a": {"minLength": 1}}}]},
    }
    models = api_gateway_subset(_one_model_spec(schemas, {"200": {"description": "ok"}}))["components"][
        "schemas"
    ]
    assert models["Both"] == {
        "description": "d",
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert models["Narrowing"] == schemas["Narrowing"]  # additionalProperties: false applies per part
    assert models["Twice"] == schemas["Twice"]  # a property constrained twice is not one definition


def test_number_formats_api_gateway_refuses_are_dropped() -> None:
    schemas = {"N": {"type": "object", "properties": {
        "i": {"type": "integer", "format": "int64"}, "t": {"type": "string", "format": "date-time"},
    }}}  # fmt: skip
    models = api_gateway_subset(_one_model_spec(schemas, {"200": {"description": "ok"}}))["components"][
        "schemas"
    ]
    assert models["N"]["properties"] == {
        "i": {"type": "integer"},
        "t": {"type": "string", "format": "date-time"},
    }


def test_the_contract_passed_in_is_left_as_it_was() -> None:
    """The subset is built from a copy; the contract it reads (and inlines from) stays untouched."""
    spec = contract_spec()
    subset = api_gateway_subset(spec)
    assert spec == contract_spec()
    assert subset != spec  # it did rewrite something: the comparison above is not vacuous
