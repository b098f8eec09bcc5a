"""API Gateway's REST API body: api/openapi.yaml plus the `x-amazon-apigateway-*` extensions that wire it to
AWS.

The contract stays free of AWS details (the local gateway, fuzz tests and Postman read the same file);
everything API Gateway needs is injected here, per operation, because API Gateway ignores a root-level
`security` requirement on import (each method would silently be open). The function is a pure dict
transformation so the exact body the stack deploys can be validated with openapi-spec-validator offline;
`invoke_uri` may be a Pulumi Output (the body is then serialised with `pulumi.Output.json_dumps`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from api.spec import CORS_ALLOW_HEADERS, CORS_MAX_AGE_S, HTTP_METHODS, operations
from components.openapi_subset import api_gateway_subset

API_KEY_SCHEME = "api_key"
SIGV4_SCHEME = "sigv4"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "api_key": {API_KEY_SCHEME: {"type": "apiKey", "name": "x-api-key", "in": "header"}},
    "iam": {
        SIGV4_SCHEME: {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    },
    "none": {},
}
# Request validators: operations with a body get both checks, the others only their parameters.
VALIDATORS = {
    "body-and-params": {"validateRequestBody": True, "validateRequestParameters": True},
    "params-only": {"validateRequestBody": False, "validateRequestParameters": True},
}
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")


def build_body(
    spec: Mapping[str, Any], *, invoke_uri: Any, auth_mode: str, cors_origin: str | None
) -> dict[str, Any]:
    """The REST API body: each operation proxied to `invoke_uri`, secured per `auth_mode`, validated."""
    if auth_mode not in SECURITY_SCHEMES:
        raise ValueError(f"auth_mode must be one of {', '.join(SECURITY_SCHEMES)}, not {auth_mode!r}")
    body = api_gateway_subset(spec)
    body.pop("servers", None)  # local URLs; API Gateway serves the stage at its own base URL
    body.pop("security", None)  # ignored by API Gateway on import; every operation carries its own below
    components = body.setdefault("components", {})
    components.pop("securitySchemes", None)
    if SECURITY_SCHEMES[auth_mode]:
        components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES[auth_mode])
    body["x-amazon-apigateway-api-key-source"] = "HEADER"
    body["x-amazon-apigateway-request-validators"] = copy.deepcopy(VALIDATORS)
    body["x-amazon-apigateway-gateway-responses"] = gateway_responses(cors_origin)
    security = [{name: []} for name in SECURITY_SCHEMES[auth_mode]]
    for _path, _method, operation in operations(body):
        operation["security"] = copy.deepcopy(security)
        operation["x-amazon-apigateway-request-validator"] = (
            "body-and-params" if "requestBody" in operation else "params-only"
        )
        operation["x-amazon-apigateway-integration"] = {
            "type": "aws_proxy",
            "httpMethod": "POST",  # Lambda's Invoke API is always POST, whatever the client's method
            "uri": invoke_uri,
            "passthroughBehavior": "when_no_match",
        }
    if cors_origin is not None:
        for path, item in body["paths"].items():
            methods = [m.upper() for m in HTTP_METHODS if m in item and m != "options"]
            item["options"] = preflight_operation(path, item, methods, cors_origin)
    return body


def preflight_operation(
    path: str, item: Mapping[str, Any], methods: list[str], cors_origin: str
) -> dict[str, Any]:
    """OPTIONS answered by API Gateway itself (mock integration): no key, no Lambda invocation, no cost."""
    headers = {
        "Access-Control-Allow-Origin": f"'{cors_origin}'",
        "Access-Control-Allow-Methods": "'" + ",".join([*methods, "OPTIONS"]) + "'",
        "Access-Control-Allow-Headers": f"'{CORS_ALLOW_HEADERS}'",
        "Access-Control-Max-Age": f"'{CORS_MAX_AGE_S}'",
    }
    declared = {p.get("name") for p in item.get("parameters", []) if p.get("in") == "path"}
    operation: dict[str, Any] = {
        "summary": "CORS preflight, answered by API Gateway",
        "security": [],
        "responses": {
            "200": {
                "description": "CORS preflight response",
                "headers": {name: {"schema": {"type": "string"}} for name in headers},
            }
        },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "passthroughBehavior": "when_no_match",
            "responses": {
                "default": {
                    "statusCode": "200",
                    "responseParameters": {
                        f"method.response.header.{name}": value for name, value in headers.items()
                    },
                }
            },
        },
    }
    missing = [name for name in _PATH_PARAM.findall(path) if name not in declared]
    if missing:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in missing
        ]
    return operation


def gateway_responses(cors_origin: str | None) -> dict[str, Any]:
    """Errors API Gateway answers itself (missing key, throttled, invalid request) as the contract's
    GatewayMessage `{"message": ...}`, with CORS headers when CORS is on so browsers can read them."""
    cors = (
        {
            "gatewayresponse.header.Access-Control-Allow-Origin": f"'{cors_origin}'",
            "gatewayresponse.header.Access-Control-Allow-Headers": f"'{CORS_ALLOW_HEADERS}'",
        }
        if cors_origin is not None
        else {}
    )
    responses: dict[str, Any] = {}
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        responses[response_type] = {
            "responseTemplates": {"application/json": '{"message": $context.error.messageString}'}
        }
        if cors:
            responses[response_type]["responseParameters"] = dict(cors)
    return responses
