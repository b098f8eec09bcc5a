"""PowerTuner: AWS Lambda Power Tuning from the Serverless Application Repository, for one function.

The tool is a Step Functions state machine plus six small functions; deploying the published SAR application
(a CloudFormation stack named `serverlessrepo-<name>`) keeps its code and IAM exactly as upstream reviewed
them.
"""

from __future__ import annotations

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


class PowerTuner(pulumi.ComponentResource):
    """The Power Tuning state machine, scoped by IAM to `function_arn` and its qualifiers."""

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
                "PowerValues": ",".join(str(v) for v in power_values),
                "totalExecutionTimeout": str(total_execution_timeout),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.state_machine_arn: pulumi.Output[str] = stack.outputs.apply(
            lambda outputs: outputs["StateMachineARN"]
        )
        self.register_outputs({"state_machine_arn": self.state_machine_arn})
