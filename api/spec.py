"""The one reader of ``api/openapi.yaml``: the Pulumi program builds API Gateway's body from it, the local
gateway routes by it, the tests and Postman check against it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"
# What the stack's CORS preflights and gateway responses send: the Pulumi program writes them into API
# Gateway's body, the local gateway answers with them.
CORS_ALLOW_HEADERS = (
    "Content-Type,X-Api-Key,Authorization,X-Amz-Date,X-Amz-Security-Token,If-Match,If-None-Match,"
    "Idempotency-Key"
)
CORS_MAX_AGE_S = "600"
# The response headers a browser may read; the function sends the same list (function/proxy.py, which imports
# nothing of the repo: a test ties the two), the HTTP API's own CORS configuration repeats it.
CORS_EXPOSE_HEADERS = "ETag, Location, Retry-After, Idempotent-Replayed"
HTTP_METHODS = (
    "get",
    "put",
    "post",
    "delete",
    "patch",
    "head",
    "options",
    "trace",
)  # OpenAPI's path-item order


def load_spec(path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """The API contract as a dict."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def operations(body: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of an OpenAPI document, in document order."""
    return [
        (path, method, item[method])
        for path, item in body.get("paths", {}).items()
        for method in HTTP_METHODS
        if method in item
    ]
