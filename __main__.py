"""The serverless-crud stack: validated settings -> Microservice -> the outputs tuning/ reads."""

import pulumi
import pulumi_aws as aws

from components.microservice import Microservice
from components.power_tuner import PowerTuner
from components.settings import load_settings
from settings.stack_settings import StackNameError, function_name_for

settings = load_settings()
region = aws.config.region
if not region:
    raise pulumi.RunError("config 'aws:region' is not set: run `pulumi config set aws:region <region>`")

# A fixed, stack-derived name: the log group /aws/lambda/<name> can then be created (with retention) before
# the function, and Power Tuning's IAM scope "<function ARN>*" matches nothing but this function's qualifiers.
try:
    function_name = function_name_for(pulumi.get_project(), pulumi.get_stack())
except StackNameError as error:
    raise pulumi.RunError(str(error)) from None
service = Microservice("crud", settings=settings, function_name=function_name)

pulumi.export("api_url", service.api_url)
pulumi.export("api_type", service.api_type)
if service.api_key is not None:
    pulumi.export("api_key", service.api_key)
pulumi.export("function_name", service.function_name)
pulumi.export("function_arn", service.function_arn)
pulumi.export("alias_arn", service.alias_arn)
pulumi.export("table_name", service.table_name)
pulumi.export("log_group_name", service.log_group_name)
pulumi.export("region", region)
pulumi.export("memory_size", service.memory_size)
pulumi.export("architecture", service.architecture)
if settings.power_tuning:
    tuner = PowerTuner(
        "power-tuning",
        app_name=f"{function_name}-power-tuning",
        function_arn=service.function_arn,
        power_values=settings.power_values,
        total_execution_timeout=settings.power_tuning_timeout,
    )
    pulumi.export("state_machine_arn", tuner.state_machine_arn)
