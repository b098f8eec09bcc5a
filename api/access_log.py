"""The stage's JSON access-log line: the formats the front doors are deployed with (``components``), and the
line API Gateway writes with them for one request, so its size is measured rather than guessed (``tuning``).

Rendering replaces each ``$context`` variable by the value it has for the request, ``-`` where API Gateway
writes ``-`` for an absent one (no error, no API key, no trace). Approximations: both request ids are the
event's ``requestId``, and both latencies the invocation's duration (API Gateway's own milliseconds are not
emulated).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from api.events import HTTP_PAYLOAD, REST_PAYLOAD, PayloadFormat
from api.wire_sizes import WireRequest

# One JSON object per request, with what ties a request to its Lambda invocation (and, on REST, its trace).
REST_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integration.latency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "errorMessage": "$context.error.message",
    "apiKeyId": "$context.identity.apiKeyId",
    "xrayTraceId": "$context.xrayTraceId",
}
# HTTP APIs have no resource paths, API keys or X-Ray; they name the matched route and the authorizer's error.
_REST_ONLY = ("resourcePath", "apiKeyId", "xrayTraceId")
HTTP_FIELDS: dict[str, str] = {k: v for k, v in REST_FIELDS.items() if k not in _REST_ONLY} | {
    "routeKey": "$context.routeKey",
    "authorizerError": "$context.authorizer.error",
}
FIELDS_BY_PAYLOAD: dict[PayloadFormat, dict[str, str]] = {
    REST_PAYLOAD: REST_FIELDS,
    HTTP_PAYLOAD: HTTP_FIELDS,
}

ABSENT = "-"  # what API Gateway writes for a variable without a value
INTEGRATION_STATUS = "200"  # a Lambda proxy integration logs Lambda's Invoke status, also for function errors
# X-Ray trace ids have one width (1-<8 hex>-<24 hex>): this one stands in for the id a traced stage writes.
SAMPLE_TRACE_ID = "1-00000000-000000000000000000000000"


def _compact(fields: Mapping[str, str]) -> str:
    return json.dumps(fields, separators=(",", ":"))


REST_FORMAT = _compact(REST_FIELDS)
HTTP_FORMAT = _compact(HTTP_FIELDS)


@dataclass(frozen=True)
class Answer:
    """How the front door answered a request: what the access log says of it."""

    status: int
    body_bytes: int  # $context.responseLength
    latency_ms: int
    error_message: str | None = None  # the front door's own message when it answered with an error
    traced: bool = False  # the stage traces with X-Ray (REST)


def context_values(request: WireRequest, answer: Answer) -> dict[str, str | None]:
    """The value of each ``$context`` variable the formats use, None where there is none."""
    return {
        "$context.requestId": request.request_id,
        "$context.extendedRequestId": request.request_id,
        "$context.identity.sourceIp": request.source_ip,
        "$context.requestTime": request.request_time,
        "$context.httpMethod": request.method,
        "$context.resourcePath": request.route,
        "$context.routeKey": request.route,
        "$context.path": request.path,
        "$context.status": str(answer.status),
        "$context.protocol": request.protocol,
        "$context.responseLength": str(answer.body_bytes),
        "$context.responseLatency": str(answer.latency_ms),
        "$context.integration.latency": str(answer.latency_ms),
        "$context.integration.status": INTEGRATION_STATUS,
        "$context.integration.error": None,
        "$context.error.message": answer.error_message,
        "$context.identity.apiKeyId": request.api_key_id,
        "$context.xrayTraceId": SAMPLE_TRACE_ID if answer.traced else None,
        "$context.authorizer.error": None,
    }


def access_log_line(request: WireRequest, answer: Answer) -> str:
    """The line API Gateway writes for ``request`` with the format of its front door."""
    values = context_values(request, answer)
    fields = FIELDS_BY_PAYLOAD[request.payload_format]
    return _compact({name: values[variable] or ABSENT for name, variable in fields.items()})
