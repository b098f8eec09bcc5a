"""Fault injection: the plan (switches, seeded draws, counts, logs, metrics) and the DynamoDB fault endpoint
in front of a real moto server, seen by a plain botocore client and checked on the table directly."""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from emulator.fault_proxy import FaultProxy
from emulator.faults import (
    FAULTS,
    METRIC,
    NAMESPACE,
    FaultMetrics,
    FaultPlan,
    fault_argument,
    latency_argument,
    percent_argument,
    seed_argument,
)
from emulator.moto_server import MotoServer
from emulator.table_setup import create_table

# --- switches -------------------------------------------------------------------------------------------


def test_fault_switch_reads_name_and_percent() -> None:
    assert fault_argument("dynamodb-throttle=5") == ("dynamodb-throttle", 5.0)
    assert fault_argument("dynamodb-lost-response=0.5") == ("dynamodb-lost-response", 0.5)
    assert fault_argument("dynamodb-error=100") == ("dynamodb-error", 100.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dynamo-throttle=5", "unknown fault 'dynamo-throttle'; choose one of dynamodb-throttle,"),
        ("dynamodb-throttle", "give a percentage from 0 to 100 (e.g. dynamodb-throttle=5), not ''"),
        ("dynamodb-throttle=101", "not '101'"),
        ("dynamodb-throttle=-1", "not '-1'"),
        ("dynamodb-throttle=nan", "not 'nan'"),
        ("dynamodb-throttle=five", "not 'five'"),
    ],
)
def test_bad_fault_switches_say_what_to_give(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        fault_argument(text)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("parse", "text"),
    [(percent_argument, "120"), (seed_argument, "-3"), (seed_argument, "1.5"), (latency_argument, "60001")],
)
def test_bad_numbers_are_refused(parse: Any, text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


def test_a_plan_refuses_what_the_switches_refuse() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan({"disk-full": 5})
    with pytest.raises(ValueError, match="percentage"):
        FaultPlan({"dynamodb-error": 150})
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan({}).fire("lambda-crahs")


# --- the plan -------------------------------------------------------------------------------------------


def _draws(plan: FaultPlan, name: str, count: int) -> list[bool]:
    return [plan.fire(name) for _ in range(count)]


def test_a_seed_repeats_each_faults_draws_whatever_the_others_drew() -> None:
    rates = {"dynamodb-throttle": 30, "dynamodb-error": 30}
    alone = _draws(FaultPlan(rates, seed=7), "dynamodb-throttle", 200)
    mixed = FaultPlan(rates, seed=7)
    interleaved = []
    for _ in range(200):
        mixed.fire("dynamodb-error")  # draws of another fault do not shift this one's
        interleaved.append(mixed.fire("dynamodb-throttle"))
    assert interleaved == alone
    assert _draws(FaultPlan(rates, seed=8), "dynamodb-throttle", 200) != alone


def test_percentages_are_kept_and_zero_and_hundred_are_exact() -> None:
    plan = FaultPlan({"dynamodb-throttle": 10, "dynamodb-error": 100}, seed=1)
    fired = sum(_draws(plan, "dynamodb-throttle", 10_000))
    assert 800 <= fired <= 1200
    assert all(_draws(plan, "dynamodb-error", 100))
    assert not any(_draws(plan, "dynamodb-lost-response", 100))  # not asked for: never
    assert plan.counts() == {**dict.fromkeys(FAULTS, 0), "dynamodb-throttle": fired, "dynamodb-error": 100}


def test_counts_are_exact_under_concurrent_draws() -> None:
    plan = FaultPlan({"dynamodb-lost-response": 50}, seed=3)
    fired = []

    def draw() -> None:
        fired.append(sum(_draws(plan, "dynamodb-lost-response", 2_000)))

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert plan.counts()["dynamodb-lost-response"] == sum(fired)


def test_each_injected_fault_is_logged_and_summarised(caplog: pytest.LogCaptureFixture) -> None:
    plan = FaultPlan({"dynamodb-error": 100, "dynamodb-throttle": 0}, seed=5)
    with caplog.at_level(logging.WARNING, logger="emulator.faults"):
        plan.fire("dynamodb-error", "PutItem")
        plan.fire("dynamodb-throttle", "GetItem")
    assert [record.getMessage() for record in caplog.records] == ["fault injected: dynamodb-error (PutItem)"]
    assert plan.summary() == "faults injected: 1 (dynamodb-error 1; seed 5)"
    assert plan.active
    assert not FaultPlan({"dynamodb-error": 0}).active


# --- the DynamoDB fault endpoint ------------------------------------------------------------------------


@pytest.fixture
def moto(moto_server: MotoServer) -> str:
    moto_server.reset()
    create_table(_client(moto_server.endpoint_url), "t")
    return moto_server.endpoint_url


def _client(endpoint_url: str, *, attempts: int = 1) -> Any:
    """A botocore client that shows each attempt's outcome (no retries unless asked)."""
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts}, read_timeout=5)
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name="us-east-1", config=config)


