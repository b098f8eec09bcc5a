"""Edge cases found by running the tutorial endpoint against a second DynamoDB implementation (dynalite):
the expression length once the server has added its own, and, against the emulator's moto server, numbers in
exponent form and requests that fail halfway."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import store

LIMIT = 4096  # DynamoDB's limit for any expression string, in bytes


def expression_of(size: int) -> str:
    """``SET a000xx… = :v, …`` of exactly ``size`` bytes."""
    clauses: list[str] = []
    while size - len("SET " + ", ".join(clauses)) > 300:
        clauses.append(f"a{len(clauses):03d}{'x' * 100} = :v")
    taken = len("SET " + ", ".join([*clauses, ""]))
    clauses.append("z" * (size - taken - len(" = :v")) + " = :v")
    expression = "SET " + ", ".join(clauses)
    assert len(expression.encode()) == size
    return expression


class Recorder:
    """The function's DynamoDB client, with every call's parameters kept."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**params: Any) -> Any:
            self.calls.append((operation, params))
            return getattr(self.client, operation)(**params)

        return call


@pytest.fixture
def sent(api: Any, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder(store.client())
    monkeypatch.setattr(store, "client", lambda: recorder)
    return recorder


def update(api: Any, **payload: Any) -> Any:
    event = {"operation": "update", "payload": {"Key": {"id": "e"}, **payload}}
    return api.post("/DynamoDBManager", event)


def test_an_update_expression_is_refused_by_the_function_before_the_server_additions_overflow(
    api: Any, sent: Recorder
) -> None:
    assert (
        api.post("/DynamoDBManager", {"operation": "create", "payload": {"Item": {"id": "e"}}}).status == 200
    )
    values = {"ExpressionAttributeValues": {":v": 1}}
    assert update(api, UpdateExpression=expression_of(1000), **values).status == 200
    added = len(sent.calls[-1][1]["UpdateExpression"]) - 1000  # what the server adds, as measured
    assert added > 0
    assert update(api, UpdateExpression=expression_of(LIMIT - added), **values).status == 200
    assert len(sent.calls[-1][1]["UpdateExpression"]) == LIMIT  # DynamoDB's limit, reached and not passed
    calls = len(sent.calls)
    for size in (LIMIT - added + 1, LIMIT):  # a 4,096-byte expression used to be sent, as 4,096 + added bytes
        reply = update(api, UpdateExpression=expression_of(size), **values)
        assert reply.status == 400
        assert reply.json["errorMessage"].startswith("UpdateExpression is ")  # the function's own words
        assert f"and the server adds {added} of its own" in reply.json["errorMessage"]
    assert len(sent.calls) == calls  # nothing reached DynamoDB


def test_a_condition_expression_is_refused_before_the_server_existence_check_overflows(
    api: Any, sent: Recorder
) -> None:
    condition = "attribute_not_exists(" + "c" * (LIMIT - len("attribute_not_exists()")) + ")"
    guarded_update = {
        "Key": {"id": "e"},
        "UpdateExpression": "SET a = :v",
        "ConditionExpression": condition,
        "ExpressionAttributeValues": {":v": 1},
    }
    for event in (
        {"operation": "delete", "payload": {"Key": {"id": "e"}, "ConditionExpression": condition}},
        {"operation": "update", "payload": guarded_update},
    ):
        reply = api.post("/DynamoDBManager", event)
        assert reply.status == 400
        assert reply.json["errorMessage"].startswith("ConditionExpression is ")
    assert sent.calls == []


# --- against the emulator's moto server ------------------------------------------------------------------


def rpc_raw(server_api: Any, text: str) -> Any:
    """A tutorial request written as JSON text (numbers such as 1E+2 stay as written)."""
    return server_api.post("/DynamoDBManager", raw=text)


def read(server_api: Any, item_id: str) -> dict:
    event = {"operation": "read", "payload": {"Key": {"id": item_id}, "ConsistentRead": True}}
    return server_api.post("/DynamoDBManager", event).json["Item"]


def test_a_request_that_fails_halfway_changes_nothing(server_api: Any) -> None:
    create = {"operation": "create", "payload": {"Item": {"id": "h", "d": {"l": "x"}}}}
    assert server_api.post("/DynamoDBManager", create).status == 200
    before = read(server_api, "h")
    halfway = {
        "UpdateExpression": "SET #d = :v REMOVE #d.#l",  # moto crashes after applying SET
        "ExpressionAttributeNames": {"#d": "d", "#l": "l"},
        "ExpressionAttributeValues": {":v": "y"},
    }
    for _ in range(2):
        assert update(server_api, Key={"id": "h"}, **halfway).status == 400
    assert read(server_api, "h") == before  # version 1 and d as it was, after two failed requests


def update_raw(server_api: Any, item_id: str, expression: str, values: str) -> Any:
    """A tutorial update whose ExpressionAttributeValues are JSON text (numbers such as 3E-7 as written)."""
    text = (
        f'{{"operation": "update", "payload": {{"Key": {{"id": "{item_id}"}}, '
        f'"UpdateExpression": "{expression}", "ExpressionAttributeValues": {values}}}}}'
    )
    return rpc_raw(server_api, text)


def test_arithmetic_on_numbers_in_exponent_form(server_api: Any) -> None:
    created = '{"operation": "create", "payload": {"Item": {"id": "n", "n": 1E+2, "t": 1E-7, "big": 9E+125}}}'
    assert rpc_raw(server_api, created).status == 200
    reply = update_raw(
        server_api, "n", "SET n = n + :one, t = t - :t ADD big :zero", '{":one": 1, ":t": 3E-7, ":zero": 0}'
    )
    assert reply.status == 200, reply.text
    item = read(server_api, "n")
    assert (item["n"], item["t"], item["big"], item["version"]) == (
        101,
        Decimal("-2E-7"),
        Decimal("9E+125"),
        2,
    )


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        ("SET big = big + :big", '{":big": 9E+125}', "Number overflow"),  # 1.8E+126: past 9.99…E+125
        ("SET big = big + :one", '{":one": 1}', "Number overflow"),  # needs 126 digits; DynamoDB: overflow
        ("SET t = t - :t", '{":t": 1E-130}', "Number underflow"),  # 1E-131: below 1E-130
    ],
)
def test_results_outside_dynamodb_numbers_are_its_400_and_change_nothing(
    server_api: Any, expression: str, values: str, message: str
) -> None:
    created = '{"operation": "create", "payload": {"Item": {"id": "r", "t": 1.1E-130, "big": 9E+125}}}'
    assert rpc_raw(server_api, created).status == 200
    before = read(server_api, "r")
    reply = update_raw(server_api, "r", expression, values)
    assert reply.status == 400
    assert message in reply.json["errorMessage"]
    assert read(server_api, "r") == before
