"""Reading back the AWS/Lambda metrics the local stack publishes, as the notebook does (get_metric_data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def lambda_metric_sum(cloudwatch: Any, function_name: str, metric: str, resource: str | None = None) -> float:
    """Sum of ``metric`` over the last two hours for exactly {FunctionName} or {FunctionName, Resource}."""
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    if resource is not None:
        dimensions.append({"Name": "Resource", "Value": resource})
    now = datetime.now(UTC)
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dimensions},
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=now - timedelta(hours=2),
        EndTime=now + timedelta(minutes=5),
    )
    return sum(result["MetricDataResults"][0]["Values"])
