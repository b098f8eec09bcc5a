"""Inputs found by attacking the handler (hand-made and schemathesis): each one got a 5xx or an exception
out of ``lambda_handler`` before its fix. Every one must now be a clear 4xx (or an exact answer)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import app
import codec
import pytest
from problems import ApiError
from proxy import Response

TUTORIAL = "/DynamoDBManager"


def nested(depth: int, leaf: object = 1) -> object:
    """A list nested ``depth`` levels deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# str.isdigit() accepts "²" (int() refuses it: was a 500) and "١٠" (int() reads it as 10: was accepted);
# 5,000 digits exceed int()'s conversion limit (was a 500).
@pytest.mark.parametrize("limit", ["²", "١٠", "1" * 5000, "1" * 19])
def test_limit_takes_only_ascii_digits(api, limit):
    reply = api.get("/items", query={"limit": limit})
    assert reply.status == 400
    assert "limit" in reply.json["detail"]


@pytest.mark.parametrize("tag", ['"²"', '"١"', '"1", "²"', '"' + "9" * 19 + '"'])
def test_if_match_takes_only_ascii_digit_versions(api, raw_table, tag):
    assert api.put("/items/a", {"x": 1}).status == 201
    for reply in (
        api.put("/items/a", {"x": 2}, headers={"If-Match": tag}),
        api.patch("/items/a", {"x": 2}, headers={"If-Match": tag}),
        api.delete("/items/a", headers={"If-Match": tag}),
    ):
        assert reply.status == 400
        assert "If-Match" in reply.json["detail"]
    assert raw_table.get_item(Key={"id": "a"})["Item"]["x"] == 1


@pytest.mark.parametrize("return_values", [[], {}, ["ALL_NEW"], 1, None])
@pytest.mark.parametrize("operation", ["update", "delete"])
def test_return_values_of_the_wrong_type_are_400(api, raw_table, operation, return_values):
    api.put("/items/a", {"n": 1})
    payload = {"Key": {"id": "a"}, "ReturnValues": return_values}
    if operation == "update":
        payload |= {"UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": 2}}
    reply = api.post(TUTORIAL, {"operation": operation, "payload": payload})
    assert reply.status == 400  # an unhashable list or object was a TypeError: 500
    assert "ReturnValues" in reply.json["errorMessage"]
    result = api.direct({"operation": operation, "payload": payload})
    assert result["status"] == 400
    assert raw_table.get_item(Key={"id": "a"})["Item"]["n"] == 1


@pytest.mark.parametrize("number", ["1e400", "1E+5000", "-2.5E+999999999", "1E-999999999"])
def test_echo_writes_back_numbers_beyond_dynamodbs_range_exactly(api, number):
    """1E+5000 became a 5,001-digit int that json cannot print (an exception out of the handler → 502);
    1E+999999999 would have become a billion-digit int."""
    reply = api.post(TUTORIAL, raw='{"operation": "echo", "payload": {"n": ' + number + "}}")
    assert reply.status == 200
    assert reply.json == {"n": Decimal(number)}


def test_numbers_in_dynamodbs_range_are_still_written_as_digits(api):
    reply = api.put("/items/n", raw='{"big": 9.99E+125, "small": 1E-130, "int": 1E+2}')
    assert reply.status == 201
    assert f'"big":999{"0" * 123},' in reply.text
    assert reply.json["small"] == Decimal("1E-130")
    assert '"int":100,' in reply.text


def test_a_document_too_deep_to_write_back_is_400():
    """Only an echo can get this deep (stored items stop at 32 levels); it was a RecursionError."""
    for write in (codec.dumps, codec.native):
        with pytest.raises(ApiError) as raised:
            write({"n": nested(5000, Decimal("0.10000000000000000000000001"))})
        assert raised.value.status == 400
    assert json.loads(codec.dumps(nested(40))) == nested(40)


def test_a_direct_echo_too_deep_to_write_back_returns_the_error_object(api):
    result = api.direct({"operation": "echo", "payload": nested(5000)})
    assert result["status"] == 400  # was a 500: RecursionError in the Decimal→float conversion
    assert result["errorType"] == "ValidationError"


def test_a_response_that_cannot_be_rendered_is_a_500_answer_not_an_exception(api, monkeypatch):
    """Rendering happens inside the handler's last line of defence: API Gateway would otherwise turn the
    exception into a bare 502 and the log would hold no structured record of it."""
    monkeypatch.setitem(
        app.routing.ROUTES["/items/{id}"], "GET", lambda request: Response(200, {"not json": {1, 2}})
    )
    reply = api.get("/items/a")
    assert reply.status == 500
    assert reply.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("!!not base64", 400),
        (base64.b64encode(b"\xff\xfe{}").decode(), 400),
        (base64.b64encode(b" " * (256 * 1024 + 1)).decode(), 413),
    ],
    ids=["malformed-base64", "not-utf8", "over-256kb"],
)
@pytest.mark.parametrize("path", [TUTORIAL, "/dynamodbmanager"])
def test_undecodable_tutorial_bodies_keep_the_tutorial_error_shape(api, path, body, status):
    """The body used to be decoded before routing, so these errors lacked errorType/errorMessage."""
    reply = api.post(path, raw=body, event_changes={"isBase64Encoded": True})
    assert reply.status == status
    assert reply.json["errorType"]
    assert reply.json["errorMessage"] == reply.json["detail"]


def test_a_bug_on_the_tutorial_endpoint_keeps_the_tutorial_error_shape(api, monkeypatch):
    def broken(payload):
        raise RuntimeError("internal detail")

    monkeypatch.setitem(app.tutorial.OPERATIONS, "read", (broken, frozenset({"Key"})))
    reply = api.post(TUTORIAL, {"operation": "read", "payload": {"Key": {"id": "a"}}})
    assert reply.status == 500
    assert reply.json["errorType"] == "InternalError"
    assert "internal detail" not in reply.text
