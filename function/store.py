"""The only door to DynamoDB: one reused low-level client, the configured table, failures mapped to statuses.

Every call names the table from ``TABLE_NAME`` itself, so no request can reach another table. The client is
built once per execution environment (building one costs ~80 ms at one vCPU, far more at small memory sizes)
and rebuilt only if the endpoint or region it was built for changes (tests do that).
"""

from __future__ import annotations

import os
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import get_session
from codec import from_item, to_item
from problems import ApiError

# Inside API Gateway's 29 s and the function's own timeout: 3 attempts × (1 s connect + 2 s read) + backoff.
CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"mode": "standard", "max_attempts": 3},
    tcp_keepalive=True,
)
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
RETRY_AFTER_SECONDS = "1"

_client: Any = None
_client_key: tuple[str | None, str | None] | None = None


class ConditionFailedError(Exception):
    """A conditional write did not happen; ``item`` is the item as it was (None: there was none)."""

    def __init__(self, item: dict | None) -> None:
        super().__init__("condition failed")
        self.item = item


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def client() -> Any:
    """The execution environment's DynamoDB client (AWS_ENDPOINT_URL is honoured by botocore itself)."""
    global _client, _client_key
    key = (os.environ.get("AWS_ENDPOINT_URL"), _region())
    if _client is None or key != _client_key:
        _client = get_session().create_client("dynamodb", region_name=key[1], config=CLIENT_CONFIG)
        _client_key = key
    return _client


def table_name() -> str:
    name = os.environ.get("TABLE_NAME")
    if not name:
        raise ApiError(
            500, "the function is not configured", cause="environment variable TABLE_NAME is not set"
        )
    return name


def call(operation: str, **params: Any) -> dict:
    """One DynamoDB call on the configured table; AWS failures become 503 (throttled) or 502, with cause."""
    try:
        return getattr(client(), operation)(TableName=table_name(), **params)
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        message = details.get("Message", "")
        if code == "ConditionalCheckFailedException":
            old = error.response.get("Item")
            raise ConditionFailedError(from_item(old) if old else None) from None
        if code == "ValidationException":
            status = 413 if "size" in message.lower() and "item" in message.lower() else 400
            raise ApiError(status, f"DynamoDB refused the request: {message}", error_type=code) from None
        cause = f"DynamoDB {operation}: {code}: {message}"
        if code in THROTTLING_CODES:
            raise ApiError(
                503,
                "the table is busy; retry later",
                error_type=code,
                headers={"Retry-After": RETRY_AFTER_SECONDS},
                cause=cause,
            ) from None
        raise ApiError(
            502, "the database failed to answer", error_type=code or "DependencyFailure", cause=cause
        ) from None
    except BotoCoreError as error:
        cause = f"DynamoDB {operation}: {type(error).__name__}: {error}"
        raise ApiError(502, "the database could not be reached", cause=cause) from None


def put_new(item: dict) -> None:
    """Write an item that must not exist yet; ``ConditionFailedError`` carries the existing one."""
    call(
        "put_item",
        Item=to_item(item),
        ConditionExpression="attribute_not_exists(#id)",
        ExpressionAttributeNames={"#id": "id"},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )


def put_next(item: dict, current: dict) -> None:
    """Write ``item`` over ``current`` only if nobody wrote since it was read; else ConditionFailedError."""
    version = current.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        condition: dict[str, Any] = {
            "ConditionExpression": "#version = :expected AND #createdAt = :created",
            "ExpressionAttributeNames": {"#version": "version", "#createdAt": "createdAt"},
            "ExpressionAttributeValues": {
                ":expected": {"N": str(version)},
                ":created": {"S": str(current.get("createdAt"))},
            },
        }
    else:  # an item written before versioning (or by another tool)
        condition = {
            "ConditionExpression": "attribute_exists(#id) AND attribute_not_exists(#version)",
            "ExpressionAttributeNames": {"#id": "id", "#version": "version"},
        }
    call("put_item", Item=to_item(item), ReturnValuesOnConditionCheckFailure="ALL_OLD", **condition)


def get(item_id: str, consistent: bool = False) -> dict | None:
    """The item, or None."""
    found = call("get_item", Key={"id": {"S": item_id}}, ConsistentRead=consistent).get("Item")
    return from_item(found) if found else None


def delete(item_id: str, versions: frozenset[int] | None) -> None:
    """Delete an existing item, only at one of ``versions`` when given; else ConditionFailedError."""
    names = {"#id": "id"}
    params: dict[str, Any] = {}
    condition = "attribute_exists(#id)"
    if versions is not None:
        placeholders = {f":v{index}": {"N": str(version)} for index, version in enumerate(sorted(versions))}
        condition += f" AND #version IN ({', '.join(placeholders)})"
        names["#version"] = "version"
        params["ExpressionAttributeValues"] = placeholders
    call(
        "delete_item",
        Key={"id": {"S": item_id}},
        ConditionExpression=condition,
        ExpressionAttributeNames=names,
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
        **params,
    )


def reset_client() -> None:
    """Forget the cached client (for tests that switch between in-process moto and a moto server)."""
    global _client, _client_key
    _client = _client_key = None


def prime() -> None:
    """Build the client during init, when the environment is configured: init runs before the first request's
    clock and, at small memory sizes, with more CPU than the handler gets."""
    if os.environ.get("TABLE_NAME") and _region():
        client()