def _stored(endpoint_url: str, item_id: str) -> dict | None:
    return _client(endpoint_url).get_item(TableName="t", Key={"id": {"S": item_id}}).get("Item")


def _put(client: Any, item_id: str) -> dict:
    return client.put_item(TableName="t", Item={"id": {"S": item_id}})


@pytest.mark.parametrize(
    ("fault", "status", "codes"),
    [
        ("dynamodb-throttle", 400, {"ThrottlingException", "ProvisionedThroughputExceededException"}),
        ("dynamodb-error", 500, {"InternalServerError"}),
    ],
)
def test_refusals_come_before_the_operation(moto: str, fault: str, status: int, codes: set[str]) -> None:
    plan = FaultPlan({fault: 100}, seed=2)
    seen = set()
    with FaultProxy(moto, plan) as proxy:
        client = _client(proxy.endpoint_url)
        for index in range(6):
            with pytest.raises(ClientError) as refused:
                _put(client, f"a{index}")
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
            seen.add(refused.value.response["Error"]["Code"])
    assert seen == codes  # both throttling errors DynamoDB uses do occur
    assert all(_stored(moto, f"a{index}") is None for index in range(6))  # nothing was applied
    assert plan.counts()[fault] == 6


def test_a_lost_response_applies_the_write_and_drops_the_connection(moto: str) -> None:
    plan = FaultPlan({"dynamodb-lost-response": 100}, seed=2)
    with FaultProxy(moto, plan) as proxy:
        client = _client(proxy.endpoint_url)
        with pytest.raises(ConnectionClosedError):
            _put(client, "lost")
        assert _stored(moto, "lost") == {"id": {"S": "lost"}}  # the write happened
        assert client.get_item(TableName="t", Key={"id": {"S": "lost"}})["Item"]  # reads are answered
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):  # a failed write is not "applied"
            client.put_item(
                TableName="t", Item={"id": {"S": "lost"}}, ConditionExpression="attribute_not_exists(id)"
            )
    assert plan.counts()["dynamodb-lost-response"] == 1


def test_without_faults_answers_pass_unchanged(moto: str) -> None:
    """DynamoDB's answers carry a CRC32 of the body, which botocore checks: the proxy must not alter them."""
    with FaultProxy(moto, FaultPlan({}), latency_ms=1) as proxy:
        client = _client(proxy.endpoint_url)
        _put(client, "plain")
        assert client.get_item(TableName="t", Key={"id": {"S": "plain"}})["Item"] == {"id": {"S": "plain"}}
        assert client.list_tables()["TableNames"] == ["t", "t-idempotency"]


def test_counts_reach_cloudwatch_in_the_emulators_namespace(moto: str) -> None:
    plan = FaultPlan({"dynamodb-error": 100}, seed=1)
    cloudwatch = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1")
    metrics = FaultMetrics(plan, cloudwatch, interval_s=3600)  # published by hand below, not by the timer
    for _ in range(3):
        plan.fire("dynamodb-error")
    metrics.publish()
    plan.fire("dynamodb-error")
    metrics.publish()
    metrics.publish()  # nothing new: no datum
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]
    assert [metric["Dimensions"] for metric in listed] == [[{"Name": "Fault", "Value": "dynamodb-error"}]]
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "faults",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": METRIC,
                        "Dimensions": listed[0]["Dimensions"],
                    },
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime="2000-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
    )
    assert sum(data["MetricDataResults"][0]["Values"]) == 4
