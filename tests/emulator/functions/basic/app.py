"""A test-only Lambda function: the event's ``action`` picks a behaviour the local runtime must handle.

Invoked directly the event holds the action; through the local API gateway it is in the JSON body."""

import json
import logging
import os
import sys
import time

print("init: module loaded")
logger = logging.getLogger()
logger.setLevel(logging.INFO)
_invocations = 0


def _loop(iterations: int) -> int:
    """Fixed CPU work: a CPU cap stretches the wall time it takes."""
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def _echo(event, context):
    return {
        "event": event,
        "invocations": _invocations,
        "table": os.environ.get("TABLE_NAME"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "memory": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "env_memory": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
    }


def _describe_table():
    import boto3  # only this action needs it: the other tests keep init cheap

    table = boto3.client("dynamodb").describe_table(TableName=os.environ["TABLE_NAME"])["Table"]
    return {"statusCode": 200, "table": table["TableName"], "keys": table["KeySchema"]}


def _allocate(mb: int):
    # Filled in C (one memset): every page is resident at once. A Python loop touching each page took most
    # of a 3 s timeout at 256 MB's CPU share in one full-suite run: the test saw a timeout, not the OOM.
    block = b"\x01" * (mb * 1024 * 1024)
    return {"allocated_mb": len(block) // (1024 * 1024)}


def lambda_handler(event, context):
    global _invocations
    _invocations += 1
    if "httpMethod" in event:
        event = json.loads(event["body"] or "{}")
    action = event.get("action", "echo")
    print(f"handling {action}")
    if action == "echo":
        return _echo(event, context)
    if action == "status":
        return {"statusCode": event.get("statusCode", 201)}
    if action == "log":
        logger.info("a record from %s", "logging")
        return {"statusCode": 200}
    if action == "big":
        return {"statusCode": 200, "body": "x" * event["bytes"]}
    if action == "raise":
        raise ValueError("boom")
    if action == "sleep":
        held = b"\x01" * (event.get("hold_mb", 0) * 1024 * 1024)  # noqa: F841 (resident while it sleeps)
        time.sleep(event["seconds"])
        return {"slept": event["seconds"]}
    if action == "loop":
        return {"total": _loop(event["iterations"])}
    if action == "allocate":
        return _allocate(event["mb"])
    if action == "describe_table":
        return _describe_table()
    if action == "exit":
        os._exit(3)
    if action == "unserialisable":
        return {"when": object()}
    raise KeyError(action)
