"""The only door to DynamoDB: one reused low-level client, the configured table, failures mapped to statuses.

Every call names the table from ``TABLE_NAME`` itself, so no request can reach another table. The client is
built once per execution environment (building one costs ~80 ms at one vCPU, far more at small memory sizes)
and rebuilt only if the endpoint or region it was built for changes (tests do that).

botocore retries failed attempts (standard mode: bounded, jittered). Two hooks on the client watch them:

* An attempt that got no answer from DynamoDB (the connection dropped after sending, a read timeout, a 5xx)
  leaves its write's outcome unknown: it may have been applied. ``call`` remembers that, so a retry whose
  condition then fails is not mistaken for a conflict (``ConditionFailedError.after_unknown``), and a write
  whose repeat would apply it twice (``once=True``) is not sent again at all. Either way the client is told
  the truth: 502 "outcome unknown" unless the function can prove what happened.
* No attempt starts unless it can end (connect + read timeout) before the function's own deadline
  (``set_deadline``), so retries never run the invocation into Lambda's timeout.
"""

from __future__ import annotations

import contextvars
import os
import time
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError
from botocore.session import get_session
from codec import from_item, to_item
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
WRITE_OPERATIONS = frozenset({"put_item", "update_item", "delete_item", "transact_write_items"})
OUTCOME_UNKNOWN_DETAIL = (
    "the database did not confirm the write, so it may or may not have been made; read the item to see, "
    "then retry with If-Match if it is still needed"
)
# Time kept back after DynamoDB's last possible answer to build and send the response.
ANSWER_MARGIN_S = 0.2

_client: Any = None
_client_key: tuple[str | None, str | None] | None = None


class ConditionFailedError(Exception):
    """A conditional write's last attempt did not happen; ``item`` is the item as it was then (None: there
    was none). ``after_unknown``: an earlier attempt's outcome is unknown, so it may have been this write
    that changed the item, and the failure alone does not prove the write was not made."""

    def __init__(self, item: dict | None, after_unknown: bool = False) -> None:
        super().__init__("condition failed")
        self.item = item
        self.after_unknown = after_unknown


class OutOfTimeError(Exception):
    """An attempt was not started: it could not have ended before the function's deadline."""


@dataclass
class _Attempts:
    """What the attempts of the current call came to, as the client's hooks saw them."""

    write: bool
    once: bool  # never send the request again once an attempt's outcome is unknown
    unknown: bool = False  # some attempt may have been applied without DynamoDB saying so
    throttled: bool = False


_attempts: contextvars.ContextVar[_Attempts | None] = contextvars.ContextVar("attempts", default=None)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


def set_deadline(remaining_ms: int | None) -> None:
    """The invocation's time left (``context.get_remaining_time_in_millis()``); None: no deadline."""
    _deadline.set(None if remaining_ms is None else time.monotonic() + remaining_ms / 1000)


def _before_send(**_: Any) -> None:
    """Refuse to start an attempt that could outlast the invocation (raised here, botocore does not retry)."""
    deadline = _deadline.get()
    worst_s = CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout + ANSWER_MARGIN_S
    if deadline is not None and deadline - time.monotonic() < worst_s:
        raise OutOfTimeError(f"less than {worst_s:.1f} s left before the function's timeout")


def _after_attempt(response: Any, caught_exception: Exception | None, **_: Any) -> bool | None:
    """Note an attempt without a definite answer; stop retrying a write that must be sent only once.
    (Returning False ends botocore's retries; None leaves the decision to its standard handler.)"""
    attempts = _attempts.get()
    if attempts is None:
        return None
    status = response[0].status_code if response is not None else None
    code = response[1].get("Error", {}).get("Code") if response is not None else None
    attempts.throttled |= code in THROTTLING_CODES
    not_sent = (EndpointConnectionError, ConnectTimeoutError, OutOfTimeError)
    answered = caught_exception is None and status is not None and status < 500
    if answered or isinstance(caught_exception, not_sent) or not attempts.write:
        return None
    attempts.unknown = True
    return False if attempts.once else None


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def client() -> Any:
    """The execution environment's DynamoDB client (AWS_ENDPOINT_URL is honoured by botocore itself)."""
    global _client, _client_key
    key = (os.environ.get("AWS_ENDPOINT_URL"), _region())
    if _client is None or key != _client_key:
        _client = get_session().create_client("dynamodb", region_name=key[1], config=CLIENT_CONFIG)
        _client.meta.events.register_first("before-send.dynamodb", _before_send)
        _client.meta.events.register_first("needs-retry.dynamodb", _after_attempt)
        _client_key = key
    return _client


def table_name() -> str:
    name = os.environ.get("TABLE_NAME")
    if not name:
        raise ApiError(
            500, "the function is not configured", cause="environment variable TABLE_NAME is not set"
        )
    return name


