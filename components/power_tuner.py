"""PowerTuner: AWS Lambda Power Tuning from the Serverless Application Repository, for one function.

The tool is a Step Functions state machine plus six small functions; deploying the published SAR application
(a CloudFormation stack named `serverlessrepo-<name>`) keeps its code and IAM exactly as upstream reviewed
them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

APPLICATION_ID = "arn:aws:serverlessrepo:us-east-1:451282441545:applications/aws-lambda-power-tuning"
SEMANTIC_VERSION = "4.4.0"  # pinned: the results schema, REPORT parsing and prices the tuning/ code mirrors
# The template (SAM functions with inline policies, a state machine role, a layer, an optional managed policy)
# creates IAM roles without custom names -> CAPABILITY_IAM; it has no Lambda::Permission or bucket, queue or
# topic policy (CAPABILITY_RESOURCE_POLICY) and no nested application (CAPABILITY_AUTO_EXPAND), per SAR's
# CreateCloudFormationChangeSet rules. Stated explicitly: capabilities left out are filled in by AWS.
CAPABILITIES = ["CAPABILITY_IAM"]
# Every Lambda action the template's six functions take on the tuned function (template.yml 4.4.0).
TUNED_FUNCTION_ACTIONS = (
    "lambda:CreateAlias",
    "lambda:DeleteAlias",
    "lambda:DeleteFunction",  # the cleaner deletes only the versions it published, by qualifier
    "lambda:GetAlias",
    "lambda:GetFunctionConfiguration",
    "lambda:InvokeFunction",
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
    "lambda:UpdateFunctionConfiguration",
)
# What AWSLambdaBasicExecutionRole gives the tool's functions: their own log groups.
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
# CloudFormation names the tool's functions "<its stack name>-<logical id>-<suffix>", truncating the stack
# name to fit 64 characters, so only this prefix of their names is certain.
TOOL_FUNCTION_PREFIX = "serverlessrepo-"


def boundary_document(function_arn: str) -> str:
    """The permissions boundary of every role the template creates (its six functions' and the state
    machine's): Lambda actions on the tuned function and its versions and aliases only; the state machine may
    also invoke the tool's own functions; logs only in the tool's log groups."""
    _, partition, _, region, account, _, _ = function_arn.split(":")
    functions = f"arn:{partition}:lambda:{region}:{account}:function:{TOOL_FUNCTION_PREFIX}*"
    log_groups = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{TOOL_FUNCTION_PREFIX}*"
    statements = [
        {
            "Sid": "TunedFunctionOnly",
            "Effect": "Allow",
            "Action": list(TUNED_FUNCTION_ACTIONS),
            "Resource": [function_arn, f"{function_arn}:*"],
        },
        {
            "Sid": "StateMachineInvokesTheTool",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": functions,
        },
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": list(LOG_ACTIONS),
            "Resource": [log_groups, f"{log_groups}:*"],
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class PowerTuner(pulumi.ComponentResource):
    """The Power Tuning state machine; its roles bounded (``boundary_document``) to `function_arn` and its
    qualifiers for every Lambda action."""

    def __init__(
        self,
        name: str,
        *,
        app_name: str,
        function_arn: pulumi.Input[str],
        power_values: Sequence[int],
        total_execution_timeout: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("serverless-crud:index:PowerTuner", name, None, opts)
        # The template's lambdaResource is "<function ARN>*", which also matches other functions whose names
        # start with this one's; the boundary cuts every role's reach down to this function.
        boundary = aws.iam.Policy(
            f"{name}-boundary",
            description=f"Permissions boundary of {app_name}: Lambda actions on the tuned function only",
            policy=pulumi.Output.from_input(function_arn).apply(boundary_document),
            opts=pulumi.ResourceOptions(parent=self),
        )
        stack = aws.serverlessrepository.CloudFormationStack(
            f"{name}-app",
            name=app_name,  # CloudFormation names the stack serverlessrepo-<app_name>: unique per region
            application_id=APPLICATION_ID,
            semantic_version=SEMANTIC_VERSION,
            capabilities=CAPABILITIES,
            # Names and types as template.yml declares them: PowerValues List<Number> (comma-separated),
            # totalExecutionTimeout Number (10-900). Values equal to the template's defaults stay in state
            # since terraform-provider-aws#46748 (pulumi-aws 7.51.1 carries it), so a second `up` is a no-op.
            parameters={
                # IAM Resource of every Lambda action the tool takes. The trailing "*" matches the RAM<n>
                # aliases and versions it creates (…:function:<name>:RAM512); it also matches functions whose
                # name starts with this one's, which is why the function name is the full "<project>-<stack>".
                "lambdaResource": pulumi.Output.concat(function_arn, "*"),
                "permissionsBoundary": boundary.arn,
                "PowerValues": ",".join(str(v) for v in power_values),
                "totalExecutionTimeout": str(total_execution_timeout),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.state_machine_arn: pulumi.Output[str] = stack.outputs.apply(
            lambda outputs: outputs["StateMachineARN"]
        )
        self.register_outputs({"state_machine_arn": self.state_machine_arn})
