"""Rules of the serverless-crud CrossGuard pack, apart from the pack's __main__.py so tests can call them.

Each rule is a `ResourceValidationPolicy` whose validator reads the resource's properties as the engine sends
them (camelCase). During a first preview some properties are still unknown (the API body embeds the alias ARN,
the IAM policy the table ARN); pulumi_policy then skips the rule for that resource, and `pulumi up` checks the
known values before anything changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

ReportViolation = Callable[..., None]

# Actions AWS does not allow to be scoped to a resource: "*" is the narrowest Resource for them.
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# AWS-managed policies that are acceptable: API Gateway's account role needs exactly this one.
ALLOWED_MANAGED_POLICIES = frozenset(
    {"arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
)
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
AUTH_MODES = ["api_key", "iam", "jwt", "none"]
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def policy_document_problems(document: str | Mapping[str, Any]) -> list[str]:
    """What makes an IAM policy document broader than least privilege (empty when it is fine)."""
    parsed = json.loads(document) if isinstance(document, str) else document
    problems = []
    for index, statement in enumerate(_as_list(parsed.get("Statement"))):
        if statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"statement {index}"
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{label}: NotAction/NotResource allow everything not listed")
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        wildcards = [a for a in actions if a == "*" or a.endswith(":*")]
        if wildcards:
            problems.append(f"{label}: wildcard actions {wildcards}")
        if "*" in _as_list(statement.get("Resource")) and not set(actions) <= NO_RESOURCE_LEVEL_ACTIONS:
            scoped = sorted(set(actions) - NO_RESOURCE_LEVEL_ACTIONS)
            problems.append(f"{label}: Resource '*' for actions that can be scoped to a resource: {scoped}")
    return problems


def _least_privilege_iam(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    props = args.props
    documents: list[Any] = []
    managed: list[str] = []
    if args.resource_type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        documents.append(props.get("policy"))
    elif args.resource_type == "aws:iam/role:Role":
        documents.extend(p.get("policy") for p in _as_list(props.get("inlinePolicies")))
        managed.extend(_as_list(props.get("managedPolicyArns")))
    elif args.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
        managed.append(props.get("policyArn"))
    for document in filter(None, documents):
        for problem in policy_document_problems(document):
            report_violation(f"{args.name}: {problem}.")
    for arn in managed:
        if arn not in ALLOWED_MANAGED_POLICIES:
            report_violation(
                f"{args.name}: managed policy {arn} is broader than needed; use an inline policy."
            )


def _security_schemes(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return body.get("components", {}).get("securitySchemes") or body.get("securityDefinitions") or {}


def _authenticates(scheme: Mapping[str, Any]) -> bool:
    """An API key in x-api-key, SigV4, or an API Gateway authorizer."""
    if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4" or "x-amazon-apigateway-authorizer" in scheme:
        return True
    return (
        scheme.get("type") == "apiKey"
        and scheme.get("in") == "header"
        and scheme.get("name", "").lower() == "x-api-key"
    )


def open_operations(body: str | Mapping[str, Any]) -> list[str]:
    """'METHOD /path' of each operation callable without credentials (gateway preflights excepted)."""
    parsed = json.loads(body) if isinstance(body, str) else body
    schemes = _security_schemes(parsed)
    found = []
    for path, item in parsed.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            integration = operation.get("x-amazon-apigateway-integration", {})
            if method == "options" and str(integration.get("type", "")).lower() == "mock":
                continue  # a CORS preflight answered by the gateway never reaches the function
            # Only the operation's own requirement counts: API Gateway ignores a root-level one on import.
            requirements = operation.get("security") or []
            if not any(
                all(name in schemes and _authenticates(schemes[name]) for name in requirement)
                for requirement in requirements
                if requirement
            ):
                found.append(f"{method.upper()} {path}")
    return found


def _no_unauthenticated_methods(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.get_config().get("authMode", "api_key") == "none":
        return
    if args.resource_type == "aws:apigateway/restApi:RestApi":
        body = args.props.get("body")
        if body:
            for operation in open_operations(body):
                report_violation(f"{args.name}: {operation} can be called without an API key or SigV4.")
    elif args.resource_type == "aws:apigateway/method:Method":
        props = args.props
        if (
            props.get("httpMethod") != "OPTIONS"
            and props.get("authorization") == "NONE"
            and not props.get("apiKeyRequired")
        ):
            report_violation(
                f"{args.name}: method {props.get('httpMethod')} needs an API key or authorization."
            )

    elif args.resource_type == "aws:apigatewayv2/route:Route":
        props = args.props
        # an HTTP API route is open unless it names AWS_IAM, JWT or a Lambda authorizer (default NONE)
        if props.get("authorizationType", "NONE") == "NONE":
            report_violation(f"{args.name}: route {props.get('routeKey')} needs AWS_IAM or a JWT authorizer.")


def _log_retention(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "aws:cloudwatch/logGroup:LogGroup" and not args.props.get("retentionInDays"):
        report_violation(f"{args.name}: log group without retention keeps (and bills) logs forever.")


def _dynamodb_pitr(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "aws:dynamodb/table:Table":
        pitr = args.props.get("pointInTimeRecovery") or {}
        if pitr.get("enabled") is not True:
            report_violation(f"{args.name}: point-in-time recovery is off; a bad write could not be undone.")


def _lambda_architecture(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "aws:lambda/function:Function":
        allowed = _as_list(args.get_config().get("allowedArchitectures", ["arm64"]))
        architectures = _as_list(args.props.get("architectures")) or ["x86_64"]  # Lambda's default
        if not set(architectures) <= set(allowed):
            report_violation(
                f"{args.name}: architecture {architectures} is not in {allowed} (arm64 costs ~20 % less per "
                "GB-s); allow it with the policy's allowedArchitectures config."
            )


def _stage_access_logs(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    is_stage = args.resource_type in (REST_STAGE, HTTP_STAGE)
    if is_stage and not (args.props.get("accessLogSettings") or {}).get("destinationArn"):
        report_violation(f"{args.name}: stage without access logs; requests could not be audited.")


def _positive_throttle(settings: Mapping[str, Any]) -> bool:
    """Both limits set and above zero (REST's -1 and an absent HTTP API limit both mean the account's)."""
    return all((settings.get(key) or 0) > 0 for key in ("throttlingRateLimit", "throttlingBurstLimit"))


def _stage_throttling(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    # REST stages throttle through their MethodSettings (method path */*), HTTP API stages through their
    # default route settings.
    if args.resource_type == "aws:apigateway/methodSettings:MethodSettings":
        if not _positive_throttle(args.props.get("settings") or {}):
            report_violation(f"{args.name}: method settings without a rate and a burst limit.")
    elif args.resource_type == HTTP_STAGE and not _positive_throttle(
        args.props.get("defaultRouteSettings") or {}
    ):
        report_violation(
            f"{args.name}: HTTP API stage without a default route rate and burst limit; one client could "
            "use the account's whole API Gateway quota."
        )


def _policy(
    name: str,
    description: str,
    validate: Callable[[ResourceValidationArgs, ReportViolation], None],
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=config_schema,
    )


def _schema(properties: Mapping[str, Any]) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties=dict(properties))


LEAST_PRIVILEGE_IAM = _policy(
    "least-privilege-iam",
    "IAM grants no wildcard action, no '*' resource where AWS has a narrower one, no broad managed policy.",
    _least_privilege_iam,
)
NO_UNAUTHENTICATED_METHODS = _policy(
    "no-unauthenticated-methods",
    "Every REST method needs an API key or SigV4 (CORS preflights excepted), every HTTP API route AWS_IAM or "
    "a JWT authorizer, unless authMode is 'none'.",
    _no_unauthenticated_methods,
    _schema({"authMode": {"type": "string", "enum": AUTH_MODES, "default": "api_key"}}),
)
LOG_RETENTION = _policy("log-retention", "Every log group has a retention period.", _log_retention)
DYNAMODB_PITR = _policy("dynamodb-pitr", "DynamoDB tables have point-in-time recovery on.", _dynamodb_pitr)
LAMBDA_ARCHITECTURE = _policy(
    "lambda-arm64",
    "Lambda functions run on arm64 unless the policy's allowedArchitectures says otherwise.",
    _lambda_architecture,
    _schema(
        {
            "allowedArchitectures": {
                "type": "array",
                "items": {"type": "string", "enum": ["arm64", "x86_64"]},
                "default": ["arm64"],
            }
        }
    ),
)
STAGE_ACCESS_LOGS = _policy(
    "apigateway-stage-access-logs",
    "API Gateway stages (REST and HTTP API) write access logs.",
    _stage_access_logs,
)
STAGE_THROTTLING = _policy(
    "apigateway-stage-throttling",
    "API Gateway stages set a rate and a burst limit (REST: method settings; HTTP API: default route).",
    _stage_throttling,
)

POLICIES: list[ResourceValidationPolicy] = [
    LEAST_PRIVILEGE_IAM,
    NO_UNAUTHENTICATED_METHODS,
    LOG_RETENTION,
    DYNAMODB_PITR,
    LAMBDA_ARCHITECTURE,
    STAGE_ACCESS_LOGS,
    STAGE_THROTTLING,
]
