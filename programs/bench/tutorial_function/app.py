"""Baseline for benchmarks only: a handler in the style of AWS's "Using Lambda with API Gateway" tutorial.

It keeps the tutorial's costs on purpose — ``boto3.resource("dynamodb").Table(...)`` built on every call
and the caller's ``payload`` passed straight into DynamoDB with ``**`` — so that bench/handler.py and
bench/cold.py can measure what the real function (``function/``) saves. Never deploy it: it has every
security problem the tutorial has (any key, any expression, unconditional writes, unbounded scans).

Events: direct ``{"operation", "tableName"?, "payload"}`` (table from ``tableName``, else env
``TABLE_NAME``), and, minimally, API Gateway REST proxy events, mapped onto the same operations so one set
of tuning payloads can drive both functions. Only boto3 is needed.
"""

import json
import os
from decimal import Decimal

import boto3

print("Loading function")


def _plain(value):
    """What the Lambda runtime's marshaller does to a boto3 answer: Decimal → JSON number."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def _operate(operation, table_name, payload):
    """The tutorial's dispatch: a new resource and Table per call, the payload passed through untouched."""
    dynamo = boto3.resource("dynamodb").Table(table_name)
    operations = {
        "create": lambda x: dynamo.put_item(**x),
        "read": lambda x: dynamo.get_item(**x),
        "update": lambda x: dynamo.update_item(**x),
        "delete": lambda x: dynamo.delete_item(**x),
        "list": lambda x: dynamo.scan(**x),
        "echo": lambda x: x,
        "ping": lambda x: "pong",
    }
    if operation not in operations:
        raise ValueError(f'Unrecognized operation "{operation}"')
    return operations[operation](payload)


def _from_proxy(event):
    """Map a REST proxy event onto (operation, payload), the way a tutorial-style port to /items would."""
    method = event.get("httpMethod", "")
    item_id = (event.get("pathParameters") or {}).get("id")
    body = json.loads(event["body"], parse_float=Decimal) if event.get("body") else {}
    if "operation" in body:  # POST /DynamoDBManager: the body is the tutorial event
        return body["operation"], body.get("tableName"), body.get("payload")
    if method == "GET" and item_id:
        return "read", None, {"Key": {"id": item_id}}
    if method == "GET":
        return "list", None, {}
    if method == "DELETE":
        return "delete", None, {"Key": {"id": item_id}}
    if method == "PATCH":
        names = {f"#a{i}": name for i, name in enumerate(body)}
        values = {f":v{i}": value for i, value in enumerate(body.values())}
        expression = "SET " + ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True))
        return (
            "update",
            None,
            {
                "Key": {"id": item_id},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            },
        )
    return "create", None, {"Item": {**body, "id": item_id or body.get("id")}}


def lambda_handler(event, context):
    """Direct tutorial events return the raw answer; proxy events get it wrapped as a 200 proxy response."""
    if "httpMethod" in event:
        operation, table_name, payload = _from_proxy(event)
        result = _operate(operation, table_name or os.environ["TABLE_NAME"], payload)
        return {"statusCode": 200, "headers": {}, "body": json.dumps(_plain(result))}
    table_name = event.get("tableName") or os.environ.get("TABLE_NAME")
    return _plain(_operate(event["operation"], table_name, event.get("payload")))
