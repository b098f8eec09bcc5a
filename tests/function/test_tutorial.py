"""The tutorial endpoint and direct invocations: both editions work, its security holes stay closed."""

from __future__ import annotations

from decimal import Decimal

import pytest

PATHS = ("/DynamoDBManager", "/dynamodbmanager")
TABLE = "<the test's table>"  # replaced by the configured table's name: old-edition events name it


def named(event, table_name):
    return {**event, "tableName": table_name} if event.get("tableName") == TABLE else event


def rpc(api, event, path="/DynamoDBManager"):
    return api.post(path, event)


# The request bodies of AWS's "Using Lambda with API Gateway" tutorial, both editions (reference §7).
CURRENT_EDITION = [
    ({"operation": "create", "payload": {"Item": {"id": "1234ABCD", "number": 5}}}, {}),
    ({"operation": "read", "payload": {"Key": {"id": "1234ABCD"}}}, "item"),
    (
        {
            "operation": "update",
            "payload": {
                "Key": {"id": "1234ABCD"},
                "UpdateExpression": "SET #num = :newNum",
                "ExpressionAttributeNames": {"#num": "number"},
                "ExpressionAttributeValues": {":newNum": 10},
            },
        },
        {},
    ),
    ({"operation": "echo", "payload": {"somekey1": "somevalue1", "somekey2": "somevalue2"}}, "echo"),
    ({"operation": "delete", "payload": {"Key": {"id": "1234ABCD"}}}, {}),
]
OLD_EDITION = [
    (
        {
            "operation": "create",
            "tableName": TABLE,
            "payload": {"Item": {"id": "1234ABCD", "number": 5}},
        },
        {},
    ),
    ({"operation": "read", "tableName": TABLE, "payload": {"Key": {"id": "1234ABCD"}}}, "item"),
    (
        {
            "operation": "update",
            "tableName": TABLE,
            "payload": {"Key": {"id": "1234ABCD"}, "AttributeUpdates": {"number": {"Value": 10}}},
        },
        {},
    ),
    ({"operation": "list", "tableName": TABLE, "payload": {}}, "list"),
    ({"operation": "ping"}, "pong"),
    ({"operation": "delete", "tableName": TABLE, "payload": {"Key": {"id": "1234ABCD"}}}, {}),
]


def _check(result, expected, event):
    if expected == "item":
        assert result["Item"]["id"] == "1234ABCD"
        assert result["Item"]["number"] == 5
        assert result["Item"]["version"] == 1
    elif expected == "echo":
        assert result == event["payload"]
    elif expected == "list":
        assert result["Count"] == 1
        assert result["Items"][0]["number"] == 10
    elif expected == "pong":
        assert result == "pong"
    else:
        assert result == expected


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("edition", [CURRENT_EDITION, OLD_EDITION], ids=["current", "old"])
def test_both_editions_over_http(api, raw_table, table_name, edition, path):
    for event, expected in edition:
        reply = rpc(api, named(event, table_name), path)
        assert reply.status == 200, (event, reply.text)
        _check(reply.json, expected, event)
        if event["operation"] == "update":
            stored = raw_table.get_item(Key={"id": "1234ABCD"})["Item"]
            assert stored["number"] == 10
            assert stored["version"] == 2
            assert stored["updatedAt"] >= stored["createdAt"]
    assert raw_table.scan()["Count"] == 0


@pytest.mark.parametrize("edition", [CURRENT_EDITION, OLD_EDITION], ids=["current", "old"])
def test_both_editions_as_direct_invocations(api, table_name, edition):
    for event, expected in edition:
        _check(api.direct(named(event, table_name)), expected, event)


def test_direct_results_are_plain_json_types(api):
    api.direct({"operation": "create", "payload": {"Item": {"id": "f", "price": 5.5, "qty": 3}}})
    item = api.direct({"operation": "read", "payload": {"Key": {"id": "f"}}})["Item"]
    assert item["price"] == 5.5
    assert type(item["price"]) is float
    assert type(item["qty"]) is int


def test_read_of_missing_id_is_200_without_item_and_delete_of_missing_is_200(api):
    assert rpc(api, {"operation": "read", "payload": {"Key": {"id": "nope"}}}).json == {}
    assert rpc(api, {"operation": "delete", "payload": {"Key": {"id": "nope"}}}).json == {}


def test_create_on_existing_id_is_409_and_update_of_missing_is_404(api, raw_table):
    create = {"operation": "create", "payload": {"Item": {"id": "x", "v": 1}}}
    assert rpc(api, create).status == 200
    again = rpc(api, {"operation": "create", "payload": {"Item": {"id": "x", "v": 2}}})
    assert again.status == 409
    problem = again.json
    assert problem["errorType"] == "ConditionalCheckFailedException"
    assert problem["errorMessage"] == problem["detail"]
    assert again.headers["Content-Type"] == "application/problem+json"
    assert raw_table.get_item(Key={"id": "x"})["Item"]["v"] == 1
    update = {
        "Key": {"id": "ghost"},
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": 1},
    }
    missing = rpc(api, {"operation": "update", "payload": update})
    assert missing.status == 404
    assert missing.json["errorType"] == "ItemNotFound"
    legacy = rpc(
        api,
        {"operation": "update", "payload": {"Key": {"id": "ghost"}, "AttributeUpdates": {"v": {"Value": 1}}}},
    )
    assert legacy.status == 404
    assert raw_table.scan()["Count"] == 1


