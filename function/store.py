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
from codec import from_item
from problems import ApiError

# 3 attempts in all: botocore's "total_max_attempts" (its older "max_attempts" counts retries, so 3 made 4:
# botocore/args.py, _compute_retry_max_attempts). Worst case 9 s, inside the function's default timeout
# of 10 s (Pulumi.yaml) and API Gateway's 29 s: 3 × (1 s connect + 1 s read) + the backoff before each retry
# of a throttled call, random × 1 s then random × 2 s (standard mode). DynamoDB answers in milliseconds.
CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=1,
    retries={"mode": "standard", "total_max_attempts": 3},
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


def reset_client() -> None:
    """Forget the cached client (for tests that switch between in-process moto and a moto server)."""
    global _client, _client_key
    _client = _client_key = None


def prime() -> None:
    """Build the client during init, when the environment is configured: init runs before the first request's
    clock and, at small memory sizes, with more CPU than the handler gets."""
    if os.environ.get("TABLE_NAME") and _region():
        client()
