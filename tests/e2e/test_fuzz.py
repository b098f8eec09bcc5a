"""schemathesis against the running local stack, generated from api/openapi.yaml.

Bounded (few examples per operation, no deadline) so it stays well under a minute on 2 cores. Checks: no 5xx,
every response conforms to the spec (status code, content type, headers, schema), and the function logged no
unhandled exception while fuzzed (Lambda's ``Errors`` metric stays at 0, no traceback in the log group).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.e2e.served_stack import PROJECT_ROOT, ServedStack
from tests.support.contract_checks import CONTRACT_CHECKS

pytestmark = pytest.mark.slow


schema = schemathesis.openapi.from_path(PROJECT_ROOT / "api" / "openapi.yaml")


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_spec(case, served_stack: ServedStack) -> None:
    outputs = served_stack.outputs
    case.call_and_validate(
        base_url=outputs["api_url"], headers={"x-api-key": outputs["api_key"]}, checks=CONTRACT_CHECKS
    )


def test_fuzzing_raised_no_unhandled_exception_in_the_function(served_stack: ServedStack) -> None:
    """Runs after the fuzz cases (same module, declared later): the function's own record of them."""
    function = served_stack.outputs["function_name"]
    now = datetime.now(UTC)
    errors = served_stack.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=now - timedelta(hours=2),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    assert sum(point["SampleCount"] for point in errors) > 0  # the fuzzer's invocations were recorded
    assert sum(point["Sum"] for point in errors) == 0
    logs = served_stack.client("logs").filter_log_events(
        logGroupName=served_stack.outputs["log_group_name"], filterPattern="Traceback"
    )
    assert [event["message"] for event in logs["events"] if "Traceback" in event["message"]] == []
