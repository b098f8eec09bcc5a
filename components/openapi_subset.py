"""Rewrite an OpenAPI 3 document into the subset API Gateway's REST API import accepts, same meaning.

API Gateway turns `components.schemas` into JSON Schema draft-4 models and documents these limits ("Amazon API
Gateway important notes", REST API import): OpenAPI-only schema keywords such as `readOnly`, `nullable`,
`example` or `discriminator` are refused in models; response objects referenced with `$ref` are not supported;
parameters keep only name, in, required, type and description. So references to responses, request bodies,
parameters and headers are inlined, schema references stay (they become models), and the OpenAPI-only
annotations are dropped from every schema: they document responses and never change what a request may be.
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


def api_gateway_subset(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The document API Gateway imports: refs inlined except schemas, no OpenAPI-only schema keywords."""
    root = copy.deepcopy(dict(spec))
    body = copy.deepcopy(root)
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
        components["schemas"] = {name: _plain_schema(s) for name, s in components["schemas"].items()}
    return body
