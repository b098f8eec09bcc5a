"""The HTTP API front door (apiType http): an API Gateway HTTP API with one Lambda proxy integration.

A route per operation of api/openapi.yaml (the contract the REST API is built from), payload format 2.0 to
alias `live`, stage `prod` so URLs keep their shape. Every resource is a child of the Microservice component,
like the REST API's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from api.access_log import HTTP_FORMAT
from api.names import STAGE
from api.spec import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_S, load_spec, operations
from components.front_door import access_log_group
from settings.stack_settings import Settings

PAYLOAD_FORMAT = "2.0"
JWT_IDENTITY_SOURCE = "$request.header.Authorization"
# authMode -> the routes' authorization_type (settings already refused api_key for this front door)
ROUTE_AUTHORIZATION = {"iam": "AWS_IAM", "jwt": "JWT", "none": "NONE"}
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")  # a route key's characters a resource name should not carry


def route_keys() -> list[str]:
    """'METHOD /path' of every operation of the contract, in document order (same {param} syntax)."""
    return [f"{method.upper()} {path}" for path, method, _ in operations(load_spec())]


def _cors(settings: Settings) -> dict[str, object] | None:
    """The API's own CORS answer: HTTP APIs answer preflights and override the function's CORS headers."""
    if settings.cors_allow_origin is None:
        return None
    methods = sorted({key.split(" ", 1)[0] for key in route_keys()} | {"OPTIONS"})
    return {
        "allow_origins": [settings.cors_allow_origin],
        "allow_methods": methods,
        "allow_headers": CORS_ALLOW_HEADERS.split(","),
        "expose_headers": [h.strip() for h in CORS_EXPOSE_HEADERS.split(",")],
        "max_age": int(CORS_MAX_AGE_S),
    }


def _authorizer(
    name: str, api: aws.apigatewayv2.Api, settings: Settings, child: pulumi.ResourceOptions
) -> aws.apigatewayv2.Authorizer:
    return aws.apigatewayv2.Authorizer(
        f"{name}-jwt-authorizer",
        api_id=api.id,
        name=f"{name}-jwt",
        authorizer_type="JWT",
        identity_sources=[JWT_IDENTITY_SOURCE],
        jwt_configuration={"issuer": settings.jwt_issuer, "audiences": list(settings.jwt_audience)},
        opts=child,
    )


def http_api(
    name: str,
    *,
    settings: Settings,
    function_name: str,
    alias: aws.lambda_.Alias,
    permission: Callable[[pulumi.Output[str]], aws.lambda_.Permission],
    child: pulumi.ResourceOptions,
) -> tuple[aws.apigatewayv2.Api, aws.apigatewayv2.Stage]:
    """The API, its integration, routes, authorizer (jwt) and stage; `permission(execution ARN)` lets API
    Gateway invoke the alias, and the stage goes live only after it (no 500s right after a first up)."""
    api = aws.apigatewayv2.Api(
        f"{name}-http-api",
        name=f"{function_name}-api",
        protocol_type="HTTP",
        cors_configuration=_cors(settings),
        opts=child,
    )
    integration = aws.apigatewayv2.Integration(
        f"{name}-integration",
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_method="POST",  # how API Gateway calls Lambda's Invoke API, whatever the route's method
        integration_uri=alias.invoke_arn,
        payload_format_version=PAYLOAD_FORMAT,
        opts=child,
    )
    authorizer = _authorizer(name, api, settings, child) if settings.auth_mode == "jwt" else None
    routes = [
        aws.apigatewayv2.Route(
            f"{name}-route-{_NOT_NAME.sub('-', key).strip('-')}",
            api_id=api.id,
            route_key=key,
            target=pulumi.Output.concat("integrations/", integration.id),
            authorization_type=ROUTE_AUTHORIZATION[settings.auth_mode],
            authorizer_id=authorizer.id if authorizer else None,
            opts=child,
        )
        for key in route_keys()
    ]
    allowed = permission(api.execution_arn)
    access_logs = access_log_group(
        name, function_name=function_name, retention_days=settings.log_retention_days, child=child
    )
    # auto_deploy: API Gateway deploys each change of a route or the integration itself, so the stage can
    # never serve a stale snapshot; an explicit Deployment would need a trigger over every route's inputs.
    stage = aws.apigatewayv2.Stage(
        f"{name}-stage",
        api_id=api.id,
        name=STAGE,
        auto_deploy=True,
        default_route_settings={
            "throttling_rate_limit": settings.throttle_rate_limit,
            "throttling_burst_limit": settings.throttle_burst_limit,
        },
        access_log_settings={"destination_arn": access_logs.arn, "format": HTTP_FORMAT},
        opts=pulumi.ResourceOptions(parent=child.parent, depends_on=[*routes, allowed]),
    )
    return api, stage