def call(operation: str, *, once: bool = False, table: str | None = None, **params: Any) -> dict:
    """One DynamoDB call on the configured table (or ``table``); AWS failures become 503 (throttled) or 502,
    with cause.

    ``once``: the write's condition would not stop a second copy of it (an update that only requires the item
    to exist), so no attempt is repeated after one whose outcome is unknown."""
    return _invoke(operation, once, {"TableName": table or table_name(), **params})


class TransactionCanceledError(Exception):
    """A transaction none of whose writes happened; ``reasons`` per write, in order: the DynamoDB code
    ("None", "ConditionalCheckFailed", "TransactionConflict", …) and the item as it was (when returned).
    ``after_unknown`` as for ConditionFailedError: an earlier attempt may have been applied."""

    def __init__(self, reasons: list[tuple[str, dict | None]], after_unknown: bool) -> None:
        super().__init__("transaction canceled")
        self.reasons = reasons
        self.after_unknown = after_unknown


def transact_put(puts: list[dict[str, Any]]) -> None:
    """Put every item of ``puts`` (PutItem parameters, each naming its table) or none of them."""
    _invoke(
        "transact_write_items",
        False,
        {
            "TransactItems": [
                {"Put": {**put, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}} for put in puts
            ]
        },
    )


def _invoke(operation: str, once: bool, params: dict[str, Any]) -> dict:
    attempts = _Attempts(write=operation in WRITE_OPERATIONS, once=once)
    token = _attempts.set(attempts)
    try:
        return getattr(client(), operation)(**params)
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        message = details.get("Message", "")
        if code == "ConditionalCheckFailedException":
            old = error.response.get("Item")
            raise ConditionFailedError(from_item(old) if old else None, attempts.unknown) from None
        if code == "TransactionCanceledException":
            reasons = [
                (reason.get("Code", "None"), from_item(reason["Item"]) if reason.get("Item") else None)
                for reason in error.response.get("CancellationReasons", [])
            ]
            raise TransactionCanceledError(reasons, attempts.unknown) from None
        if code == "ValidationException":
            raise _refused(message) from None
        raise _failure(attempts, operation, code, f"{code}: {message}") from None
    except OutOfTimeError as error:
        raise _failure(attempts, operation, type(error).__name__, str(error)) from None
    except BotoCoreError as error:
        raise _failure(attempts, operation, "", f"{type(error).__name__}: {error}") from None
    finally:
        _attempts.reset(token)


_NUMBER_RANGE_ERRORS = ("Number overflow", "Number underflow")  # DynamoDB's words for an update's result


def _refused(message: str) -> ApiError:
    """DynamoDB's 400 in plain words: its own text names the server's injected clauses and placeholders, so it
    goes to the logged cause only."""
    cause = f"DynamoDB ValidationException: {message}"
    if "size" in message.lower() and "item" in message.lower():
        return ApiError(413, "the item is larger than DynamoDB's 400 KB limit", cause=cause)
    for words in _NUMBER_RANGE_ERRORS:
        if words in message:
            return ApiError(
                400,
                f"{words}: the result is outside DynamoDB's numbers (38 digits, magnitude 1E-130 to 1E+126)",
                error_type="ValidationException",
                cause=cause,
            )
    return ApiError(
        400,
        "DynamoDB refused the request: check the syntax of UpdateExpression, ConditionExpression, "
        "ProjectionExpression and FilterExpression, and that each value fits the attribute it is used with",
        error_type="ValidationException",
        cause=cause,
    )


def _failure(attempts: _Attempts, operation: str, code: str, description: str) -> ApiError:
    """The answer to a failed call: the write's outcome unknown, throttled, or the database failing."""
    cause = f"DynamoDB {operation}: {description}"
    if attempts.unknown:
        return outcome_unknown(cause)
    if code in THROTTLING_CODES or (code == OutOfTimeError.__name__ and attempts.throttled):
        return ApiError(
            503,
            "the table is busy; retry later",
            error_type=code if code in THROTTLING_CODES else "ThrottlingException",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
            cause=cause,
        )
    if code == OutOfTimeError.__name__:
        return ApiError(502, "the database did not answer in time", cause=cause)
    if code:
        return ApiError(502, "the database failed to answer", error_type=code, cause=cause)
    return ApiError(502, "the database could not be reached", cause=cause)


def outcome_unknown(cause: str) -> ApiError:
    """502 for a write that may or may not have been made: the client must look before trying again."""
    return ApiError(502, OUTCOME_UNKNOWN_DETAIL, error_type="OutcomeUnknown", cause=cause)


def new_item_put(item: dict) -> dict[str, Any]:
    """PutItem parameters that write an item only if none has its id."""
    return {
        "TableName": table_name(),
        "Item": to_item(item),
        "ConditionExpression": "attribute_not_exists(#id)",
        "ExpressionAttributeNames": {"#id": "id"},
    }


def put_new(item: dict) -> None:
    """Write an item that must not exist yet; ``ConditionFailedError`` carries the existing one."""
    _invoke("put_item", False, {**new_item_put(item), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})


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
