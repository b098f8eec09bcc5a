"""What the two front doors (REST API, HTTP API) have in common: the invoke permission on alias `live`, the
JSON access-log line, and the record the alarms and the outputs read, so neither cares which door it is."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from api.names import STAGE

# One JSON object per request, with what ties a request to its Lambda invocation (and, on REST, its trace).

_REST = {
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
_HTTP = {k: v for k, v in _REST.items() if k not in _REST_ONLY} | {
    "routeKey": "$context.routeKey",
    "authorizerError": "$context.authorizer.error",
}


def _compact(fields: dict[str, str]) -> str:
    return json.dumps(fields, separators=(",", ":"))


REST_FORMAT = _compact(_REST)
HTTP_FORMAT = _compact(_HTTP)


@dataclass(frozen=True)
class FrontDoor:
    """A deployed front door as the rest of the stack sees it."""

    api_url: pulumi.Output[str]  # ends in /prod
    # AWS/ApiGateway metrics: REST publishes 5XXError by ApiName + Stage, HTTP APIs 5xx by ApiId + Stage.
    metric_dimensions: dict[str, pulumi.Input[str]]
    server_error_metric: str
    api_key: pulumi.Output[str] | None  # only REST with authMode api_key issues one


def invoke_permission(
    name: str,
    *,
    function: aws.lambda_.Function,
    alias: aws.lambda_.Alias,
    execution_arn: pulumi.Input[str],
    child: pulumi.ResourceOptions,
) -> aws.lambda_.Permission:
    """API Gateway may invoke alias `live` from this API's prod stage only, any method and path."""
    return aws.lambda_.Permission(
        f"{name}-invoke-permission",
        action="lambda:InvokeFunction",
        function=function.name,
        qualifier=alias.name,
        principal="apigateway.amazonaws.com",
        # <execution ARN>/<stage>/<METHOD>/<path>, the same shape for REST and HTTP APIs.
        source_arn=pulumi.Output.concat(execution_arn, f"/{STAGE}/*/*"),
        opts=child,
    )


def access_log_group(
    name: str, *, function_name: str, retention_days: int, child: pulumi.ResourceOptions
) -> aws.cloudwatch.LogGroup:
    """The stage's access-log group, with the stack's retention."""
    return aws.cloudwatch.LogGroup(
        f"{name}-access-logs",
        name=f"/aws/apigateway/{function_name}-api/{STAGE}/access",
        retention_in_days=retention_days,
        opts=child,
    )
