"""Microservice: the DynamoDB table, the Lambda function behind alias `live`, and the front door in front of
it: the REST API (here) or, with apiType http, the HTTP API (components/http_api.py).

One component because the three only make sense together: the role may touch only this table and this log
group, the API may invoke only this alias, and the alarms watch this function and this stage.
"""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_aws as aws
import pulumi_random

from api.access_log import REST_FORMAT
from api.names import ALIAS, CURSOR_KEY_VARIABLE, HANDLER, IDEMPOTENCY_TABLE_VARIABLE, LAMBDA_RUNTIME, STAGE
from api.spec import load_spec
from api.table_schema import IDEMPOTENCY_TABLE_PATH, load_table_keys, time_to_live_attribute
from components import iam
from components.front_door import FrontDoor, access_log_group, invoke_permission
from components.http_api import http_api
from components.openapi_body import build_body
from components.package import function_archive
from settings.stack_settings import Settings

ALARM_PERIOD_S = 300


def _fingerprint(body: str) -> str:
    """Identifies a body version for the Deployment trigger (not a security use of SHA-1)."""
    return hashlib.sha1(body.encode(), usedforsecurity=False).hexdigest()


class Microservice(pulumi.ComponentResource):
    """Table + function + front door (+ alarms) of one stack; exposes what the stack outputs."""

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        function_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("serverless-crud:index:Microservice", name, None, opts)
        self._name = name
        self._settings = settings
        self._child = pulumi.ResourceOptions(parent=self)

        table = self._table()
        records = self._records_table()
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-function-logs",
            name=f"/aws/lambda/{function_name}",  # Lambda's group, created first so it has a retention
            retention_in_days=settings.log_retention_days,
            opts=self._child,
        )
        role, role_policy = self._role(table, records, log_group)
        function = self._function(function_name, table, records, log_group, role, role_policy)
        alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=ALIAS,
            function_name=function.name,
            function_version=function.version,
            description="What API Gateway invokes; Power Tuning's RAM<n> aliases live next to it.",
            opts=self._child,
        )
        door = (
            self._http_api(function_name, function, alias)
            if settings.api_type == "http"
            else self._rest_api(function_name, function, alias)
        )
        self._alarms(function, alias, door)

        self.table_name = table.name
        self.idempotency_table_name = records.name
        self.function_name = function.name
        self.function_arn = function.arn
        self.alias_arn = alias.arn
        self.log_group_name = log_group.name
        self.memory_size = function.memory_size
        self.architecture = function.architectures.apply(lambda archs: archs[0])
        self.api_url = door.api_url
        self.api_key = door.api_key
        self.api_type = settings.api_type
        self.register_outputs(
            {
                "table_name": self.table_name,
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "alias_arn": self.alias_arn,
                "log_group_name": self.log_group_name,
                "api_url": self.api_url,
            }
        )

    def _table(self) -> aws.dynamodb.Table:
        keys = load_table_keys()
        return aws.dynamodb.Table(
            f"{self._name}-table",
            attributes=keys.attributes,
            hash_key=keys.hash_key,
            range_key=keys.range_key,
            billing_mode="PAY_PER_REQUEST",
            point_in_time_recovery={"enabled": True},
            # enabled without a key ARN: the AWS-managed key aws/dynamodb (no monthly fee, in CloudTrail)
            server_side_encryption={"enabled": True},
            deletion_protection_enabled=self._settings.table_deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, protect=self._settings.protect_table),
        )

    def _records_table(self) -> aws.dynamodb.Table:
        """Idempotency-Key records (function/idempotency.py), apart from the items: a scan of the items never
        meets one, and their TTL sweeps them. Not protected like the items: losing them only forgets keys."""
        keys = load_table_keys(IDEMPOTENCY_TABLE_PATH)
        return aws.dynamodb.Table(
            f"{self._name}-idempotency",
            attributes=keys.attributes,
            hash_key=keys.hash_key,
            billing_mode="PAY_PER_REQUEST",
            ttl={"attribute_name": time_to_live_attribute(IDEMPOTENCY_TABLE_PATH), "enabled": True},
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True},
            opts=self._child,
        )

    def _role(
        self, table: aws.dynamodb.Table, records: aws.dynamodb.Table, log_group: aws.cloudwatch.LogGroup
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        role = aws.iam.Role(
            f"{self._name}-function-role",
            assume_role_policy=json.dumps(iam.assume_role_policy("lambda.amazonaws.com")),
            description="Execution role of the CRUD function: its table, its log group, X-Ray; nothing else.",
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-function-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                iam.function_policy(
                    table_arn=table.arn,
                    records_table_arn=records.arn,
                    log_group_arn=log_group.arn,
                    tracing=self._settings.tracing,
                )
            ),
            opts=self._child,
        )
        return role, policy

    def _cursor_key(self) -> pulumi.Output[str]:
        """The key the function signs list cursors with (function/cursors.py): 32 random bytes made once per
        stack and kept in its state, so every `pulumi up` keeps it (no keepers) and cursors stay valid across
        deployments; `pulumi up --replace <its URN>` rotates it (README). RandomBytes marks it secret, so it
        is encrypted in the state, and the function's `environment` input that carries it becomes secret too.

        An environment variable can be read by anyone allowed lambda:GetFunctionConfiguration. SSM Parameter
        Store or Secrets Manager would hide it from them, at the price of a GetParameter or GetSecretValue
        call (plus kms:Decrypt) on every cold start, a second botocore client, those permissions on the role,
        and for Secrets Manager $0.40 a month. What the key protects is small: without it a client could
        forge a cursor, i.e. start a Scan of this table at a key of its choosing, which any caller with an API
        key reaches anyway by listing; whoever can read the function's configuration can do far more. So an
        environment variable it is: the role needs nothing more and cold starts stay as measured."""
        key = pulumi_random.RandomBytes(f"{self._name}-cursor-key", length=32, opts=self._child)
        return key.base64

    def _function(
        self,
        function_name: str,
        table: aws.dynamodb.Table,
        records: aws.dynamodb.Table,
        log_group: aws.cloudwatch.LogGroup,
        role: aws.iam.Role,
        role_policy: aws.iam.RolePolicy,
    ) -> aws.lambda_.Function:
        settings = self._settings
        variables: dict[str, pulumi.Input[str]] = {
            "TABLE_NAME": table.name,
            IDEMPOTENCY_TABLE_VARIABLE: records.name,
            "IDEMPOTENCY_TTL_HOURS": str(settings.idempotency_ttl_hours),
            CURSOR_KEY_VARIABLE: self._cursor_key(),
        }
        if settings.cors_allow_origin is not None:
            variables["CORS_ALLOW_ORIGIN"] = settings.cors_allow_origin
        return aws.lambda_.Function(
            f"{self._name}-function",
            name=function_name,
            role=role.arn,
            runtime=LAMBDA_RUNTIME,
            handler=HANDLER,
            code=function_archive(),
            architectures=[settings.architecture],
            memory_size=settings.memory_size,
            timeout=settings.timeout,
            reserved_concurrent_executions=settings.reserved_concurrency,
            environment={"variables": variables},
            tracing_config={"mode": "Active" if settings.tracing else "PassThrough"},
            # Text, not JSON. Power Tuning 4.4.0 reads durations from each invocation's log tail; with JSON
            # logs its parser wants initDurationMs, which warm invocations' platform.report records lack, and
            # fails with "Invalid JSON log does not contain initDurationMs" (upstream issue #305 of
            # alexcasalboni/aws-lambda-power-tuning, open). Text REPORT lines parse for cold and warm alike.
            logging_config={"log_format": "Text", "log_group": log_group.name},
            publish=True,  # every code or config change publishes a version that alias `live` moves to
            # The role's policy must exist before the first invocation can write logs or read the table.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, role_policy]),
        )

    def _http_api(
        self, function_name: str, function: aws.lambda_.Function, alias: aws.lambda_.Alias
    ) -> FrontDoor:
        """apiType http (components/http_api.py). No API Gateway account role: HTTP APIs write access logs
        through their service-linked role."""
        api, stage = http_api(
            self._name,
            settings=self._settings,
            function_name=function_name,
            alias=alias,
            permission=lambda execution_arn: invoke_permission(
                self._name, function=function, alias=alias, execution_arn=execution_arn, child=self._child
            ),
            child=self._child,
        )
        return FrontDoor(
            api_url=stage.invoke_url,
            metric_dimensions={"ApiId": api.id, "Stage": stage.name},
            server_error_metric="5xx",
            api_key=None,
        )

    def _rest_api(
        self, function_name: str, function: aws.lambda_.Function, alias: aws.lambda_.Alias
    ) -> FrontDoor:
        settings = self._settings
        body = pulumi.Output.json_dumps(
            build_body(
                load_spec(),
                invoke_uri=alias.invoke_arn,
                auth_mode=settings.auth_mode,
                cors_origin=settings.cors_allow_origin,
            )
        )
        api = aws.apigateway.RestApi(
            f"{self._name}-api",
            name=f"{function_name}-api",
            body=body,
            endpoint_configuration={"types": "REGIONAL"},
            opts=self._child,
        )
        # A Deployment is a snapshot: only a new one (triggered by the body's hash) makes an edited API live.
        deployment = aws.apigateway.Deployment(
            f"{self._name}-deployment",
            rest_api=api.id,
            triggers={"redeployment": body.apply(_fingerprint)},
            opts=self._child,
        )
        access_logs = access_log_group(
            self._name,
            function_name=function_name,
            retention_days=settings.log_retention_days,
            child=self._child,
        )
        permission = invoke_permission(
            self._name, function=function, alias=alias, execution_arn=api.execution_arn, child=self._child
        )
        account = self._api_gateway_account() if settings.manage_api_gateway_account else None
        stage = aws.apigateway.Stage(
            f"{self._name}-stage",
            rest_api=api.id,
            deployment=deployment.id,
            stage_name=STAGE,
            xray_tracing_enabled=settings.tracing,
            access_log_settings={"destination_arn": access_logs.arn, "format": REST_FORMAT},
            # Access logging fails unless the region's account settings already name a CloudWatch role; and
            # the stage goes live only once API Gateway may invoke the alias (no 500s right after a first up).
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[permission, *([account] if account else [])]
            ),
        )
        aws.apigateway.MethodSettings(
            f"{self._name}-method-settings",
            rest_api=api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "throttling_rate_limit": settings.throttle_rate_limit,
                "throttling_burst_limit": settings.throttle_burst_limit,
            },
            opts=self._child,
        )
        return FrontDoor(
            api_url=stage.invoke_url,
            metric_dimensions={"ApiName": api.name, "Stage": stage.stage_name},
            server_error_metric="5XXError",
            api_key=self._api_key(api, stage) if settings.auth_mode == "api_key" else None,
        )

    def _api_gateway_account(self) -> aws.apigateway.Account:
        """The region-wide setting letting API Gateway write logs; kept on destroy: other APIs rely on it."""
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        role = aws.iam.Role(
            f"{self._name}-apigateway-cloudwatch-role",
            assume_role_policy=json.dumps(iam.assume_role_policy("apigateway.amazonaws.com")),
            description="Lets API Gateway write access logs to CloudWatch Logs in this account and region.",
            opts=keep,
        )
        # The only AWS-managed policy in the stack: AWS maintains the exact log actions API Gateway needs.
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-apigateway-cloudwatch-policy",
            role=role.name,
            policy_arn=aws.iam.ManagedPolicy.AMAZON_API_GATEWAY_PUSH_TO_CLOUD_WATCH_LOGS,
            opts=keep,
        )
        return aws.apigateway.Account(
            f"{self._name}-apigateway-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, depends_on=[attachment]),
        )

    def _api_key(self, api: aws.apigateway.RestApi, stage: aws.apigateway.Stage) -> pulumi.Output[str]:
        settings = self._settings
        plan = aws.apigateway.UsagePlan(
            f"{self._name}-usage-plan",
            api_stages=[{"api_id": api.id, "stage": stage.stage_name}],
            throttle_settings={
                "rate_limit": settings.throttle_rate_limit,
                "burst_limit": settings.throttle_burst_limit,
            },
            opts=self._child,
        )
        key = aws.apigateway.ApiKey(f"{self._name}-api-key", enabled=True, opts=self._child)
        aws.apigateway.UsagePlanKey(
            f"{self._name}-usage-plan-key",
            key_id=key.id,
            key_type="API_KEY",
            usage_plan_id=plan.id,
            opts=self._child,
        )
        return pulumi.Output.secret(key.value)

    def _alarms(
        self,
        function: aws.lambda_.Function,
        alias: aws.lambda_.Alias,
        door: FrontDoor,
    ) -> None:
        settings = self._settings
        actions: list[pulumi.Input[str]] = []
        if settings.alarm_email is not None:
            topic = aws.sns.Topic(f"{self._name}-alarms", opts=self._child)
            aws.sns.TopicSubscription(
                f"{self._name}-alarms-email",
                topic=topic.arn,
                protocol="email",
                endpoint=settings.alarm_email,
                opts=self._child,
            )
            actions = [topic.arn]
        # Only what API Gateway sends through alias `live`: Lambda publishes an aliased invocation's metrics
        # under FunctionName + Resource "<name>:<alias>" as well. FunctionName alone would also count Power
        # Tuning's RAM<n> invocations, whose timeouts at small memory sizes are results, not incidents.
        lambda_dims = {
            "FunctionName": function.name,
            "Resource": pulumi.Output.concat(function.name, ":", alias.name),
        }
        api_dims = door.metric_dimensions
        server_errors = door.server_error_metric
        latency = settings.latency_alarm_ms
        # One slow cold start must not page anyone: the p99 alarm needs three bad periods in a row, and a
        # period with too few requests for a meaningful p99 (it is then just the slowest) leaves it as it is.
        # fmt: off
        alarms = [  # (name suffix, namespace, metric, dimensions, statistic, threshold, periods, meaning)
            ("function-errors", "AWS/Lambda", "Errors", lambda_dims, "Sum", 1, 1, "failures"),
            ("function-throttles", "AWS/Lambda", "Throttles", lambda_dims, "Sum", 1, 1, "throttles"),
            ("api-5xx", "AWS/ApiGateway", server_errors, api_dims, "Sum", 1, 1, "5XX answers"),
            ("api-latency-p99", "AWS/ApiGateway", "Latency", api_dims, "p99", latency, 3, "ms at p99"),
        ]
        # fmt: on
        for suffix, namespace, metric, dims, statistic, threshold, periods, what in alarms:
            percentile = statistic.startswith("p")
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-{suffix}",
                alarm_description=f"{metric} {'above' if percentile else 'at least'} {threshold} ({what}) "
                f"in {periods} period(s) of {ALARM_PERIOD_S} s.",
                namespace=namespace,
                metric_name=metric,
                dimensions=dims,
                statistic=None if percentile else statistic,
                extended_statistic=statistic if percentile else None,
                evaluate_low_sample_count_percentiles="ignore" if percentile else None,
                period=ALARM_PERIOD_S,
                evaluation_periods=periods,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold" if percentile else "GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                opts=self._child,
            )
