"""The emulator's moto server: what it adds to moto, and that it always goes away."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from emulator.moto_server import MotoServer


def _percentile(cloudwatch, stat: str, start: datetime) -> list[float]:
    query = {
        "Id": "m1",
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
            },
            "Period": 3600,
            "Stat": stat,
        },
    }
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[query], StartTime=start, EndTime=start + timedelta(hours=1)
    )
    return result["MetricDataResults"][0]["Values"]


def test_get_metric_data_answers_percentiles_by_nearest_rank(moto_endpoint: str) -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
                "Value": float(value),
                "Timestamp": start + timedelta(minutes=1),
            }
            for value in (7, 3, 10, 1, 5, 9, 2, 8, 4, 6)  # 1..10, shuffled
        ],
    )
    # nearest rank over 10 values: p50 → 5th smallest, p90 → 9th, p99 → 10th; plain moto crashes on these
    assert _percentile(cloudwatch, "p50", start) == [5.0]
    assert _percentile(cloudwatch, "p90", start) == [9.0]
    assert _percentile(cloudwatch, "p99", start) == [10.0]
    assert _percentile(cloudwatch, "Average", start) == [5.5]


def test_child_survives_ctrl_c_of_its_process_group_and_stops_on_request() -> None:
    server = MotoServer()
    server.start()
    try:
        pid = server._process.pid  # the child process behind the endpoint
        os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to every process of the group
        dynamodb = boto3.client("dynamodb", endpoint_url=server.endpoint_url)
        assert dynamodb.list_tables()["TableNames"] == []  # still serving: the parent can flush to it
    finally:
        server.stop()
    assert server._process.poll() is not None


def test_reset_drops_resources_but_keeps_the_server(moto_endpoint: str, moto_server: MotoServer) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    dynamodb.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    moto_server.reset()
    assert dynamodb.list_tables()["TableNames"] == []


def test_a_server_that_cannot_start_says_why() -> None:
    server = MotoServer(host="203.0.113.1")  # TEST-NET-3: not an address of this machine, bind must fail
    with pytest.raises(RuntimeError, match=r"moto server did not start on 203\.0\.113\.1"):
        server.start()


def test_malformed_expressions_are_validation_errors_as_on_dynamodb(moto_endpoint: str) -> None:
    from botocore.config import Config
    from botocore.exceptions import ClientError

    dynamodb = boto3.client(
        "dynamodb", endpoint_url=moto_endpoint, config=Config(retries={"max_attempts": 1})
    )
    dynamodb.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"id": {"S": "a"}}
    for expression in ("OR OR", "(" * 1000 + "attribute_exists(id)" + ")" * 1000):  # plain moto: HTTP 500
        with pytest.raises(ClientError) as raised:
            dynamodb.put_item(TableName="t", Item=item, ConditionExpression=expression)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # moto's own answers are untouched
    dynamodb.put_item(TableName="t", Item=item, ConditionExpression="attribute_not_exists(id)")
    with pytest.raises(ClientError, match="ConditionalCheckFailedException"):
        dynamodb.put_item(TableName="t", Item=item, ConditionExpression="attribute_not_exists(id)")
