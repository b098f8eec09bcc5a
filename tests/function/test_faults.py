"""The function under DynamoDB faults, end to end: its botocore client talks to the emulator's fault endpoint
in front of the moto server, whose conditional writes are atomic, and the table is checked directly.

The hard case is a lost response: the write is applied, the answer never arrives, botocore sends it again
and that copy's condition fails. The function must then answer for what happened — the write was made
(2xx), it was not (4xx), or it cannot tell (502 outcome unknown) — and never apply it twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import app
import boto3
import pytest
import store

from api.names import IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name
from emulator.fault_proxy import FaultProxy
from tests.function.conftest import TABLE, Api, create_table

pytestmark = pytest.mark.slow


class ScriptedFaults:
    """Stands in for the emulator's FaultPlan: ``plan["dynamodb-error"] = 2`` fires that fault on its next two
    draws, ``plan["dynamodb-error:PutItem"] = 1`` on the next PutItem only; ``drawn`` counts the draws (every
    DynamoDB request draws dynamodb-throttle first)."""

    def __init__(self) -> None:
        self.planned: Counter[str] = Counter()
        self.drawn: Counter[str] = Counter()

    def __setitem__(self, name: str, times: int) -> None:
        self.planned[name] = times

    def fire(self, name: str, where: str = "") -> bool:
        self.drawn[name] += 1
        for key in (f"{name}:{where}", name):
            if self.planned[key] > 0:
                self.planned[key] -= 1
                return True
        return False

    def choose(self, name: str, options: list[Any]) -> Any:
        return options[0]


@dataclass
class Faulty:
    api: Api
    faults: ScriptedFaults
    table: Any  # the operator's view: straight to the moto server, never through the faults

    def stored(self, item_id: str) -> dict | None:
        return self.table.get_item(Key={"id": item_id}, ConsistentRead=True).get("Item")

    def between_attempts(self, operation: str, action: Any) -> None:
        """Run ``action`` once, after the function's first attempt of ``operation`` and before its retry."""
        done = []

        def once(**_: Any) -> None:
            if not done:
                done.append(True)  # before the action: it may call the function, whose attempts land here too
                action()

        store.client().meta.events.register(f"needs-retry.dynamodb.{operation}", once)


@pytest.fixture
def faulty(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faulty]:
    create_table(boto3.client("dynamodb"), TABLE)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv(IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name(TABLE))
    faults = ScriptedFaults()
    with FaultProxy(moto_endpoint, faults) as proxy:  # type: ignore[arg-type]
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint_url)
        store.reset_client()
        try:
            table = boto3.resource("dynamodb", endpoint_url=moto_endpoint).Table(TABLE)
            yield Faulty(Api(), faults, table)
        finally:
            store.reset_client()


def test_lost_response_of_an_if_match_put_is_answered_200_and_applied_once(faulty):
    created = faulty.api.put("/items/a", {"n": 0})
    faulty.faults["dynamodb-lost-response"] = 1
    reply = faulty.api.put("/items/a", {"n": 1}, headers={"If-Match": created.headers["ETag"]})
    assert reply.status == 200, reply.text
    assert reply.json["version"] == 2
    assert faulty.faults.planned["dynamodb-lost-response"] == 0  # the fault did happen
    stored = faulty.stored("a")
    assert (stored["n"], stored["version"]) == (1, 2)


def test_lost_response_of_a_patch_without_if_match_is_not_applied_twice(faulty):
    faulty.api.put("/items/a", {"n": 0})
    faulty.faults["dynamodb-lost-response"] = 1
    reply = faulty.api.patch("/items/a", {"n": 1}, headers={"Content-Type": "application/merge-patch+json"})
    assert reply.status == 200, reply.text
    assert faulty.stored("a")["version"] == 2 == reply.json["version"]


def test_lost_response_of_a_create_is_answered_201_not_409(faulty):
    faulty.faults["dynamodb-lost-response"] = 1
    reply = faulty.api.post("/items", {"id": "new", "n": 1})
    assert reply.status == 201, reply.text
    assert faulty.stored("new")["version"] == 1
    assert faulty.faults.planned["dynamodb-lost-response"] == 0


def test_lost_response_of_a_delete_is_an_unknown_outcome_and_the_item_is_gone(faulty):
    faulty.api.put("/items/a", {"n": 0})
    faulty.faults["dynamodb-lost-response"] = 1
    reply = faulty.api.delete("/items/a")
    assert reply.status == 502
    assert reply.json["detail"] == store.OUTCOME_UNKNOWN_DETAIL
    assert faulty.stored("a") is None
    assert faulty.api.get("/items/a").status == 404  # what the client is told to do next settles it


def test_a_concurrent_write_between_a_lost_attempt_and_its_retry_is_kept_and_the_outcome_is_unknown(faulty):
    created = faulty.api.put("/items/a", {"n": 0})

    def other_writer() -> None:  # read-modify-write on top of the lost (but applied) write, as a client would
        current = faulty.stored("a")
        faulty.table.put_item(
            Item={**current, "other": True, "version": current["version"] + 1},
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":v": current["version"]},
        )

    faulty.between_attempts("PutItem", other_writer)
    faulty.faults["dynamodb-lost-response"] = 1
    reply = faulty.api.put("/items/a", {"n": 1}, headers={"If-Match": created.headers["ETag"]})
    assert reply.status == 502, (
        reply.text
    )  # never 412: the write was made; never 200: the function cannot know
    stored = faulty.stored("a")
    assert (stored["n"], stored["other"], stored["version"]) == (1, True, 3)  # each write applied once


