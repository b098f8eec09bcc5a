"""Idempotency-Key on POST /items: a repeat gets the first answer and makes no second item; the same key on
another request is a 422; a key still in flight is a 409; bad keys are 400s; no key changes nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
import store

from api.names import IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name

KEY = {"Idempotency-Key": "order-7f3a"}


def _items(raw_table: Any) -> list[dict]:
    return raw_table.scan(ConsistentRead=True)["Items"]


def test_a_repeat_gets_the_first_answer_and_makes_no_second_item(api, raw_table) -> None:
    first = api.post("/items", {"name": "one", "qty": 1.5}, headers=KEY)
    again = api.post("/items", {"name": "one", "qty": 1.5}, headers=KEY)
    assert (first.status, again.status) == (201, 201)
    assert again.json == first.json
    for header in ("ETag", "Location"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [item["id"] for item in _items(raw_table)] == [first.json["id"]]


def test_the_body_is_compared_as_a_document_not_as_text(api, raw_table) -> None:
    first = api.post("/items", {"name": "a", "size": 2}, headers=KEY)
    again = api.request("POST", "/items", raw='{ "size" : 2, "name":"a" }', headers=KEY)
    assert again.status == 201
    assert again.json["id"] == first.json["id"]
    assert len(_items(raw_table)) == 1


def test_the_same_key_on_another_request_is_422_naming_the_key(api, raw_table) -> None:
    assert api.post("/items", {"name": "one"}, headers=KEY).status == 201
    other = api.post("/items", {"name": "two"}, headers=KEY)
    assert other.status == 422
    assert other.headers["Content-Type"] == "application/problem+json"
    assert "order-7f3a" in other.json["detail"]
    assert len(_items(raw_table)) == 1


@pytest.mark.parametrize("key", ["", " ", "a" * 256, "é", "tab\there", "new\nline"])
def test_a_malformed_key_is_400_and_writes_nothing(api, raw_table, key: str) -> None:
    for request in (
        lambda: api.post("/items", {"name": "x"}, headers={"Idempotency-Key": key}),
        lambda: api.patch("/items/x", {"name": "x"}, headers={"Idempotency-Key": key}),
        lambda: api.delete("/items/x", headers={"Idempotency-Key": key}),
    ):
        reply = request()
        assert reply.status == 400
        assert "Idempotency-Key" in reply.json["detail"]
    assert _items(raw_table) == []


def test_the_longest_key_is_accepted(api, raw_table) -> None:
    assert api.post("/items", {"name": "x"}, headers={"Idempotency-Key": "k" * 255}).status == 201


def test_without_a_key_every_post_makes_an_item(api, raw_table) -> None:
    first, second = (api.post("/items", {"name": "same"}) for _ in range(2))
    assert first.json["id"] != second.json["id"]
    assert len(_items(raw_table)) == 2


def test_callers_with_other_credentials_never_share_a_key(api, raw_table) -> None:
    def as_caller(key_id: str) -> Any:
        changes = {
            "requestContext": {"path": "/prod/items", "stage": "prod", "identity": {"apiKeyId": key_id}}
        }
        return api.post("/items", {"name": "n"}, headers=KEY, event_changes=changes)

    alice, bob = as_caller("alice-key-id"), as_caller("bob-key-id")
    assert alice.json["id"] != bob.json["id"]
    assert as_caller("alice-key-id").json["id"] == alice.json["id"]
    assert len(_items(raw_table)) == 2


def test_a_record_past_its_retention_no_longer_counts(api, raw_table, monkeypatch) -> None:
    monkeypatch.setenv("IDEMPOTENCY_TTL_HOURS", "24")
    first = api.post("/items", {"name": "old"}, headers=KEY)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 23 * 3600)
    assert api.post("/items", {"name": "old"}, headers=KEY).json["id"] == first.json["id"]
    monkeypatch.setattr(time, "time", lambda: now + 24 * 3600 + 5)  # TTL would delete it later still
    later = api.post("/items", {"name": "old"}, headers=KEY)
    assert later.status == 201
    assert later.json["id"] != first.json["id"]
    assert len(_items(raw_table)) == 2


def test_records_live_in_their_own_table_and_never_in_a_listing(api, raw_table, mocked_dynamodb) -> None:
    made = api.post("/items", {"name": "listed"}, headers=KEY).json
    assert [item["id"] for item in api.get("/items").json["items"]] == [made["id"]]
    records = mocked_dynamodb.Table(idempotency_table_name(raw_table.name)).scan()["Items"]
    assert len(records) == 1
    record = records[0]
    assert "order-7f3a" not in str(record)  # the key is stored hashed with the caller, never as sent
    assert int(record["expiresAt"]) - int(record["createdAt"]) == 24 * 3600


class _Conflicting:
    """The function's client, whose transactions meet another transaction on the same key."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        if name != "transact_write_items":
            return getattr(self.client, name)

        def conflict(**_: Any) -> None:
            from botocore.exceptions import ClientError

            reasons = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing"}]
            error = {"Error": {"Code": "TransactionCanceledException", "Message": "canceled"}}
            raise ClientError({**error, "CancellationReasons": reasons}, "TransactWriteItems")

        return conflict


def test_a_repeat_while_the_first_is_in_flight_is_409_with_retry_after(api, raw_table, monkeypatch) -> None:
    conflicting = _Conflicting(store.client())
    monkeypatch.setattr(store, "client", lambda: conflicting)
    reply = api.post("/items", {"name": "busy"}, headers=KEY)
    assert reply.status == 409
    assert reply.headers["Retry-After"] == "1"
    assert "still being processed" in reply.json["detail"]


def test_the_tutorial_create_ignores_the_header(api, raw_table) -> None:
    event = {"operation": "create", "payload": {"Item": {"id": "t1"}}}
    assert api.post("/DynamoDBManager", event, headers=KEY).status == 200
    assert api.post("/DynamoDBManager", event, headers=KEY).status == 409  # no replay there


def test_a_missing_records_table_is_a_500_that_names_the_variable_in_the_log(
    api, monkeypatch, capsys
) -> None:
    monkeypatch.delenv(IDEMPOTENCY_TABLE_VARIABLE)  # the emulator's and Pulumi's spelling is the function's
    reply = api.post("/items", {"name": "x"}, headers=KEY)
    assert reply.status == 500
    assert IDEMPOTENCY_TABLE_VARIABLE in capsys.readouterr().out
