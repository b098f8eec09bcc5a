"""apiType http (issue 18 §1): the real __main__.py under strict mocks puts an HTTP API before alias live.

Expected values come from api/openapi.yaml read afresh, the config the fixtures pass (conftest.HTTP_IAM /
HTTP_JWT), pulumi-aws v7's property names and AWS's documented HTTP API names; ids and ARNs from the mocked
state of the resource they belong to.
"""

from __future__ import annotations

import json
import re

import pytest

from api.spec import CORS_EXPOSE_HEADERS
from settings.paths import FUNCTION_DIR
from tests.components.conftest import HTTP_JWT
from tests.components.harness import ProgramRun, contract_operations, engine_config, run_program

API = "aws:apigatewayv2/api:Api"
STAGE = "aws:apigatewayv2/stage:Stage"
ROUTE = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
FUNCTION_NAME = "serverless-crud-prod"
ENGINE = engine_config("prod")
# Documented in "Customize HTTP API access logs" (http-api-logging-variables.html).
HTTP_ACCESS_LOG_VARIABLES = {
    "$context.requestId", "$context.extendedRequestId", "$context.identity.sourceIp", "$context.requestTime",
    "$context.httpMethod", "$context.routeKey", "$context.path", "$context.status", "$context.protocol",
    "$context.responseLength", "$context.responseLatency", "$context.integration.latency",
    "$context.integration.status", "$context.integration.error", "$context.error.message",
    "$context.authorizer.error", "$context.integrationErrorMessage", "$context.dataProcessed",
}  # fmt: skip


def _contract_route_keys() -> set[str]:
    return {f"{method.upper()} {path}" for path, method, _ in contract_operations()}


@pytest.fixture(params=["http_iam", "http_jwt"])
def http(request: pytest.FixtureRequest) -> ProgramRun:
    return request.getfixturevalue(request.param)


def test_no_rest_api_is_deployed_and_no_input_is_unknown(http: ProgramRun) -> None:
    for rest in (
        "aws:apigateway/restApi:RestApi",
        "aws:apigateway/stage:Stage",
        "aws:apigateway/apiKey:ApiKey",
        "aws:apigateway/usagePlan:UsagePlan",
        "aws:apigateway/account:Account",  # HTTP APIs log through their service-linked role
    ):
        http.none_of(rest)
    assert {r.name: r.unknown_inputs for r in http.registrations if r.unknown_inputs} == {}
    api = http.one(API)
    assert api.inputs["protocolType"] == "HTTP"
    assert api.inputs["name"] == f"{FUNCTION_NAME}-api"
    assert api.parent == http.one("serverless-crud:index:Microservice").urn


def test_one_aws_proxy_integration_with_payload_2_to_alias_live(http: ProgramRun) -> None:
    integration = http.one(INTEGRATION)
    alias = http.one("aws:lambda/alias:Alias")
    assert integration.inputs["apiId"] == http.monitor.resources[http.one(API).urn].id
    assert integration.inputs["integrationType"] == "AWS_PROXY"
    assert integration.inputs["integrationMethod"] == "POST"
    assert integration.inputs["payloadFormatVersion"] == "2.0"
    assert integration.inputs["integrationUri"] == alias.state["invokeArn"]
    assert alias.state["invokeArn"].endswith(f"function:{FUNCTION_NAME}:live/invocations")


def test_a_route_per_contract_operation_to_the_integration(http: ProgramRun) -> None:
    routes = http.all_of(ROUTE)
    keys = [r.inputs["routeKey"] for r in routes]
    assert sorted(keys) == sorted(_contract_route_keys())
    assert "POST /DynamoDBManager" in keys  # the tutorial endpoint is part of the contract
    integration_id = http.monitor.resources[http.one(INTEGRATION).urn].id
    assert {r.inputs["target"] for r in routes} == {f"integrations/{integration_id}"}


def test_iam_signs_every_route(http_iam: ProgramRun) -> None:
    routes = http_iam.all_of(ROUTE)
    assert {r.inputs["authorizationType"] for r in routes} == {"AWS_IAM"}
    assert all("authorizerId" not in r.inputs for r in routes)
    http_iam.none_of(AUTHORIZER)


def test_jwt_routes_use_one_authorizer_from_the_settings(http_jwt: ProgramRun) -> None:
    authorizer = http_jwt.one(AUTHORIZER)
    assert authorizer.inputs["authorizerType"] == "JWT"
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"]
    assert authorizer.inputs["jwtConfiguration"] == {
        "issuer": HTTP_JWT["jwtIssuer"],
        "audiences": HTTP_JWT["jwtAudience"],
    }
    authorizer_id = http_jwt.monitor.resources[authorizer.urn].id
    routes = http_jwt.all_of(ROUTE)
    assert {(r.inputs["authorizationType"], r.inputs["authorizerId"]) for r in routes} == {
        ("JWT", authorizer_id)
    }


