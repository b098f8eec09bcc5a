"""The caller's expressions stay inside the server's clauses, and a refused request tells the client what is
wrong in plain words while the raw DynamoDB or Python text goes only to the logged cause."""

from __future__ import annotations

import json

import pytest

FIELDS_BY_OPERATION = {
    "read": ["ProjectionExpression"],
    "update": ["UpdateExpression", "ConditionExpression"],
    "delete": ["ConditionExpression"],
    "list": ["ProjectionExpression", "FilterExpression"],
}
ESCAPES = [
    "x = :v) OR (attribute_not_exists(#q)",  # closes the server's "(" and opens one of its own
    "(x = :v) OR attribute_not_exists(#q)) OR ((x = :v",  # was a 500
    "(x = :v",  # never closed
    ")(",
]


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def _payload(operation: str, field: str, expression: str) -> dict:
    payload: dict = {
        "ExpressionAttributeNames": {"#q": "q"},
        "ExpressionAttributeValues": {":v": 1},
    }
    if operation != "list":
        payload["Key"] = {"id": "ghost"}
    if operation == "update" and field != "UpdateExpression":
        payload["UpdateExpression"] = "SET x = :v"
    if operation == "read":
        payload.pop("ExpressionAttributeValues")
        expression = expression.replace("x = :v", "x")
    payload[field] = expression
    return payload


def test_an_unbalanced_condition_cannot_create_an_item_the_update_may_only_change(api, raw_table) -> None:
    event = {"operation": "update", "payload": _payload("update", "ConditionExpression", ESCAPES[0])}
    reply = api.post("/DynamoDBManager", event)
    assert reply.status == 400
    assert "ConditionExpression" in reply.json["detail"]
    assert "parenthes" in reply.json["detail"]
    assert "Item" not in raw_table.get_item(Key={"id": "ghost"})


@pytest.mark.parametrize("expression", ESCAPES)
@pytest.mark.parametrize(
    ("operation", "field"), [(op, field) for op, fields in FIELDS_BY_OPERATION.items() for field in fields]
)
def test_every_expression_field_refuses_unbalanced_parentheses(api, operation, field, expression) -> None:
    reply = api.post(
        "/DynamoDBManager", {"operation": operation, "payload": _payload(operation, field, expression)}
    )
    assert reply.status == 400, reply.json
    assert field in reply.json["detail"]


def test_balanced_nested_conditions_still_work(api) -> None:
    assert (
        api.post("/DynamoDBManager", {"operation": "create", "payload": {"Item": {"id": "n", "x": 1}}}).status
        == 200
    )
    payload = {
        "Key": {"id": "n"},
        "UpdateExpression": "SET x = :two",
        "ConditionExpression": "x = :one AND (attribute_not_exists(#q) OR x < :two)",
        "ExpressionAttributeNames": {"#q": "q"},
        "ExpressionAttributeValues": {":one": 1, ":two": 2},
    }
    assert api.post("/DynamoDBManager", {"operation": "update", "payload": payload}).status == 200


def test_a_syntax_error_is_a_plain_400_and_the_raw_text_is_only_logged(api, capsys) -> None:
    assert (
        api.post("/DynamoDBManager", {"operation": "create", "payload": {"Item": {"id": "s"}}}).status == 200
    )
    capsys.readouterr()
    payload = {
        "Key": {"id": "s"},
        "UpdateExpression": "SET x = :v +",
        "ExpressionAttributeValues": {":v": 1},
    }
    reply = api.post("/DynamoDBManager", {"operation": "update", "payload": payload})
    assert reply.status == 400
    detail = reply.json["detail"]
    assert "srv" not in detail  # the server's own placeholders never reach the client
    assert "token" not in detail.lower()
    assert "UpdateExpression" in detail
    (line,) = log_lines(capsys)
    assert "srv" in line["cause"] or "token" in line["cause"].lower()


def test_a_number_with_thousands_of_digits_is_a_plain_400(api, capsys) -> None:
    body = '{"name": "n", "count": ' + "9" * 5000 + "}"
    reply = api.request("POST", "/items", raw=body)
    assert reply.status == 400
    detail = reply.json["detail"]
    assert "sys." not in detail
    assert "set_int_max_str_digits" not in detail
    assert "38" in detail  # says what is allowed: DynamoDB's 38 digits
