"""The deployed body stays inside what API Gateway's REST import accepts, and means what the contract says."""

from __future__ import annotations

import json
from typing import Any

import yaml

from components.openapi_subset import api_gateway_subset
from tests.infra.harness import PROJECT_DIR, ProgramRun, contract_operations

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


def _deployed(prod: ProgramRun) -> dict[str, Any]:
    return json.loads(prod.one("aws:apigateway/restApi:RestApi").inputs["body"])


def test_only_schema_references_remain(prod: ProgramRun) -> None:
    body = _deployed(prod)
    refs = _refs(body)
    assert refs, "the contract's schemas should still be shared as models"
    assert all(ref.startswith("#/components/schemas/") for ref in refs), sorted(set(refs))
    assert set(body["components"]) == {"schemas", "securitySchemes"}


def test_no_schema_uses_a_keyword_api_gateway_models_refuse(prod: ProgramRun) -> None:
    body = _deployed(prod)
    schemas = list(body["components"]["schemas"].values()) + _all_schemas(body["paths"])
    assert len(schemas) > 10
    used = set().union(*(_schema_keywords(s) for s in schemas))
    assert not used & UNSUPPORTED_IN_MODELS, used & UNSUPPORTED_IN_MODELS


def test_every_operation_keeps_its_parameters_and_body(prod: ProgramRun) -> None:
    body = _deployed(prod)
    for path, method, contract_op in contract_operations():
        deployed = body["paths"][path][method]
        expected = [
            (p["name"], p["in"], p.get("required", False))
            for p in _resolved(contract_op.get("parameters", []))
        ]
        actual = [(p["name"], p["in"], p.get("required", False)) for p in deployed.get("parameters", [])]
        assert actual == expected, (path, method)
        if "requestBody" in contract_op:
            contract_body = _resolved([contract_op["requestBody"]])[0]
            assert deployed["requestBody"]["content"].keys() == contract_body["content"].keys(), (
                path,
                method,
            )
            assert deployed["requestBody"].get("required") == contract_body.get("required"), (path, method)


def _resolved(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    spec = yaml.safe_load((PROJECT_DIR / "api" / "openapi.yaml").read_text(encoding="utf-8"))
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