def test_stage_prod_throttles_and_writes_json_access_logs(http: ProgramRun) -> None:
    stage = http.one(STAGE)
    assert stage.inputs["name"] == "prod"
    assert stage.inputs["autoDeploy"] is True
    assert stage.inputs["defaultRouteSettings"] == {
        "throttlingRateLimit": int(ENGINE["serverless-crud:throttleRateLimit"]),
        "throttlingBurstLimit": int(ENGINE["serverless-crud:throttleBurstLimit"]),
    }
    access_logs = http.one("aws:cloudwatch/logGroup:LogGroup", "access-logs")
    assert access_logs.inputs["retentionInDays"] == int(ENGINE["serverless-crud:logRetentionDays"])
    assert access_logs.inputs["name"] == f"/aws/apigateway/{FUNCTION_NAME}-api/prod/access"
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == access_logs.state["arn"]
    log_format = json.loads(settings["format"])
    assert "\n" not in settings["format"]
    assert set(log_format.values()) <= HTTP_ACCESS_LOG_VARIABLES, (
        set(log_format.values()) - HTTP_ACCESS_LOG_VARIABLES
    )
    assert log_format["routeKey"] == "$context.routeKey"
    # every route exists, and API Gateway may invoke the alias, before the stage goes live
    deps = set(stage.dependencies)
    assert {r.urn for r in http.all_of(ROUTE)} <= deps
    assert http.one("aws:lambda/permission:Permission").urn in deps


def test_permission_is_for_the_alias_and_this_api_stage_only(http: ProgramRun) -> None:
    permission = http.one("aws:lambda/permission:Permission")
    api = http.one(API)
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["qualifier"] == "live"
    assert permission.inputs["sourceArn"] == f"{api.state['executionArn']}/prod/*/*"
    assert re.fullmatch(r"arn:aws:execute-api:us-east-1:\d{12}:\w+", api.state["executionArn"])


def test_cors_comes_from_cors_allow_origin(http_iam: ProgramRun, http_jwt: ProgramRun) -> None:
    methods = {method.upper() for _, method, _ in contract_operations()} | {"OPTIONS"}
    for run, origin in (
        (http_iam, ENGINE["serverless-crud:corsAllowOrigin"]),
        (http_jwt, HTTP_JWT["corsAllowOrigin"]),
    ):
        cors = run.one(API).inputs["corsConfiguration"]
        assert cors["allowOrigins"] == [origin]
        assert set(cors["allowMethods"]) == methods
        # what the contract's clients send and read (api/openapi.yaml parameters and response headers)
        assert {"content-type", "authorization", "if-match", "if-none-match", "idempotency-key"} <= {
            h.lower() for h in cors["allowHeaders"]
        }
        assert {"etag", "location"} <= {h.lower() for h in cors["exposeHeaders"]}
        assert cors["maxAge"] > 0


def test_no_cors_configuration_when_cors_is_off() -> None:
    run = run_program("prod", {"apiType": "http", "authMode": "none", "corsAllowOrigin": ""})
    try:
        assert "corsConfiguration" not in run.one(API).inputs
        assert {r.inputs["authorizationType"] for r in run.all_of(ROUTE)} == {"NONE"}
    finally:
        run.close()


def test_the_function_exposes_the_headers_the_http_api_lets_browsers_read() -> None:
    assert f'"{CORS_EXPOSE_HEADERS}"' in (FUNCTION_DIR / "proxy.py").read_text(encoding="utf-8")


def test_alarms_use_the_http_api_metric_names_and_dimensions(http: ProgramRun) -> None:
    api_id = http.monitor.resources[http.one(API).urn].id
    alarms = {
        (a.inputs["namespace"], a.inputs["metricName"]): a.inputs
        for a in http.all_of("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert set(alarms) == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ApiGateway", "Latency"),
    }
    for metric in ("5xx", "Latency"):
        assert alarms["AWS/ApiGateway", metric]["dimensions"] == {"ApiId": api_id, "Stage": "prod"}


def test_outputs_keep_their_shape_plus_api_type(http: ProgramRun) -> None:
    api_id = http.monitor.resources[http.one(API).urn].id
    assert http.export("api_url") == f"https://{api_id}.execute-api.us-east-1.amazonaws.com/prod"
    assert http.export("api_type") == "http"
    assert "api_key" not in http.exports
    assert http.export("function_name") == FUNCTION_NAME