def test_update_actions_conditions_and_return_values(api):
    rpc(
        api, {"operation": "create", "payload": {"Item": {"id": "u", "count": 1, "gone": "x", "status": "a"}}}
    )
    legacy = {
        "count": {"Value": 4, "Action": "ADD"},
        "gone": {"Action": "DELETE"},
        "status": {"Value": "b"},
    }
    result = rpc(
        api, {"operation": "update", "payload": {"Key": {"id": "u"}, "AttributeUpdates": legacy}}
    ).json
    assert result == {}
    item = rpc(api, {"operation": "read", "payload": {"Key": {"id": "u"}, "ConsistentRead": True}}).json[
        "Item"
    ]
    assert item["count"] == 5
    assert "gone" not in item
    assert item["status"] == "b"
    assert item["version"] == 2
    conditional = {
        "Key": {"id": "u"},
        "UpdateExpression": "SET #s = :s REMOVE #c",
        "ConditionExpression": "#s = :expected",
        "ExpressionAttributeNames": {"#s": "status", "#c": "count"},
        "ExpressionAttributeValues": {":s": "c", ":expected": "wrong"},
        "ReturnValues": "ALL_NEW",
    }
    failed = rpc(api, {"operation": "update", "payload": conditional})
    assert failed.status == 409
    assert failed.json["errorType"] == "ConditionalCheckFailedException"
    conditional["ExpressionAttributeValues"][":expected"] = "b"
    attributes = rpc(api, {"operation": "update", "payload": conditional}).json["Attributes"]
    assert attributes["status"] == "c"
    assert "count" not in attributes
    assert attributes["version"] == 3


def test_projection_and_list_paging(api):
    for n in range(150):
        api.direct({"operation": "create", "payload": {"Item": {"id": f"i{n:03d}", "name": f"n{n}", "n": n}}})
    first = api.direct({"operation": "list", "payload": {}})
    assert first["Count"] == 100
    assert len(first["Items"]) == 100
    assert set(first["LastEvaluatedKey"]) == {"id"}
    rest = api.direct({"operation": "list", "payload": {"ExclusiveStartKey": first["LastEvaluatedKey"]}})
    ids = [item["id"] for item in first["Items"] + rest["Items"]]
    assert len(ids) == len(set(ids)) == 150
    filtered = api.direct(
        {
            "operation": "list",
            "payload": {
                "Limit": 100,
                "FilterExpression": "#n < :max",
                "ProjectionExpression": "id, #name",
                "ExpressionAttributeNames": {"#n": "n", "#name": "name"},
                "ExpressionAttributeValues": {":max": 3},
            },
        }
    )
    assert all(set(item) == {"id", "name"} for item in filtered["Items"])
    assert filtered["Count"] <= 3
    projected = api.direct(
        {
            "operation": "read",
            "payload": {
                "Key": {"id": "i001"},
                "ProjectionExpression": "#name",
                "ExpressionAttributeNames": {"#name": "name"},
            },
        }
    )
    assert projected == {"Item": {"name": "n1"}}


def test_table_name_must_be_the_configured_table(api, raw_table):
    reply = rpc(api, {"operation": "create", "tableName": "someone-elses", "payload": {"Item": {"id": "t"}}})
    assert reply.status == 403
    assert reply.json["errorType"] == "AccessDenied"
    assert api.direct({"operation": "list", "tableName": "other", "payload": {}})["status"] == 403
    assert api.direct({"operation": "ping", "tableName": 5})["status"] == 403
    assert raw_table.scan()["Count"] == 0


def update_event(**payload):
    return {"operation": "update", "payload": {"Key": {"id": "a"}, **payload}}


def list_event(**payload):
    return {"operation": "list", "payload": payload}


