"""A stand-in for the Power Tuning state machine on the emulator's moto server, for runner and notebook tests.

Each fake is a small ASL definition (Pass/Map/Fail states, not the upstream one) whose executions end the way
the real tool's do: (a) ``success`` — SUCCEEDED with a realistic Analyzer output incl. ``stats``; (b)
``no_stats`` — the same without ``stats`` (the per-power averages only in the visualization URL); (c)
``caught_error`` — SUCCEEDED with ``{}`` after ``CleanUpOnError`` whose input carries ``error: {Error,
Cause}``; (d) ``failed`` — FAILED in the Initializer; (e) ``size_caught`` and (f) ``size_failed`` — the
Executor of each size in ``failing_sizes`` fails (a Fail state in that Map iteration, as the real Executor's
error would end it): SUCCEEDED with ``{}`` through ``CleanUpOnError``, or FAILED; without those sizes the
execution succeeds with the output of the sizes it ran. Numbers live in the definition, normalised for moto's
ASL number-literal bug.

``create_fake_function`` adds the tuned function (IAM role, function, ``live`` alias) so runners can seed
items; moto's Lambda answers from the shared queue that ``queue_lambda_results`` fills.
"""

from __future__ import annotations

import io
import json
import re
import urllib.request
import zipfile
from typing import Any

from tuning.engine.analyzer import build_output

OUTCOMES = ("success", "no_stats", "caught_error", "failed", "size_caught", "size_failed")
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
DEFAULT_POWER_VALUES = (128, 256, 512, 1024, 1536, 3008)
DEFAULT_CAUGHT_ERROR = "Error"
DEFAULT_CAUGHT_CAUSE = json.dumps(
    {
        "errorType": "Error",
        "errorMessage": "Invocation error (running in parallel): "
        '{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: Runtime exited with error"}',
    }
)
# What the real Executor throws when the tuned function runs out of memory (executor.js + Lambda's payload).
DEFAULT_SIZE_CAUSE = json.dumps(
    {
        "errorType": "Error",
        "errorMessage": "Invocation error (running in series): "
        '{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: 1 Error: Runtime exited with error: '
        'signal: killed"}',
    }
)
DEFAULT_FAILED_ERROR = "Error"
DEFAULT_FAILED_CAUSE = json.dumps({"errorType": "Error", "errorMessage": "Missing num or num below 5"})
_EXPONENT = re.compile(r"([eE])\+?(-?)0*(\d)")
_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def cpu_bound_measurements(
    power_values: tuple[int, ...] | list[int] = DEFAULT_POWER_VALUES, num: int = 10
) -> list[tuple[int, list[tuple[float, int]]]]:
    """Deterministic (duration_ms, billed_ms) per power value of a CPU-bound function: 300 ms of CPU at one
    vCPU (1769 MB), a cold first invocation with 250 ms of init at the same share, a little jitter."""
    measurements = []
    for power in power_values:
        slowdown = 1769 / min(power, 1769)
        invocations = []
        for index in range(num):
            duration = 8 + 300 * slowdown + (index % 5) * 0.37
            if index == 0:
                duration += 250 * slowdown
            invocations.append((round(duration, 2), int(-(-duration // 1))))
        measurements.append((power, invocations))
    return measurements


def realistic_output(
    power_values: tuple[int, ...] | list[int] = DEFAULT_POWER_VALUES,
    num: int = 10,
    *,
    strategy: str = "cost",
    include_stats: bool = True,
) -> dict[str, Any]:
    """An Analyzer output as the tool would produce for ``cpu_bound_measurements`` (x86_64, us-east-1)."""
    return build_output(
        cpu_bound_measurements(power_values, num), strategy=strategy, include_stats=include_stats
    )


def asl_json(definition: dict[str, Any]) -> str:
    """JSON text of a definition that moto's ASL parser accepts (``2.1e-07`` → ``2.1e-7``)."""
    return _EXPONENT.sub(r"\1\2\3", json.dumps(definition))


def _map_of_executors(failing_sizes: tuple[int, ...] = (), error: str = "", cause: str = "") -> dict:
    """One Executor per power value, like the real Branching Map (its items carry the size as ``value``); the
    runner's progress counts them. The iterations of ``failing_sizes`` end in a Fail state instead."""
    executor: dict[str, Any] = {"StartAt": "Executor", "States": {"Executor": {"Type": "Pass", "End": True}}}
    if failing_sizes:
        executor = {
            "StartAt": "Executor",
            "States": {
                "Executor": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Or": [{"Variable": "$.value", "NumericEquals": size} for size in failing_sizes],
                            "Next": "InvocationError",
                        }
                    ],
                    "Default": "Measured",
                },
                "InvocationError": {"Type": "Fail", "Error": error, "Cause": cause},
                "Measured": {"Type": "Pass", "End": True},
            },
        }
    return {
        "Type": "Map",
        "ItemsPath": "$.powerValues",
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "input.$": "$"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **executor},
        "ResultPath": "$.stats",
        "Next": "Analyzer",
    }


_CLEAN_UP_ON_ERROR = {"Type": "Pass", "ResultPath": None, "OutputPath": None, "End": True}


