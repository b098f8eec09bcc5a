"""``Idempotency-Key`` on ``POST /items`` (draft-ietf-httpapi-idempotency-key-header): a client that lost an
answer sends the same request with the same key again and gets the first answer, not a second item.

The item and the key's record (the answer given, with a fingerprint of the request) are written in one
DynamoDB transaction to a second table (``IDEMPOTENCY_TABLE_NAME``), so there is never an item without its
record, nor a record of an answer that was not given; the items table holds items only, and a scan of it
never meets a record. A repeat finds the record in the transaction's own cancellation reasons. Records are
judged expired by their own ``expiresAt``; DynamoDB's TTL on it only sweeps them away, up to days later.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass

import codec
import store
from problems import ApiError
from proxy import Request, Response

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_TTL_HOURS = 24
# 1–255 printable ASCII characters (the draft leaves the syntax to the server).
_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_RETRY_AFTER_S = "1"


@dataclass(frozen=True)
class Keyed:
    """A request's key as stored: a hash over the caller and the client's key, and the request's
    fingerprint (method, path and the body as a canonical JSON document)."""

    record_key: str
    fingerprint: str
    client_key: str


def table_name() -> str:
    name = os.environ.get("IDEMPOTENCY_TABLE_NAME")
    if not name:
        raise ApiError(
            500,
            "the function is not configured",
            cause="environment variable IDEMPOTENCY_TABLE_NAME is not set",
        )
    return name


def ttl_seconds() -> int:
    return int(float(os.environ.get("IDEMPOTENCY_TTL_HOURS", DEFAULT_TTL_HOURS)) * 3600)


def client_key(request: Request) -> str | None:
    """The request's Idempotency-Key, checked; None without one; 400 when it is not 1–255 printable
    characters."""
    value = request.header(HEADER)
    if value is None:
        return None
    if not _KEY.fullmatch(value) or not value.strip():
        raise ApiError(400, "Idempotency-Key must be 1 to 255 printable ASCII characters")
    return value


def keyed(request: Request, key: str, document: dict) -> Keyed:
    """Keys are the caller's own: two API keys (or IAM principals) using the same key never meet."""
    record_key = hashlib.sha256(f"{request.caller}\n{key}".encode()).hexdigest()
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    fingerprint = hashlib.sha256(f"{request.method}\n{request.resource}\n{canonical}".encode()).hexdigest()
    return Keyed(record_key, fingerprint, key)


def _record(keyed_request: Keyed, response: Response, now: int) -> dict:
    return {
        "key": {"S": keyed_request.record_key},
        "fingerprint": {"S": keyed_request.fingerprint},
        "status": {"N": str(response.status)},
        "headers": {"S": json.dumps(response.headers, separators=(",", ":"))},
        "body": {"S": codec.dumps(response.body)},
        "createdAt": {"N": str(now)},
        "expiresAt": {"N": str(now + ttl_seconds())},
    }


def put_once(keyed_request: Keyed, item_put: dict, response: Response) -> Response:
    """Write ``item_put`` (PutItem parameters) together with the record of ``response``; or, when the key
    has an unexpired record, answer what it recorded (422 when it recorded another request)."""
    now = int(time.time())
    record_put = {
        "TableName": table_name(),
        "Item": _record(keyed_request, response, now),
        "ConditionExpression": "attribute_not_exists(#key) OR #expiresAt < :now",
        "ExpressionAttributeNames": {"#key": "key", "#expiresAt": "expiresAt"},
        "ExpressionAttributeValues": {":now": {"N": str(now)}},
    }
    try:
        store.transact_put([item_put, record_put])
    except store.TransactionCanceledError as canceled:
        return _after_cancel(keyed_request, canceled)
    return response


def _after_cancel(keyed_request: Keyed, canceled: store.TransactionCanceledError) -> Response:
    (item_code, _), (record_code, record) = canceled.reasons
    if "TransactionConflict" in (item_code, record_code):
        raise ApiError(
            409,
            f"a request with Idempotency-Key {keyed_request.client_key!r} is still being processed; retry",
            headers={"Retry-After": _RETRY_AFTER_S},
        )
    if record_code == "ConditionalCheckFailed":
        return _replay(keyed_request, record or _read(keyed_request))
    if canceled.after_unknown:  # the id is taken, perhaps by this request's lost attempt with another key
        raise store.outcome_unknown("a retried keyed create's condition failed")
    raise ApiError(409, "an item with this id already exists", error_type="ConditionalCheckFailedException")


def _read(keyed_request: Keyed) -> dict:
    """The record, when the cancellation reasons did not carry it."""
    found = store.call(
        "get_item", table=table_name(), Key={"key": {"S": keyed_request.record_key}}, ConsistentRead=True
    )
    return codec.from_item(found["Item"])


def _replay(keyed_request: Keyed, record: dict) -> Response:
    if record["fingerprint"] != keyed_request.fingerprint:
        raise ApiError(
            422,
            f"Idempotency-Key {keyed_request.client_key!r} was used for another request: send a new key for "
            "a new request",
            error_type="IdempotencyKeyReused",
        )
    headers = {**json.loads(record["headers"]), REPLAYED_HEADER: "true"}
    return Response(int(record["status"]), codec.loads(record["body"]), headers)
