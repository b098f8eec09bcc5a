"""The emulator's moto server: what it adds to moto, and that it always goes away."""

from __future__ import annotations

import os
import signal
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from emulator.moto_server import (
    NOT_A_NUMBER,
    NUMBER_OVERFLOW,
    NUMBER_UNDERFLOW,
    MotoServer,
    dynamodb_sum,
)
from emulator.table_setup import table_definition


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
    with pytest.raises(RuntimeError, match=r"moto server did not start on 203\.0\.113\.1") as raised:
        server.start()
    message = str(raised.value)
    assert "it exited with code 1 during start" in message
    assert "Cannot assign requested address" in message  # the child's own error, from its stderr


def _fake_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Start ``script`` (sh) in place of the moto child: MotoServer runs ``sys.executable -m ...``."""
    child = tmp_path / "child.sh"
    child.write_text(f"#!/bin/sh\n{script}\n")
    child.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(child))


def test_a_child_killed_by_a_signal_during_start_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_child(tmp_path, monkeypatch, "kill -KILL $$")  # what the out-of-memory killer does
    with pytest.raises(RuntimeError) as raised:
        MotoServer().start()
    assert str(raised.value) == (
        "moto server did not start on 127.0.0.1:0: it was killed by SIGKILL during start "
        "(often the kernel's out-of-memory killer: see `dmesg`)"
    )


def test_a_child_that_exits_during_start_gives_its_code_and_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_child(tmp_path, monkeypatch, "echo 'ModuleNotFoundError: flask' >&2; exit 3")
    with pytest.raises(RuntimeError) as raised:
        MotoServer().start()
    assert str(raised.value) == (
        "moto server did not start on 127.0.0.1:0: it exited with code 3 during start; "
        "its stderr: ModuleNotFoundError: flask"
    )


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


@pytest.mark.parametrize(
    ("left", "right", "subtract", "result"),
    [
        ("1E+2", "1", False, "101"),  # moto's int("1E+2") crashed here
        ("1E-7", "1E-7", False, "0.0000002"),
        ("1.50", "1", False, "2.5"),
        ("9E+125", "0", False, "9" + "0" * 125),  # 38 digits of precision, not of length
        ("-1", "1", False, "0"),
        ("10000000000000000000000", "1", True, "9999999999999999999999"),
        ("2E-130", "1E-130", True, "0." + "0" * 129 + "1"),  # 1E-130, the smallest magnitude
    ],
)
def test_dynamodb_sums_are_exact_and_plainly_written(
    left: str, right: str, subtract: bool, result: str
) -> None:
    assert dynamodb_sum(left, right, subtract=subtract) == result


@pytest.mark.parametrize(
    ("left", "right", "subtract", "message"),
    [
        ("9E+125", "9E+125", False, NUMBER_OVERFLOW),  # 1.8E+126
        ("-9E+125", "9E+125", True, NUMBER_OVERFLOW),
        ("1E+50", "1", True, NUMBER_OVERFLOW),  # 50 significant digits: DynamoDB calls it an overflow
        ("1.1E-130", "1E-130", True, NUMBER_UNDERFLOW),  # 1E-131
        ("1", "1E+100000000", False, NUMBER_OVERFLOW),  # refused at once, not computed digit by digit
        ("one", "1", False, NOT_A_NUMBER),
    ],
)
def test_dynamodb_sums_outside_its_numbers_are_refused_with_its_message(
    left: str, right: str, subtract: bool, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dynamodb_sum(left, right, subtract=subtract)


def test_a_write_that_fails_halfway_leaves_no_trace(moto_endpoint: str) -> None:
    """moto applies SET, then crashes on REMOVE of a path under it: the request must change nothing, whether
    the item existed (its attributes stay) or not (it is not created)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    dynamodb.create_table(TableName="t", **table_definition())
    dynamodb.put_item(TableName="t", Item={"id": {"S": "a"}, "v": {"N": "1"}, "d": {"M": {"l": {"S": "x"}}}})
    halfway = {
        "UpdateExpression": "SET #d = :v, #n = #n + :one REMOVE #d.#l",
        "ExpressionAttributeNames": {"#d": "d", "#l": "l", "#n": "v"},
        "ExpressionAttributeValues": {":v": {"S": "y"}, ":one": {"N": "1"}},
    }
    for key in ("a", "absent"):
        with pytest.raises(dynamodb.exceptions.ClientError, match="ValidationException"):
            dynamodb.update_item(TableName="t", Key={"id": {"S": key}}, **halfway)
    items = dynamodb.scan(TableName="t")["Items"]
    assert items == [{"id": {"S": "a"}, "v": {"N": "1"}, "d": {"M": {"l": {"S": "x"}}}}]


@pytest.mark.parametrize("method", ["OPTIONS", "GET"])
def test_a_web_page_of_another_origin_is_not_allowed_to_read_the_emulator(
    moto_endpoint: str, method: str
) -> None:
    request = urllib.request.Request(
        moto_endpoint + "/moto-api/data.json",
        method=method,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = response.headers
    except urllib.error.HTTPError as error:
        headers = error.headers
    assert headers.get("Access-Control-Allow-Origin") is None