@pytest.mark.parametrize(
    "event",
    [
        {"operation": "drop"},
        {"operation": None},
        {"operation": ["read"]},
        {"payload": {}},
        {"operation": "read", "payload": {"Key": {"id": "a"}}, "extra": 1},
        {"operation": "create", "payload": {"Item": {"id": "a"}, "TableName": "other"}},
        {
            "operation": "create",
            "payload": {"Item": {"id": "a"}, "ConditionExpression": "attribute_exists(id)"},
        },
        {"operation": "read", "payload": {"Key": {"id": "a"}, "TableName": "other"}},
        {"operation": "read", "payload": {"Key": {"id": "a", "sk": "b"}}},
        {"operation": "read", "payload": {"Key": {"id": {"S": "a"}}}},
        {"operation": "read", "payload": {"Key": {"id": "a"}, "ConsistentRead": "yes"}},
        {"operation": "read", "payload": {"Key": "a"}},
        {"operation": "read", "payload": None},
        {"operation": "read", "payload": []},
        {"operation": "read", "payload": {"Key": {"id": "a"}, "ProjectionExpression": "#missing"}},
        {"operation": "create", "payload": {"Item": {"number": 5}}},
        {"operation": "create", "payload": {"Item": {"id": "a", "version": 9}}},
        {"operation": "create", "payload": {"Item": {"id": "a", "x": float("nan")}}},
        update_event(),
        update_event(UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": 1}),
        update_event(
            UpdateExpression="ADD #v :v",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":v": 1},
        ),
        update_event(
            UpdateExpression="SET #id = :v",
            ExpressionAttributeNames={"#id": "id"},
            ExpressionAttributeValues={":v": "b"},
        ),
        update_event(UpdateExpression="SET a = :srvNow", ExpressionAttributeValues={":srvNow": 1}),
        update_event(UpdateExpression="SET a = :v SET b = :v", ExpressionAttributeValues={":v": 1}),
        update_event(UpdateExpression="a = :v", ExpressionAttributeValues={":v": 1}),
        update_event(UpdateExpression="SET n = :undefined"),
        update_event(AttributeUpdates={"updatedAt": {"Value": 1}}),
        update_event(AttributeUpdates={"n": {"Value": "x", "Action": "ADD"}}),
        update_event(AttributeUpdates={"n": {"Value": 1}, "x": {"Action": "PUT"}}),
        update_event(AttributeUpdates={"n": {"Value": 1}}, UpdateExpression="SET n = :n"),
        update_event(UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 1}, ReturnValues="ALL"),
        {"operation": "delete", "payload": {"Key": {"id": "a"}, "ReturnValues": "ALL_NEW"}},
        list_event(Limit=101),
        list_event(Limit=True),
        list_event(Select="COUNT"),
        list_event(Segment=0, TotalSegments=2),
        list_event(ExclusiveStartKey={"id": "a", "x": 1}),
        list_event(FilterExpression=""),
        list_event(FilterExpression="x = :v", ExpressionAttributeValues={"v": 1}),
        list_event(
            FilterExpression="#srv = :v",
            ExpressionAttributeNames={"#srv": "x"},
            ExpressionAttributeValues={":v": 1},
        ),
        list_event(FilterExpression="this is not an expression"),
    ],
)
def test_bad_tutorial_requests_are_400_and_change_nothing(api, raw_table, event):
    raw_table.put_item(Item={"id": "a", "version": 1, "n": 1, "createdAt": "t", "updatedAt": "t"})
    result = api.direct(event)
    assert isinstance(result, dict), result
    assert result["status"] == 400, result
    assert result["errorType"]
    assert result["errorMessage"] == result["detail"]
    reply = rpc(api, event)
    assert reply.status == 400
    assert reply.json["errorMessage"]
    assert raw_table.scan()["Items"] == [
        {"id": "a", "version": 1, "n": 1, "createdAt": "t", "updatedAt": "t"}
    ]


def test_unknown_operation_keeps_the_tutorials_error_type(api):
    result = api.direct({"operation": "drop"})
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == 'Unrecognized operation "drop"'


@pytest.mark.parametrize("event", [None, [], "read", 5, {"httpMethodX": "GET"}])
def test_unrecognised_direct_events_return_an_error_object(api, event):
    result = api.direct(event)
    assert result["status"] == 400
    assert result["errorType"]


@pytest.mark.parametrize("raw", ['{"operation": "ping"', "[]", '"ping"', ""])
def test_malformed_tutorial_bodies_are_400(api, raw):
    reply = api.post("/DynamoDBManager", raw=raw or None)
    assert reply.status == 400
    assert reply.json["errorType"]


def test_tutorial_endpoint_accepts_any_content_type_like_its_clients_send(api):
    reply = api.post("/dynamodbmanager", {"operation": "ping"}, headers={"Content-Type": "text/plain"})
    assert reply.status == 200
    assert reply.json == "pong"


def test_reserved_words_and_exact_numbers_through_the_tutorial(api):
    item = '{"id": "r", "size": 0.1, "date": 12345678901234567890123456789012345678}'
    raw = '{"operation": "create", "payload": {"Item": ' + item + "}}"
    assert api.post("/DynamoDBManager", raw=raw).status == 200
    update = {
        "Key": {"id": "r"},
        "UpdateExpression": "SET #s = #s + :d",
        "ExpressionAttributeNames": {"#s": "size"},
        "ExpressionAttributeValues": {":d": 0.2},
    }
    assert rpc(api, {"operation": "update", "payload": update}).status == 200
    item = rpc(api, {"operation": "read", "payload": {"Key": {"id": "r"}}}).json["Item"]
    assert item["size"] == Decimal("0.3")
    assert item["date"] == 12345678901234567890123456789012345678
