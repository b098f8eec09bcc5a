"""What the two front doors (REST API, HTTP API) have in common: the invoke permission on alias `live`, the
access-log group (its JSON line is ``api.access_log``'s), and the record the alarms and the outputs read, so
neither cares which door it is."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from api.names import STAGE


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
