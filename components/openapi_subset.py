"""Rewrite an OpenAPI 3 document into the subset API Gateway's REST API import accepts, same meaning.

API Gateway turns `components.schemas` into JSON Schema draft-4 models and documents these limits ("Amazon API
Gateway important notes", REST API import): OpenAPI-only schema keywords such as `readOnly`, `nullable`,
`example` or `discriminator` are refused in models (`example` fails the import with "Invalid model schema
specified"), and so are the `int32`/`int64`/`decimal` formats; response objects referenced with `$ref` are not
supported; a method response's schema must be an object, not a primitive; parameters keep only name, in,
required, type and description. So references to responses, request bodies, parameters and headers are
inlined, schema references stay (they become models), the OpenAPI-only annotations are dropped from every
schema (they document responses and never change what a request may be), and a response schema that is not an
object loses its model: behind a Lambda proxy integration response models are documentation only, the function
writes the response.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

OPENAPI_ONLY_SCHEMA_KEYWORDS = frozenset(
    {
        "readOnly",
        "writeOnly",
        "nullable",
        "example",
        "examples",
        "discriminator",
        "deprecated",
        "xml",
        "externalDocs",
    }
)
# Number formats API Gateway refuses; draft 4 treats unknown formats as annotations, so dropping them keeps
# what a request may be.
UNSUPPORTED_FORMATS = frozenset({"int32", "int64", "decimal"})
SCHEMA_REF_PREFIX = "#/components/schemas/"
_INLINED_COMPONENTS = (
    "responses",
    "requestBodies",
    "parameters",
    "headers",
    "examples",
    "links",
    "callbacks",
)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_ANNOTATIONS = frozenset({"title", "description"})
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})
_SCHEMA_CHILDREN = ("items", "not", "additionalProperties")


def _target(root: Mapping[str, Any], ref: str) -> Any:
    """The object a local JSON pointer (`#/a/b`) points at."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(node: Any, root: Mapping[str, Any], *, keep_schema_refs: bool) -> Any:
    """Replace `$ref`s by copies of their targets, except references to schemas when `keep_schema_refs`."""
    if isinstance(node, list):
        return [_inline(item, root, keep_schema_refs=keep_schema_refs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not (keep_schema_refs and ref.startswith(SCHEMA_REF_PREFIX)):
        return _inline(copy.deepcopy(_target(root, ref)), root, keep_schema_refs=keep_schema_refs)
    return {key: _inline(value, root, keep_schema_refs=keep_schema_refs) for key, value in node.items()}


def _plain_schema(schema: Any) -> Any:
    """A schema without OpenAPI-only keywords, at every depth (property names are left alone)."""
    if not isinstance(schema, dict):
        return schema
    plain = {k: v for k, v in schema.items() if k not in OPENAPI_ONLY_SCHEMA_KEYWORDS}
    if plain.get("format") in UNSUPPORTED_FORMATS:
        del plain["format"]
    if isinstance(plain.get("properties"), dict):
        plain["properties"] = {name: _plain_schema(s) for name, s in plain["properties"].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(plain.get(key), list):
            plain[key] = [_plain_schema(s) for s in plain[key]]
    for key in _SCHEMA_CHILDREN:
        if isinstance(plain.get(key), dict):
            plain[key] = _plain_schema(plain[key])
    return plain


def _plain_schemas_in(node: Any) -> Any:
    """Apply `_plain_schema` to every `schema` field of parameters, headers and media types below `node`."""
    if isinstance(node, list):
        return [_plain_schemas_in(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _plain_schema(v) if k == "schema" else _plain_schemas_in(v) for k, v in node.items()}


def _flat_all_of(schema: Any, schemas: Mapping[str, Any]) -> Any:
    """An `allOf` of plain object schemas as the one object schema it means, so the model is an object.

    API Gateway's importer has refused `allOf` in models and requires object response models; merging is
    exact only when no part closes itself with `additionalProperties: false` and no property is defined twice,
    so anything else is returned unchanged.
    """
    if not isinstance(schema, dict) or not isinstance(schema.get("allOf"), list):
        return schema
    outer = {k: v for k, v in schema.items() if k != "allOf"}
    parts = [outer]
    for part in schema["allOf"]:
        ref = part.get("$ref") if isinstance(part, dict) else None
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF_PREFIX):
            part = schemas.get(ref[len(SCHEMA_REF_PREFIX) :])
        parts.append(part)
    merged: dict[str, Any] = {k: v for k, v in outer.items() if k in _ANNOTATIONS}
    merged["type"] = "object"
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        if (
            not isinstance(part, dict)
            or set(part) - _ANNOTATIONS - _OBJECT_KEYWORDS
            or part.get("type", "object") != "object"
            or part.get("additionalProperties", True) is not True
            or set(properties) & set(part.get("properties", {}))
        ):
            return schema
        properties.update(part.get("properties", {}))
        required += [name for name in part.get("required", []) if name not in required]
        if "additionalProperties" in part:
            merged["additionalProperties"] = True
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _is_object_model(schema: Any, schemas: Mapping[str, Any]) -> bool:
    """Whether a response schema is (a reference to) an object schema, the only kind of method response
    model API Gateway accepts."""
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF_PREFIX):
        return _is_object_model(schemas.get(ref[len(SCHEMA_REF_PREFIX) :]), schemas)
    return schema.get("type") == "object"


def _object_response_models_only(operation: dict[str, Any], schemas: Mapping[str, Any]) -> None:
    """Drop the schema of every response media type whose schema is not an object (e.g. `{}`, a string)."""
    for response in operation.get("responses", {}).values():
        for media in (response.get("content") or {}).values():
            if "schema" in media and not _is_object_model(media["schema"], schemas):
                del media["schema"]


def api_gateway_subset(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The document API Gateway imports: refs inlined except schemas, no OpenAPI-only schema keywords,
    response models only where they are objects."""
    root = spec  # only read: every target inlined from it is copied first
    body = copy.deepcopy(dict(spec))
    for item in body.get("paths", {}).values():
        for key, value in list(item.items()):
            if key == "parameters":  # parameters take no model, so even their schema references are inlined
                item[key] = _plain_schemas_in(_inline(value, root, keep_schema_refs=False))
            elif isinstance(value, dict):  # an operation
                operation = dict(value)
                if "parameters" in operation:
                    operation["parameters"] = _inline(operation["parameters"], root, keep_schema_refs=False)
                item[key] = _plain_schemas_in(_inline(operation, root, keep_schema_refs=True))
    components = body.get("components", {})
    for section in _INLINED_COMPONENTS:
        components.pop(section, None)
    if "schemas" in components:
        plain = {name: _plain_schema(s) for name, s in components["schemas"].items()}
        components["schemas"] = {name: _flat_all_of(s, plain) for name, s in plain.items()}
    schemas = components.get("schemas", {})
    for item in body.get("paths", {}).values():
        for key, value in item.items():
            if key != "parameters" and isinstance(value, dict):
                _object_response_models_only(value, schemas)
    return body