def fake_definition(
    outcome: str = "success",
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    cause: str | None = None,
    failing_sizes: tuple[int, ...] = (),
    power_values: tuple[int, ...] | list[int] = DEFAULT_POWER_VALUES,
) -> str:
    """The ASL text of a fake whose executions end with ``outcome`` (one of OUTCOMES); ``size_*`` outcomes
    fail at ``failing_sizes`` and otherwise give the output of ``power_values`` without them."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if outcome.startswith("size_") and not failing_sizes:
        raise ValueError(f"outcome {outcome!r} needs failing_sizes")
    if outcome == "failed":
        states: dict[str, Any] = {
            "Initializer": {
                "Type": "Fail",
                "Error": error or DEFAULT_FAILED_ERROR,
                "Cause": cause or DEFAULT_FAILED_CAUSE,
            }
        }
    elif outcome == "caught_error":
        # Branching records the Executor's error where the real Map's Catch puts it ($.error), without a
        # failing branch (the size_* outcomes have those).
        caught = {"Error": error or DEFAULT_CAUGHT_ERROR, "Cause": cause or DEFAULT_CAUGHT_CAUSE}
        states = {
            "Initializer": {"Type": "Pass", "Next": "Branching"},
            "Branching": {
                "Type": "Pass",
                "Result": caught,
                "ResultPath": "$.error",
                "Next": "CleanUpOnError",
            },
            "CleanUpOnError": _CLEAN_UP_ON_ERROR,
        }
    else:
        working = [power for power in power_values if power not in failing_sizes]
        if output is None:  # when every size fails the Analyzer is never reached
            output = realistic_output(working, include_stats=outcome != "no_stats") if working else {}
        branching = _map_of_executors(
            failing_sizes, error or DEFAULT_CAUGHT_ERROR, cause or DEFAULT_SIZE_CAUSE
        )
        states = {
            "Initializer": {"Type": "Pass", "Next": "Branching"},
            "Branching": branching,
            "Analyzer": {"Type": "Pass", "Result": output, "ResultPath": "$.analysis", "Next": "Optimizer"},
            "Optimizer": {"Type": "Pass", "OutputPath": "$.analysis", "End": True},
        }
        if outcome == "size_caught":  # the real Map's Catch: the error goes to $.error, then CleanUpOnError
            branching["Catch"] = [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CleanUpOnError"}
            ]
            states["CleanUpOnError"] = _CLEAN_UP_ON_ERROR
    return asl_json({"Comment": f"Power Tuning fake: {outcome}", "StartAt": "Initializer", "States": states})


def _role(iam: Any, name: str) -> str:
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=_ROLE_POLICY)["Role"]["Arn"]


def create_fake_power_tuning(
    sfn: Any,
    iam: Any,
    outcome: str = "success",
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    cause: str | None = None,
    failing_sizes: tuple[int, ...] = (),
    power_values: tuple[int, ...] | list[int] = DEFAULT_POWER_VALUES,
    name: str | None = None,
) -> str:
    """Create the fake state machine (boto3 ``stepfunctions`` and ``iam`` clients); returns its ARN."""
    definition = fake_definition(
        outcome,
        output=output,
        error=error,
        cause=cause,
        failing_sizes=failing_sizes,
        power_values=power_values,
    )
    return sfn.create_state_machine(
        name=name or f"powerTuningFake-{outcome.replace('_', '-')}",
        definition=definition,
        roleArn=_role(iam, "power-tuning-fake-sfn"),
    )["stateMachineArn"]


def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def create_fake_function(
    lambda_client: Any, iam: Any, function_name: str = "crud-fn", memory_size: int = 256
) -> dict[str, Any]:
    """The tuned function with its ``live`` alias and log group name; returns stack-output-shaped facts."""
    role_arn = _role(iam, "crud-fn-role")
    function = lambda_client.create_function(
        FunctionName=function_name,
        Runtime="python3.13",
        Role=role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": _function_zip()},
        MemorySize=memory_size,
        Architectures=["x86_64"],
    )
    version = lambda_client.publish_version(FunctionName=function_name)["Version"]
    alias = lambda_client.create_alias(FunctionName=function_name, Name="live", FunctionVersion=version)
    return {
        "function_name": function_name,
        "function_arn": function["FunctionArn"],
        "alias_arn": alias["AliasArn"],
        "log_group_name": f"/aws/lambda/{function_name}",
        "memory_size": memory_size,
        "architecture": "x86_64",
        "region": REGION,
    }


def fake_stack_outputs(
    endpoint_url: str, lambda_client: Any, sfn: Any, iam: Any, outcome: str = "success", **fake: Any
) -> dict[str, Any]:
    """Stack outputs (the contract's keys) of a fake stack: function + fake state machine on
    ``endpoint_url``."""
    function = create_fake_function(lambda_client, iam)
    return {
        **function,
        "state_machine_arn": create_fake_power_tuning(sfn, iam, outcome, **fake),
        "table_name": "items",
        "api_url": "https://fake.execute-api.us-east-1.amazonaws.com/prod",
        "endpoint_url": endpoint_url,
    }


def queue_lambda_results(endpoint_url: str, results: list[Any], region: str = REGION) -> None:
    """Queue what moto's Lambda returns for the next invocations (one FIFO per account/region)."""
    body = json.dumps({"results": [json.dumps(r) for r in results], "region": region}).encode()
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/static/lambda-simple/response",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
