"""The prod stack as `pulumi up` would create it (issue 3 §3–§4): the real __main__.py under mocks.

Expected values come from the sources a reviewer would check by hand: Pulumi.prod.yaml / Pulumi.yaml (via
`stack_file_config` / `engine_config`), api/table.json, api/openapi.yaml and AWS's documented names; computed
values (ARNs, ids) are taken from the mocked state of the resource they belong to.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import yaml

from api.names import CURSOR_KEY_VARIABLE
from tests.components.harness import (
    HTTP_METHODS,
    PROJECT_DIR,
    ProgramRun,
    Registration,
    contract_operations,
    contract_spec,
    engine_config,
    stack_file_config,
)

PROD = stack_file_config("prod")
ENGINE = engine_config("prod")  # every value as the engine passes it: Pulumi.yaml defaults + prod
FUNCTION_NAME = "serverless-crud-prod"
MICROSERVICE = "serverless-crud:index:Microservice"
POWER_TUNER = "serverless-crud:index:PowerTuner"
PUSH_TO_CLOUDWATCH = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def statements(policy_json: str) -> list[dict[str, Any]]:
    document = json.loads(policy_json)
    assert document["Version"] == "2012-10-17"
    assert document["Statement"], "policy without statements"
    return document["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# --- structure ------------------------------------------------------------------------------------


def test_every_aws_resource_is_a_child_of_one_of_the_two_components(prod: ProgramRun) -> None:
    components = {r.type: r for r in prod.registrations if not r.custom}
    assert set(components) == {MICROSERVICE, POWER_TUNER}
    custom = [r for r in prod.registrations if r.custom]
    assert len(custom) > 20
    for reg in custom:
        assert reg.parent in (components[MICROSERVICE].urn, components[POWER_TUNER].urn), reg.urn
        assert f"{MICROSERVICE}$" in reg.urn or f"{POWER_TUNER}$" in reg.urn


def test_each_component_registers_its_outputs(prod: ProgramRun) -> None:
    # without register_outputs a component stays "creating" in the engine and its outputs are not saved
    components = {r.type: r.urn for r in prod.registrations if not r.custom}
    outputs = prod.monitor.registered_outputs
    assert outputs[components[POWER_TUNER]] == {"state_machine_arn": prod.export("state_machine_arn")}
    microservice = outputs[components[MICROSERVICE]]
    assert microservice["function_name"] == FUNCTION_NAME
    assert microservice["api_url"] == prod.export("api_url")


def test_no_registered_input_is_unknown(prod: ProgramRun, variant: ProgramRun, open_api: ProgramRun) -> None:
    for run in (prod, variant, open_api):
        unknown = {r.name: r.unknown_inputs for r in run.registrations if r.unknown_inputs}
        assert not unknown, f"inputs that would be unknown at deploy time: {unknown}"


# --- table ----------------------------------------------------------------------------------------


def test_table_is_on_demand_with_pitr_sse_and_protected_from_both_sides(prod: ProgramRun) -> None:
    table = prod.one("aws:dynamodb/table:Table", "table")
    schema = json.loads((PROJECT_DIR / "api" / "table.json").read_text(encoding="utf-8"))
    assert table.inputs["hashKey"] == schema["KeySchema"][0]["AttributeName"] == "id"
    assert table.inputs["attributes"] == [{"name": "id", "type": "S"}]
    assert "rangeKey" not in table.inputs
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert (
        table.inputs["deletionProtectionEnabled"] is PROD["serverless-crud:tableDeletionProtection"] is True
    )
    assert table.protect is PROD["serverless-crud:protectTable"] is True


def test_idempotency_records_have_their_own_table_swept_by_ttl(prod: ProgramRun) -> None:
    records = prod.one("aws:dynamodb/table:Table", "idempotency")
    schema = json.loads((PROJECT_DIR / "api" / "idempotency_table.json").read_text(encoding="utf-8"))
    assert records.inputs["hashKey"] == schema["KeySchema"][0]["AttributeName"] == "key"
    assert records.inputs["attributes"] == [{"name": "key", "type": "S"}]
    assert records.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    assert records.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert records.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert records.inputs["serverSideEncryption"] == {"enabled": True}
    assert records.protect is False  # losing them only forgets keys, never data


def test_table_protection_follows_the_settings(variant: ProgramRun) -> None:
    table = variant.one("aws:dynamodb/table:Table", "table")
    assert table.inputs["deletionProtectionEnabled"] is False
    assert table.protect is False


# --- logs -----------------------------------------------------------------------------------------


def test_log_groups_have_the_configured_retention(prod: ProgramRun) -> None:
    groups = {g.name: g for g in prod.all_of("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == {"crud-function-logs", "crud-access-logs"}
    assert groups["crud-function-logs"].inputs["name"] == f"/aws/lambda/{FUNCTION_NAME}"
    for group in groups.values():
        assert group.inputs["retentionInDays"] == PROD["serverless-crud:logRetentionDays"] == 90


# --- IAM ------------------------------------------------------------------------------------------


def function_role(run: ProgramRun) -> Registration:
    return run.one("aws:iam/role:Role", "function-role")


def test_function_role_is_trusted_by_lambda_only_and_has_no_managed_or_legacy_policies(
    prod: ProgramRun,
) -> None:
    role = function_role(prod)
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    assert "managedPolicyArns" not in role.inputs
    assert "inlinePolicies" not in role.inputs
    attachments = prod.all_of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert [a.inputs["policyArn"] for a in attachments] == [PUSH_TO_CLOUDWATCH]
    assert all(a.inputs["role"] != role.state["name"] for a in attachments)
    policies = prod.all_of("aws:iam/rolePolicy:RolePolicy")
    assert [p.inputs["role"] for p in policies] == [role.state["name"]]  # exactly one inline policy, on it


def test_function_policy_is_least_privilege(prod: ProgramRun) -> None:
    table = prod.one("aws:dynamodb/table:Table", "table")
    logs = prod.one("aws:cloudwatch/logGroup:LogGroup", "function-logs")
    by_sid = {s["Sid"]: s for s in statements(prod.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])}
    assert set(by_sid) == {"CrudOnItsTable", "ItsIdempotencyRecords", "WriteItsLogs", "WriteTraces"}
    assert all(s["Effect"] == "Allow" for s in by_sid.values())
    crud = by_sid["CrudOnItsTable"]
    assert sorted(as_list(crud["Action"])) == sorted(
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Scan",
        ]
    )
    assert as_list(crud["Resource"]) == [table.state["arn"]]
    assert table.state["arn"].endswith(f":table/{table.state['name']}")
    records = by_sid["ItsIdempotencyRecords"]
    assert sorted(as_list(records["Action"])) == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert as_list(records["Resource"]) == [prod.one("aws:dynamodb/table:Table", "idempotency").state["arn"]]
    log_statement = by_sid["WriteItsLogs"]
    assert sorted(as_list(log_statement["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert as_list(log_statement["Resource"]) == [f"{logs.state['arn']}:*"]
    assert logs.state["arn"].endswith(f":log-group:/aws/lambda/{FUNCTION_NAME}")
    traces = by_sid["WriteTraces"]
    assert sorted(as_list(traces["Action"])) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    # "*" appears nowhere else: not as an action, not as a service wildcard, not as another resource.
    for statement in by_sid.values():
        assert all("*" not in action for action in as_list(statement["Action"]))
        if statement is not traces:
            assert all(resource != "*" for resource in as_list(statement["Resource"]))


def test_without_tracing_there_is_no_xray_permission(variant: ProgramRun) -> None:
    sids = {s["Sid"] for s in statements(variant.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])}
    assert sids == {"CrudOnItsTable", "ItsIdempotencyRecords", "WriteItsLogs"}
    assert variant.one("aws:lambda/function:Function").inputs["tracingConfig"] == {"mode": "PassThrough"}
    assert variant.one("aws:apigateway/stage:Stage").inputs["xrayTracingEnabled"] is False


# --- function and alias ---------------------------------------------------------------------------


def test_function_configuration_comes_from_the_stack_config(prod: ProgramRun) -> None:
    fn = prod.one("aws:lambda/function:Function")
    role = function_role(prod)
    table = prod.one("aws:dynamodb/table:Table", "table")
    logs = prod.one("aws:cloudwatch/logGroup:LogGroup", "function-logs")
    assert fn.inputs["name"] == FUNCTION_NAME
    assert fn.inputs["runtime"] == "python3.13"
    assert fn.inputs["handler"] == "app.lambda_handler"
    assert fn.inputs["role"] == role.state["arn"]
    assert fn.inputs["architectures"] == [PROD["serverless-crud:architecture"]] == ["arm64"]
    assert fn.inputs["memorySize"] == PROD["serverless-crud:memorySize"]
    assert fn.inputs["timeout"] == PROD["serverless-crud:timeout"]
    assert fn.inputs["environment"] == {
        "variables": {
            "TABLE_NAME": table.state["name"],
            "IDEMPOTENCY_TABLE_NAME": prod.one("aws:dynamodb/table:Table", "idempotency").state["name"],
            "IDEMPOTENCY_TTL_HOURS": str(ENGINE["serverless-crud:idempotencyTtlHours"]),
            "CORS_ALLOW_ORIGIN": ENGINE["serverless-crud:corsAllowOrigin"],
            CURSOR_KEY_VARIABLE: cursor_key(prod).state["base64"],
        }
    }
    assert fn.inputs["tracingConfig"] == {"mode": "Active"}
    assert fn.inputs["loggingConfig"] == {"logFormat": "Text", "logGroup": logs.state["name"]}
    assert fn.inputs["publish"] is True
    assert "reservedConcurrentExecutions" not in fn.inputs  # -1 in Pulumi.yaml: unreserved
    # created after its log group (so Lambda never auto-creates one without retention) and its permissions
    assert logs.urn in fn.dependencies
    assert prod.one("aws:iam/rolePolicy:RolePolicy").urn in fn.dependencies


def test_variant_function_settings(variant: ProgramRun) -> None:
    fn = variant.one("aws:lambda/function:Function")
    assert fn.inputs["architectures"] == ["x86_64"]
    assert fn.inputs["reservedConcurrentExecutions"] == 5
    assert set(fn.inputs["environment"]["variables"]) == {
        "TABLE_NAME",
        "IDEMPOTENCY_TABLE_NAME",
        "IDEMPOTENCY_TTL_HOURS",
        CURSOR_KEY_VARIABLE,
    }  # CORS off: no origin for the function


def cursor_key(run: ProgramRun) -> Registration:
    return run.one("random:index/randomBytes:RandomBytes", "-cursor-key")


def test_the_cursor_key_is_a_secret_made_once_per_stack_and_given_to_the_function(prod: ProgramRun) -> None:
    key = cursor_key(prod)
    microservice = next(r for r in prod.registrations if r.type == MICROSERVICE)
    assert key.parent == microservice.urn
    # 256 random bits, and nothing else: keepers would make `pulumi up` replace it, and every cursor with it
    assert key.inputs == {"length": 32}
    assert "base64" in key.secret_outputs  # encrypted in the state, masked in the CLI
    fn = prod.one("aws:lambda/function:Function")
    assert fn.inputs["environment"]["variables"][CURSOR_KEY_VARIABLE] == key.state["base64"]
    assert "environment" in fn.secret_inputs  # the function's settings that carry it are secret too
    assert "environment" not in prod.one("aws:lambda/alias:Alias").inputs
    for name, value in prod.exports.items():  # never a stack output
        assert prod.resolve(value) != key.state["base64"], name


def test_the_readme_rotates_the_cursor_key_by_its_real_urn(prod: ProgramRun) -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert f"pulumi up --replace '{cursor_key(prod).urn}'" in readme


def test_alias_live_points_at_the_published_version(prod: ProgramRun) -> None:
    fn = prod.one("aws:lambda/function:Function")
    alias = prod.one("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live"
    assert alias.inputs["functionName"] == fn.state["name"]
    assert alias.inputs["functionVersion"] == fn.state["version"] == "1"


# --- REST API -------------------------------------------------------------------------------------


def test_every_contract_operation_requires_the_api_key_and_proxies_to_the_alias(prod: ProgramRun) -> None:
    body = prod.api_body()
    alias = prod.one("aws:lambda/alias:Alias")
    assert alias.state["invokeArn"].endswith(f":function:{FUNCTION_NAME}:live/invocations")
    assert body["components"]["securitySchemes"] == {
        "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
    }
    assert body["x-amazon-apigateway-api-key-source"] == "HEADER"
    validators = body["x-amazon-apigateway-request-validators"]
    for path, method, contract_op in contract_operations():
        op = body["paths"][path][method]
        assert op["security"] == [{"api_key": []}], (path, method)
        assert op["x-amazon-apigateway-integration"] == {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": alias.state["invokeArn"],
            "passthroughBehavior": "when_no_match",
        }
        validator = validators[op["x-amazon-apigateway-request-validator"]]
        assert validator["validateRequestParameters"] is True
        assert validator["validateRequestBody"] is ("requestBody" in contract_op), (path, method)


def test_every_deployed_method_except_preflight_is_secured(prod: ProgramRun) -> None:
    body = prod.api_body()
    methods = [(p, m, op) for p, item in body["paths"].items() for m, op in item.items() if m in HTTP_METHODS]
    assert len(methods) == len(contract_operations()) + len(body["paths"])  # + one OPTIONS per path
    for path, method, op in methods:
        if method == "options":
            assert op["security"] == [], path
            assert op["x-amazon-apigateway-integration"]["type"] == "mock", path
        else:
            assert op["security"] == [{"api_key": []}], (path, method)


def test_preflight_answers_with_the_configured_origin_and_the_path_methods(prod: ProgramRun) -> None:
    body = prod.api_body()
    origin = ENGINE["serverless-crud:corsAllowOrigin"]
    for item in body["paths"].values():
        response = item["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
        headers = response["responseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{origin}'"
        allowed = headers["method.response.header.Access-Control-Allow-Methods"].strip("'").split(",")
        assert sorted(allowed) == sorted([m.upper() for m in item if m in HTTP_METHODS])
        assert "X-Api-Key" in headers["method.response.header.Access-Control-Allow-Headers"]
        assert response["statusCode"] == "200"
        # a static header value must be single-quoted, else API Gateway parses it as a mapping expression
        assert all(_static(value) for value in headers.values()), headers
        # every mapped header is declared on the method response, or the import refuses the mapping
        declared = item["options"]["responses"]["200"]["headers"]
        assert {f"method.response.header.{name}" for name in declared} == set(headers)
        assert item["options"]["x-amazon-apigateway-integration"]["requestTemplates"] == {
            "application/json": '{"statusCode": 200}'
        }


def _contract_request_headers() -> set[str]:
    """Header parameters the contract lets a client send (If-Match, If-None-Match…), lower-cased."""
    spec = contract_spec()
    shared = spec.get("components", {}).get("parameters", {})
    names = set()
    for parameter in shared.values():
        if parameter.get("in") == "header":
            names.add(parameter["name"].lower())
    for item in spec["paths"].values():
        for op in (op for method, op in item.items() if method in HTTP_METHODS):
            for parameter in op.get("parameters", []):
                if parameter.get("in") == "header":
                    names.add(parameter["name"].lower())
    return names


def test_preflight_allows_every_request_header_of_the_contract(prod: ProgramRun) -> None:
    """A browser sends If-Match only when the preflight allows it: cross-origin optimistic locking."""
    wanted = _contract_request_headers()
    assert {"if-match", "if-none-match"} <= wanted  # the contract's conditional-request headers are found
    for path, item in prod.api_body()["paths"].items():
        parameters = item["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
        header = parameters["responseParameters"]["method.response.header.Access-Control-Allow-Headers"]
        allowed = {name.strip().lower() for name in header.strip("'").split(",")}
        assert wanted <= allowed, (path, sorted(wanted - allowed))


def test_gateway_errors_carry_cors_headers_and_the_contract_shape(prod: ProgramRun) -> None:
    responses = prod.api_body()["x-amazon-apigateway-gateway-responses"]
    origin = ENGINE["serverless-crud:corsAllowOrigin"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert (
            response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
            == f"'{origin}'"
        )
        assert all(_static(value) for value in response["responseParameters"].values())
        # the contract's GatewayMessage: {"message": ...}; messageString is already a quoted JSON string
        assert response["responseTemplates"] == {
            "application/json": '{"message": $context.error.messageString}'
        }


def test_iam_mode_signs_every_method_and_issues_no_key(variant: ProgramRun) -> None:
    body = variant.api_body()
    assert body["components"]["securitySchemes"] == {
        "sigv4": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    }
    for path, method, _ in contract_operations():
        assert body["paths"][path][method]["security"] == [{"sigv4": []}], (path, method)
    assert all("options" not in item for item in body["paths"].values())  # CORS off
    assert "responseParameters" not in body["x-amazon-apigateway-gateway-responses"]["DEFAULT_4XX"]
    for type_ in ("aws:apigateway/apiKey:ApiKey", "aws:apigateway/usagePlan:UsagePlan"):
        variant.none_of(type_)
    variant.none_of("aws:apigateway/usagePlanKey:UsagePlanKey")


def test_none_mode_leaves_methods_open_on_purpose(open_api: ProgramRun) -> None:
    body = open_api.api_body()
    assert "securitySchemes" not in body["components"]
    for path, method, _ in contract_operations():
        assert body["paths"][path][method]["security"] == [], (path, method)
    open_api.none_of("aws:apigateway/apiKey:ApiKey")
    assert "api_key" not in open_api.exports


def test_api_is_regional_and_redeploys_when_the_body_changes(prod: ProgramRun) -> None:
    api = prod.one("aws:apigateway/restApi:RestApi")
    assert api.inputs["endpointConfiguration"] == {"types": "REGIONAL"}
    deployment = prod.one("aws:apigateway/deployment:Deployment")
    assert deployment.inputs["restApi"] == _registered_id(prod, api)
    expected = hashlib.sha1(api.inputs["body"].encode(), usedforsecurity=False).hexdigest()
    assert deployment.inputs["triggers"] == {"redeployment": expected}


# $context variables API Gateway documents for REST API access logging ("Variables for access logging").
REST_ACCESS_LOG_VARIABLES = {
    f"$context.{name}"
    for name in (
        "requestId", "extendedRequestId", "identity.sourceIp", "requestTime", "requestTimeEpoch",
        "httpMethod", "resourcePath", "path", "status", "protocol", "responseLength", "responseLatency",
        "integration.latency", "integration.status", "integration.error", "integrationStatus",
        "error.message", "error.messageString", "identity.apiKeyId", "identity.userArn", "identity.caller",
        "xrayTraceId", "stage", "domainName",
    )
}  # fmt: skip


def test_stage_prod_logs_json_access_logs_and_traces(prod: ProgramRun) -> None:
    stage = prod.one("aws:apigateway/stage:Stage")
    access_logs = prod.one("aws:cloudwatch/logGroup:LogGroup", "access-logs")
    assert stage.inputs["stageName"] == "prod"
    assert stage.inputs["xrayTracingEnabled"] is True
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == access_logs.state["arn"]
    log_format = json.loads(settings["format"])
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["status"] == "$context.status"
    # one line (API Gateway writes the format per request as is) of REST access-log context variables only
    assert "\n" not in settings["format"]
    assert set(log_format.values()) <= REST_ACCESS_LOG_VARIABLES, (
        set(log_format.values()) - REST_ACCESS_LOG_VARIABLES
    )
    assert log_format["integrationLatency"] == "$context.integration.latency"
    assert log_format["xrayTraceId"] == "$context.xrayTraceId"
    # logging needs the region's API Gateway CloudWatch role first
    assert prod.one("aws:apigateway/account:Account").urn in stage.dependencies


def test_method_settings_throttle_with_the_stack_values_and_enable_metrics(prod: ProgramRun) -> None:
    settings = prod.one("aws:apigateway/methodSettings:MethodSettings")
    assert settings.inputs["methodPath"] == "*/*"
    assert settings.inputs["stageName"] == "prod"
    values = settings.inputs["settings"]
    assert values["metricsEnabled"] is True
    assert values["throttlingRateLimit"] == PROD["serverless-crud:throttleRateLimit"] == 50
    assert values["throttlingBurstLimit"] == PROD["serverless-crud:throttleBurstLimit"] == 100
    # prod differs from Pulumi.yaml's defaults, so these values can only have come from Pulumi.prod.yaml
    project_config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    assert project_config["throttleRateLimit"]["default"] != 50
    assert project_config["throttleBurstLimit"]["default"] != 100


def test_usage_plan_binds_the_key_to_the_prod_stage(prod: ProgramRun) -> None:
    api = prod.one("aws:apigateway/restApi:RestApi")
    api_id = _id_from_execution_arn(api)
    plan = prod.one("aws:apigateway/usagePlan:UsagePlan")
    assert plan.inputs["apiStages"] == [{"apiId": api_id, "stage": "prod"}]
    assert plan.inputs["throttleSettings"] == {"burstLimit": 100, "rateLimit": 50}
    key = prod.one("aws:apigateway/apiKey:ApiKey")
    assert key.inputs["enabled"] is True
    assert "value" not in key.inputs  # generated by AWS, never written in code or config
    plan_key = prod.one("aws:apigateway/usagePlanKey:UsagePlanKey")
    assert plan_key.inputs["keyType"] == "API_KEY"
    assert plan_key.inputs["usagePlanId"] == _registered_id(prod, plan)
    assert plan_key.inputs["keyId"] == _registered_id(prod, key)


def test_lambda_permission_is_for_the_alias_and_this_api_stage_only(prod: ProgramRun) -> None:
    api = prod.one("aws:apigateway/restApi:RestApi")
    permission = prod.one("aws:lambda/permission:Permission")
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["function"] == FUNCTION_NAME
    assert permission.inputs["qualifier"] == "live"
    assert permission.inputs["sourceArn"] == f"{api.state['executionArn']}/prod/*/*"
    # AddPermission on a qualifier fails unless the alias already exists: it must be created after it
    assert prod.one("aws:lambda/alias:Alias").urn in permission.dependencies
    # and the stage serves requests only once the permission exists
    assert permission.urn in prod.one("aws:apigateway/stage:Stage").dependencies


def test_api_gateway_account_role_is_set_and_kept_on_destroy(prod: ProgramRun) -> None:
    account = prod.one("aws:apigateway/account:Account")
    role = prod.one("aws:iam/role:Role", "apigateway-cloudwatch-role")
    attachment = prod.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert account.inputs["cloudwatchRoleArn"] == role.state["arn"]
    (trust,) = statements(role.inputs["assumeRolePolicy"])
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert attachment.inputs == {"role": role.state["name"], "policyArn": PUSH_TO_CLOUDWATCH}
    assert [account.retain_on_delete, role.retain_on_delete, attachment.retain_on_delete] == [True] * 3


def test_account_role_is_left_alone_when_not_managed(variant: ProgramRun) -> None:
    variant.none_of("aws:apigateway/account:Account")
    variant.none_of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


# --- alarms ---------------------------------------------------------------------------------------


def test_alarms_watch_function_errors_throttles_and_api_5xx_and_p99(prod: ProgramRun) -> None:
    api = prod.one("aws:apigateway/restApi:RestApi")
    alarms = {
        (a.inputs["namespace"], a.inputs["metricName"]): a.inputs
        for a in prod.all_of("aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert set(alarms) == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/ApiGateway", "Latency"),
    }
    for metric in ("Errors", "Throttles"):
        # the alias API Gateway invokes, not the function as a whole (Power Tuning's RAM<n> aliases)
        assert alarms["AWS/Lambda", metric]["dimensions"] == {
            "FunctionName": FUNCTION_NAME,
            "Resource": f"{FUNCTION_NAME}:live",
        }
    for metric in ("5XXError", "Latency"):
        assert alarms["AWS/ApiGateway", metric]["dimensions"] == {
            "ApiName": api.inputs["name"],
            "Stage": "prod",
        }
    latency = alarms["AWS/ApiGateway", "Latency"]
    assert latency["extendedStatistic"] == "p99"
    assert "statistic" not in latency  # AWS refuses an alarm with both
    assert latency["evaluateLowSampleCountPercentiles"] == "ignore"  # a p99 of 3 requests is their maximum
    assert latency["evaluationPeriods"] == 3
    assert latency["threshold"] == int(ENGINE["serverless-crud:latencyAlarmMs"])
    assert all(not a.get("alarmActions") for a in alarms.values())  # no e-mail configured in prod
    prod.none_of("aws:sns/topic:Topic")


def test_alarm_email_subscribes_to_a_topic_every_alarm_notifies(variant: ProgramRun) -> None:
    topic = variant.one("aws:sns/topic:Topic")
    subscription = variant.one("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "ops@example.com"
    assert subscription.inputs["topic"] == topic.state["arn"]
    for alarm in variant.all_of("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]], alarm.name


# --- Power Tuning ---------------------------------------------------------------------------------


def test_power_tuner_is_the_pinned_sar_app_scoped_to_this_function(prod: ProgramRun) -> None:
    app = prod.one("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")
    fn = prod.one("aws:lambda/function:Function")
    assert app.inputs["applicationId"] == (
        "arn:aws:serverlessrepo:us-east-1:451282441545:applications/aws-lambda-power-tuning"
    )
    assert app.inputs["semanticVersion"] == "4.4.0"
    assert app.inputs["capabilities"] == ["CAPABILITY_IAM"]
    assert app.inputs["name"] == f"{FUNCTION_NAME}-power-tuning"  # one CloudFormation stack per Pulumi stack
    params = app.inputs["parameters"]
    assert params["lambdaResource"] == fn.state["arn"] + "*"
    assert params["PowerValues"] == ",".join(str(v) for v in PROD["serverless-crud:powerValues"])
    assert params["totalExecutionTimeout"] == str(PROD["serverless-crud:powerTuningTimeout"])
    assert f"{POWER_TUNER}$" in app.urn


def test_every_power_tuning_role_is_bounded_to_this_function(prod: ProgramRun) -> None:
    app = prod.one("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")
    fn = prod.one("aws:lambda/function:Function")
    boundary = prod.one("aws:iam/policy:Policy", "boundary")
    assert app.inputs["parameters"]["permissionsBoundary"] == boundary.state["arn"]
    statements = {s["Sid"]: s for s in json.loads(boundary.inputs["policy"])["Statement"]}
    assert all(s["Effect"] == "Allow" for s in statements.values())
    tuned = statements["TunedFunctionOnly"]
    assert tuned["Resource"] == [fn.state["arn"], fn.state["arn"] + ":*"]  # not "<arn>*": no other function
    # every Lambda action of the template's six functions (template.yml 4.4.0)
    assert set(tuned["Action"]) == {
        "lambda:GetFunctionConfiguration", "lambda:GetAlias", "lambda:PublishVersion",
        "lambda:UpdateFunctionConfiguration", "lambda:CreateAlias", "lambda:UpdateAlias",
        "lambda:DeleteAlias", "lambda:DeleteFunction", "lambda:InvokeFunction",
    }  # fmt: skip
    region, account = fn.state["arn"].split(":")[3:5]
    invoke = statements["StateMachineInvokesTheTool"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == f"arn:aws:lambda:{region}:{account}:function:serverlessrepo-*"
    logs = statements["OwnLogs"]
    assert logs["Resource"][0] == f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/serverlessrepo-*"
    every_resource = [
        r
        for s in statements.values()
        for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert "*" not in every_resource


def test_power_tuning_off_deploys_no_tuner(variant: ProgramRun) -> None:
    variant.none_of("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")
    assert "state_machine_arn" not in variant.exports


# --- outputs --------------------------------------------------------------------------------------

OUTPUTS = {
    "api_url", "api_key", "function_name", "function_arn", "alias_arn", "table_name", "log_group_name",
    "state_machine_arn", "region", "memory_size", "architecture", "api_type",
}  # fmt: skip


def test_prod_exports_exactly_the_contract_outputs_well_formed(prod: ProgramRun) -> None:
    assert set(prod.exports) == OUTPUTS
    region = PROD["aws:region"]
    api = prod.one("aws:apigateway/restApi:RestApi")
    api_id = _id_from_execution_arn(api)
    assert prod.export("api_url") == f"https://{api_id}.execute-api.{region}.amazonaws.com/prod"
    key_value, key_secret = prod.settle(prod.exports["api_key"])
    assert key_secret is True
    assert key_value == prod.one("aws:apigateway/apiKey:ApiKey").state["value"]
    assert prod.export("function_name") == FUNCTION_NAME
    function_arn = prod.export("function_arn")
    assert re.fullmatch(rf"arn:aws:lambda:{region}:\d{{12}}:function:{FUNCTION_NAME}", function_arn)
    assert prod.export("alias_arn") == f"{function_arn}:live"
    assert prod.export("table_name") == prod.one("aws:dynamodb/table:Table", "table").state["name"]
    assert prod.export("log_group_name") == f"/aws/lambda/{FUNCTION_NAME}"
    assert re.fullmatch(
        rf"arn:aws:states:{region}:\d{{12}}:stateMachine:[\w-]+", prod.export("state_machine_arn")
    )
    assert prod.export("region") == region
    assert prod.export("memory_size") == PROD["serverless-crud:memorySize"]
    assert prod.export("architecture") == PROD["serverless-crud:architecture"]
    assert prod.export("api_type") == "rest"  # Pulumi.prod.yaml leaves apiType at Pulumi.yaml's default
    for name in OUTPUTS - {"api_key"}:
        assert prod.settle(prod.exports[name])[1] is False, (
            f"{name} should be readable without --show-secrets"
        )


def test_variant_exports_follow_its_config(variant: ProgramRun) -> None:
    assert set(variant.exports) == OUTPUTS - {"api_key", "state_machine_arn"}
    assert variant.export("region") == "eu-west-1"
    assert ":eu-west-1:" in variant.export("function_arn")
    assert variant.export("architecture") == "x86_64"


def _static(value: str) -> bool:
    return len(value) >= 2 and value[0] == value[-1] == "'" and "'" not in value[1:-1]


def _id_from_execution_arn(api: Registration) -> str:
    return api.state["executionArn"].rsplit(":", 1)[1]


def _registered_id(run: ProgramRun, reg: Registration) -> str:
    return run.monitor.resources[reg.urn].id
