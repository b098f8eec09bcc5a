"""The CrossGuard rules, called directly (never import the pack's __main__.py: it blocks on a gRPC server)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResourceOptions

from policies.rules import (
    DYNAMODB_PITR,
    LAMBDA_ARCHITECTURE,
    LEAST_PRIVILEGE_IAM,
    LOG_RETENTION,
    NO_UNAUTHENTICATED_METHODS,
    POLICIES,
    STAGE_ACCESS_LOGS,
    STAGE_THROTTLING,
)
from tests.components.harness import ProgramRun, contract_operations, run_program

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REST_API = "aws:apigateway/restApi:RestApi"


def violations(
    policy: ResourceValidationPolicy,
    resource_type: str,
    props: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """Run one rule on one resource the way the engine would; return the reported messages."""
    found: list[str] = []
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(
        resource_type,
        props,
        f"urn:pulumi:prod::serverless-crud::{resource_type}::res",
        "res",
        options,
        None,
        config,
    )
    policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_violations(run: ProgramRun, config: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for reg in run.registrations:
        for policy in POLICIES:
            if found := violations(policy, reg.type, reg.inputs, config):
                out[f"{policy.name} on {reg.name}"] = found
    return out


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/items"


def test_the_prod_stack_passes_every_rule(prod: ProgramRun) -> None:
    for type_ in (ROLE_POLICY, REST_API, "aws:cloudwatch/logGroup:LogGroup", "aws:dynamodb/table:Table"):
        prod.all_of(type_)  # the rules had something to look at
    assert stack_violations(prod) == {}


def test_both_http_api_stacks_pass_every_rule(http_iam: ProgramRun, http_jwt: ProgramRun) -> None:
    for run in (http_iam, http_jwt):
        for type_ in ("aws:apigatewayv2/route:Route", "aws:apigatewayv2/stage:Stage"):
            run.all_of(type_)
        assert stack_violations(run) == {}


def test_open_http_api_routes_are_reported_unless_auth_mode_is_none() -> None:
    run = run_program("prod", {"apiType": "http", "authMode": "none"})
    try:
        found = stack_violations(run)
        assert set(found) == {
            f"no-unauthenticated-methods on {r.name}" for r in run.all_of("aws:apigatewayv2/route:Route")
        }
        assert stack_violations(run, {"authMode": "none"}) == {}
    finally:
        run.close()


@pytest.mark.parametrize(
    ("props", "count"),
    [
        ({"routeKey": "GET /items"}, 1),  # AWS's default is NONE
        ({"routeKey": "GET /items", "authorizationType": "NONE"}, 1),
        ({"routeKey": "GET /items", "authorizationType": "AWS_IAM"}, 0),
        ({"routeKey": "GET /items", "authorizationType": "JWT", "authorizerId": "abc"}, 0),
    ],
)
def test_http_api_routes_need_authorization(props: dict[str, Any], count: int) -> None:
    assert len(violations(NO_UNAUTHENTICATED_METHODS, "aws:apigatewayv2/route:Route", props)) == count


def test_the_variant_stack_needs_x86_allowed_explicitly(variant: ProgramRun) -> None:
    assert set(stack_violations(variant)) == {"lambda-arm64 on crud-function"}
    assert stack_violations(variant, {"allowedArchitectures": ["arm64", "x86_64"]}) == {}


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (allow("*", TABLE), "wildcard actions"),
        (allow("dynamodb:*", TABLE), "wildcard actions"),
        (allow(["dynamodb:GetItem"], "*"), "Resource '*'"),
        (allow(["xray:PutTraceSegments", "dynamodb:GetItem"], ["*"]), "Resource '*'"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": TABLE}, "NotAction"),
    ],
)
def test_broad_statements_are_violations(statement: dict[str, Any], problem: str) -> None:
    (message,) = violations(LEAST_PRIVILEGE_IAM, ROLE_POLICY, {"policy": document(statement)})
    assert problem in message


def test_narrow_statements_and_deny_wildcards_pass() -> None:
    policy = document(
        allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE),
        allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
    )
    assert violations(LEAST_PRIVILEGE_IAM, ROLE_POLICY, {"policy": policy}) == []


def test_managed_policies_other_than_api_gateway_logging_are_violations() -> None:
    basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    push = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    assert violations(LEAST_PRIVILEGE_IAM, attachment, {"policyArn": push}) == []
    assert len(violations(LEAST_PRIVILEGE_IAM, attachment, {"policyArn": basic})) == 1
    role = {
        "managedPolicyArns": [basic],
        "inlinePolicies": [{"name": "x", "policy": document(allow("s3:*", "*"))}],
    }
    assert len(violations(LEAST_PRIVILEGE_IAM, "aws:iam/role:Role", role)) == 3


def test_every_open_method_is_reported_unless_auth_mode_is_none(open_api: ProgramRun) -> None:
    body = open_api.one(REST_API).inputs["body"]
    found = violations(NO_UNAUTHENTICATED_METHODS, REST_API, {"body": body})
    expected = {f"{method.upper()} {path}" for path, method, _ in contract_operations()}
    assert {m.split(": ", 1)[1].split(" can be")[0] for m in found} == expected  # preflights are not reported
    assert violations(NO_UNAUTHENTICATED_METHODS, REST_API, {"body": body}, {"authMode": "none"}) == []


def test_root_level_security_does_not_count_and_proxied_options_must_be_secured() -> None:
    body = {
        "openapi": "3.0.1",
        "security": [{"api_key": []}],
        "components": {
            "securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
        },
        "paths": {
            "/a": {
                "get": {"responses": {}},
                "options": {"responses": {}, "x-amazon-apigateway-integration": {"type": "aws_proxy"}},
            },
            "/b": {"get": {"security": [{"unknown_scheme": []}], "responses": {}}},
            "/c": {"get": {"security": [{"api_key": []}], "responses": {}}},
        },
    }
    found = violations(NO_UNAUTHENTICATED_METHODS, REST_API, {"body": json.dumps(body)})
    assert [m.split(": ", 1)[1].split(" can be")[0] for m in found] == ["GET /a", "OPTIONS /a", "GET /b"]


def test_explicit_methods_without_authorization_are_reported() -> None:
    method = "aws:apigateway/method:Method"
    assert (
        len(violations(NO_UNAUTHENTICATED_METHODS, method, {"httpMethod": "GET", "authorization": "NONE"}))
        == 1
    )
    secured = {"httpMethod": "GET", "authorization": "NONE", "apiKeyRequired": True}
    assert violations(NO_UNAUTHENTICATED_METHODS, method, secured) == []
    assert (
        violations(NO_UNAUTHENTICATED_METHODS, method, {"httpMethod": "OPTIONS", "authorization": "NONE"})
        == []
    )


@pytest.mark.parametrize(
    ("props", "count"), [({}, 1), ({"retentionInDays": 0}, 1), ({"retentionInDays": 30}, 0)]
)
def test_log_groups_need_a_retention(props: dict[str, Any], count: int) -> None:
    assert len(violations(LOG_RETENTION, "aws:cloudwatch/logGroup:LogGroup", props)) == count


@pytest.mark.parametrize(
    ("props", "count"),
    [
        ({}, 1),
        ({"pointInTimeRecovery": {"enabled": False}}, 1),
        ({"pointInTimeRecovery": {"enabled": True}}, 0),
    ],
)
def test_tables_need_point_in_time_recovery(props: dict[str, Any], count: int) -> None:
    assert len(violations(DYNAMODB_PITR, "aws:dynamodb/table:Table", props)) == count


@pytest.mark.parametrize(
    ("props", "config", "count"),
    [
        ({}, None, 1),  # Lambda's default architecture is x86_64
        ({"architectures": ["x86_64"]}, None, 1),
        ({"architectures": ["arm64"]}, None, 0),
        ({"architectures": ["x86_64"]}, {"allowedArchitectures": ["x86_64"]}, 0),
    ],
)
def test_functions_run_on_arm64_unless_allowed(props: dict[str, Any], config: Any, count: int) -> None:
    assert len(violations(LAMBDA_ARCHITECTURE, "aws:lambda/function:Function", props, config)) == count


@pytest.mark.parametrize("stage", ["aws:apigateway/stage:Stage", "aws:apigatewayv2/stage:Stage"])
def test_stages_need_access_logs(stage: str) -> None:
    assert len(violations(STAGE_ACCESS_LOGS, stage, {"stageName": "prod"})) == 1
    logged = {"accessLogSettings": {"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:x"}}
    assert violations(STAGE_ACCESS_LOGS, stage, logged) == []


@pytest.mark.parametrize(
    ("resource_type", "key", "limits", "count"),
    [
        ("aws:apigatewayv2/stage:Stage", "defaultRouteSettings", None, 1),
        ("aws:apigatewayv2/stage:Stage", "defaultRouteSettings", {"throttlingRateLimit": 50}, 1),
        ("aws:apigatewayv2/stage:Stage", "defaultRouteSettings", {"throttlingBurstLimit": 0}, 1),
        (
            "aws:apigatewayv2/stage:Stage",
            "defaultRouteSettings",
            {"throttlingRateLimit": 50, "throttlingBurstLimit": 100},
            0,
        ),
        (  # -1 = unthrottled on REST
            "aws:apigateway/methodSettings:MethodSettings",
            "settings",
            {"throttlingRateLimit": -1, "throttlingBurstLimit": 100},
            1,
        ),
        (
            "aws:apigateway/methodSettings:MethodSettings",
            "settings",
            {"throttlingRateLimit": 50, "throttlingBurstLimit": 100},
            0,
        ),
        ("aws:apigateway/stage:Stage", "stageName", "prod", 0),  # REST throttles in its method settings
    ],
)
def test_stages_need_a_rate_and_a_burst_limit(resource_type: str, key: str, limits: Any, count: int) -> None:
    props = {} if limits is None else {key: limits}
    assert len(violations(STAGE_THROTTLING, resource_type, props)) == count