def test_a_conflict_after_a_failed_attempt_is_412_when_the_other_write_holds_the_next_version(faulty):
    created = faulty.api.put("/items/a", {"n": 0})
    faulty.between_attempts("PutItem", lambda: faulty.api.put("/items/a", {"n": 5}))
    faulty.faults["dynamodb-error:PutItem"] = 1  # a 500: the first attempt's outcome is unknown to it
    reply = faulty.api.put("/items/a", {"n": 1}, headers={"If-Match": created.headers["ETag"]})
    assert reply.status == 412, reply.text  # version 2 is the other write's, so this one was never made
    stored = faulty.stored("a")
    assert (stored["n"], stored["version"]) == (5, 2)


def test_tutorial_update_is_not_sent_again_after_a_lost_response(faulty):
    faulty.api.post("/DynamoDBManager", {"operation": "create", "payload": {"Item": {"id": "c", "n": 0}}})
    faulty.faults["dynamodb-lost-response"] = 1
    reply = faulty.api.post(
        "/DynamoDBManager",
        {
            "operation": "update",
            "payload": {
                "Key": {"id": "c"},
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": 1},
            },
        },
    )
    assert reply.status == 502
    assert reply.json["errorType"] == "OutcomeUnknown"
    stored = faulty.stored("c")
    assert (stored["n"], stored["version"]) == (1, 2)  # applied once: a repeat would have added 1 again


def test_throttling_on_every_attempt_is_503_with_retry_after_and_changes_nothing(faulty):
    faulty.api.put("/items/a", {"n": 0})
    sent_before = faulty.faults.drawn["dynamodb-throttle"]
    faulty.faults["dynamodb-throttle"] = 100
    reply = faulty.api.put("/items/a", {"n": 1})
    assert reply.status == 503
    assert reply.headers["Retry-After"] == store.RETRY_AFTER_SECONDS
    attempts = faulty.faults.drawn["dynamodb-throttle"] - sent_before
    assert attempts == store.client().meta.config.retries["total_max_attempts"]  # bounded
    assert faulty.stored("a")["n"] == 0


def test_a_server_error_on_every_attempt_is_502_and_changes_nothing(faulty):
    faulty.api.put("/items/a", {"n": 0})
    faulty.faults["dynamodb-error"] = 100
    reply = faulty.api.get("/items/a")
    assert reply.status == 502
    assert "unknown" not in reply.text  # a read: nothing to be unsure about
    assert faulty.stored("a")["n"] == 0


class Deadline:
    """A Lambda context with a fixed time budget at the start of the invocation."""

    aws_request_id = "deadline"

    def __init__(self, remaining_s: float) -> None:
        self.remaining_ms = int(remaining_s * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _attempt_budget_s() -> float:
    return store.CLIENT_CONFIG.connect_timeout + store.CLIENT_CONFIG.read_timeout + store.ANSWER_MARGIN_S


def test_no_attempt_starts_that_could_outlast_the_function(faulty):
    event = {"operation": "read", "payload": {"Key": {"id": "a"}}}
    result = app.lambda_handler(event, Deadline(_attempt_budget_s() - 0.1))
    assert result["status"] == 502
    assert faulty.faults.drawn["dynamodb-throttle"] == 0  # nothing was sent


def test_no_retry_starts_that_could_outlast_the_function(faulty, moto_endpoint, monkeypatch):
    faulty.faults["dynamodb-throttle"] = 100
    attempt_s = 0.8 * store.CLIENT_CONFIG.read_timeout  # each attempt takes this long, within the timeout
    with FaultProxy(moto_endpoint, faulty.faults, latency_ms=int(attempt_s * 1000)) as slow:  # type: ignore[arg-type]
        monkeypatch.setenv("AWS_ENDPOINT_URL", slow.endpoint_url)
        store.client()  # built now, not on the invocation's clock
        event = {"operation": "read", "payload": {"Key": {"id": "a"}}}
        # Time for one attempt, with half an attempt to spare; after it less than one attempt's worst case
        # is left, so the throttled read is not retried.
        result = app.lambda_handler(event, Deadline(_attempt_budget_s() + attempt_s / 2))
    assert result["status"] == 503  # the last answer DynamoDB gave was throttling
    assert faulty.faults.drawn["dynamodb-throttle"] == 1


def test_a_keyed_create_whose_answer_was_lost_is_answered_201_and_made_once(faulty):
    faulty.faults["dynamodb-lost-response:TransactWriteItems"] = 1
    first = faulty.api.post("/items", {"name": "lost"}, headers={"Idempotency-Key": "lost-once-1"})
    assert first.status == 201, first.json
    assert faulty.faults.planned["dynamodb-lost-response:TransactWriteItems"] == 0  # the fault did happen
    again = faulty.api.post("/items", {"name": "lost"}, headers={"Idempotency-Key": "lost-once-1"})
    assert again.status == 201
    assert again.json == first.json
    assert faulty.stored(first.json["id"])["version"] == 1


def test_a_keyed_create_answered_outcome_unknown_gets_the_true_answer_on_retry(faulty):
    # two attempts fail with a 500 (outcome unknown), the third is applied and its answer lost
    faulty.faults["dynamodb-error:TransactWriteItems"] = 2
    faulty.faults["dynamodb-lost-response:TransactWriteItems"] = 1
    lost = faulty.api.post("/items", {"name": "unknown"}, headers={"Idempotency-Key": "lost-all-1"})
    assert lost.status == 502
    assert "may or may not have been made" in lost.json["detail"]
    retry = faulty.api.post("/items", {"name": "unknown"}, headers={"Idempotency-Key": "lost-all-1"})
    assert retry.status == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert faulty.stored(retry.json["id"])["name"] == "unknown"
