"""The /items resource: create, read, replace, merge-patch, delete and list, all with optimistic locking.

Every item carries ``version`` (1 on creation, +1 per write; the ETag), ``createdAt`` and ``updatedAt``.
Writes are conditional on the version they were computed from, so two writers can never silently overwrite
each other: with ``If-Match`` the loser gets 412; without it the write is recomputed from the item DynamoDB
returned with the failed condition (no extra read), a few times, then 409.
"""

from __future__ import annotations

import os
import re
from typing import Any

import codec
import cursors
import idempotency
import item_rules
import proxy
import store
from problems import ApiError
from proxy import Request, Response

DEFAULT_LIMIT, MAX_LIMIT = 25, 100
WRITE_ATTEMPTS = 5
RECENT_CAPACITY = 1024
_ETAG = re.compile(r'(?:W/)?"?([^",]*)"?')
# ASCII only and short: str.isdigit() also passes "²" and "١", which int() refuses or reads as other numbers.
_DIGITS = re.compile(r"[0-9]{1,18}")


def _item_response(status: int, item: dict, request: Request, created: bool = False) -> Response:
    headers = {"ETag": item_rules.etag(item)}
    if created:
        headers["Location"] = f"{request.base_path}/items/{item['id']}"
    return Response(status, item, headers)


# --- preconditions --------------------------------------------------------------------------------------


def if_match(request: Request) -> frozenset[int] | str | None:
    """None (no header), "*", or the versions a client's If-Match names (weak tags never match: RFC 9110)."""
    value = request.header("if-match")
    if value is None:
        return None
    if value.strip() == "*":
        return "*"
    versions = set()
    for tag in value.split(","):
        tag = tag.strip()
        match = _ETAG.fullmatch(tag)
        if not tag or match is None or not _DIGITS.fullmatch(match.group(1)):
            raise ApiError(400, f'If-Match must be * or entity tags like "3", not {value!r}')
        if not tag.startswith("W/"):
            versions.add(int(match.group(1)))
    return frozenset(versions)


def _create_only(request: Request) -> bool:
    value = request.header("if-none-match")
    if value is None:
        return False
    if value.strip() != "*":
        raise ApiError(400, "only If-None-Match: * (create only) is supported")
    return True


# --- what this environment last saw ----------------------------------------------------------------------

_recent: dict[str, dict] = {}  # id → {"version", "createdAt"} as this execution environment last saw it


def remember(item_id: str, item: dict | None) -> None:
    """Note an item's version, so a PUT without preconditions can usually replace it in one conditional write
    (a stale note only costs the retry the write would have needed anyway: the condition catches it)."""
    _recent.pop(item_id, None)
    if (
        item is not None
        and item_rules.is_version(item.get("version"))
        and isinstance(item.get("createdAt"), str)
    ):
        _recent[item_id] = {"version": item["version"], "createdAt": item["createdAt"]}
        if len(_recent) > RECENT_CAPACITY:
            del _recent[next(iter(_recent))]


# --- DynamoDB writes ------------------------------------------------------------------------------------


def _stored_form(document: dict) -> dict:
    """A document as DynamoDB gives it back (typed, numbers in one spelling: 1E+2 and 100 alike)."""
    return codec.to_item(codec.from_item(codec.to_item(document)))


def made_earlier(failed: store.ConditionFailedError, written: dict, current: dict | None = None) -> bool:
    """Whether a write whose condition failed was made all the same, by an earlier attempt of the same call.

    Only an attempt whose outcome is unknown (its answer was lost) can have done it, and it would have left
    exactly ``written``: found → made. If another write holds the version this one needed (``current``'s
    next), this one was never made: its condition demanded ``current``. Anything else cannot be told apart
    (it was made and then overwritten, or never made): 502, outcome unknown."""
    if not failed.after_unknown:
        return False
    found = failed.item
    if found is not None and _stored_form(found) == _stored_form(written):
        return True
    if (
        found is not None
        and current is not None
        and item_rules.is_version(current.get("version"))
        and found.get("version") == current["version"] + 1
        and found.get("createdAt") == current.get("createdAt")
    ):
        return False
    raise store.outcome_unknown(f"item {written.get('id')!r}: a retried write's condition failed")


def _new_item(document: dict, item_id: str) -> dict:
    """Item ``item_id`` as a client's document creates it (the document's own "id" ignored)."""
    return item_rules.stamped({k: v for k, v in document.items() if k != "id"}, item_id, None)


def insert(document: dict, item_id: str) -> dict:
    """Create item ``item_id`` from a client's document (its own "id" ignored) and return it as stored; 409
    when the id is taken (errorType as DynamoDB names the failure, for tutorial clients)."""
    item = _new_item(document, item_id)
    try:
        _put_new(item)
    except store.ConditionFailedError:
        raise ApiError(
            409, f"an item with id {item_id!r} already exists", error_type="ConditionalCheckFailedException"
        ) from None
    return item


def read(item_id: str, consistent: bool = False) -> dict | None:
    item = store.get(item_id, consistent)
    remember(item_id, item)
    return item


def _put_new(item: dict) -> None:
    try:
        store.put_new(item)
    except store.ConditionFailedError as failed:
        if not made_earlier(failed, item):
            raise
    remember(item["id"], item)


def _put_next(item: dict, current: dict) -> None:
    try:
        store.put_next(item, current)
    except store.ConditionFailedError as failed:
        if not made_earlier(failed, item, current):
            raise
    remember(item["id"], item)


# --- routes ---------------------------------------------------------------------------------------------


def create_item(request: Request) -> Response:
    key = idempotency.client_key(request)
    document = proxy.json_object_body(request, proxy.JSON_MEDIA_TYPES)
    item_rules.reject_server_managed(document)
    item_id = item_rules.valid_id(document["id"]) if "id" in document else os.urandom(16).hex()
    if key is None:
        return _item_response(201, insert(document, item_id), request, created=True)
    item = _new_item(document, item_id)
    made = _item_response(201, item, request, created=True)
    answer = idempotency.put_once(idempotency.keyed(request, key, document), store.new_item_put(item), made)
    if answer is made:
        remember(item_id, item)
    return answer


def get_item(request: Request) -> Response:
    item = read(item_rules.valid_id(request.path_parameters.get("id")))
    if item is None:
        raise ApiError(404, "no item with this id")
    return _item_response(200, item, request)


def replace_item(request: Request) -> Response:
    item_id = item_rules.valid_id(request.path_parameters.get("id"))
    expected = if_match(request)
    create_only = _create_only(request)
    if create_only and expected is not None:
        raise ApiError(400, "send either If-Match or If-None-Match, not both")
    attributes = proxy.json_object_body(request, proxy.JSON_MEDIA_TYPES)
    item_rules.reject_server_managed(attributes, also=("id",))
    current = None if create_only else _recent.get(item_id)
    if expected is not None:
        current = read(item_id, consistent=True)
        item_rules.check_if_match(expected, current)
    for _ in range(WRITE_ATTEMPTS):
        item = item_rules.stamped(attributes, item_id, current)
        try:
            if current is None:
                _put_new(item)
                return _item_response(201, item, request, created=True)
            _put_next(item, current)
            return _item_response(200, item, request)
        except store.ConditionFailedError as failed:
            if create_only:
                raise ApiError(412, "If-None-Match: * was given but the item exists") from None
            if expected is not None:
                raise ApiError(412, "the item changed since the version If-Match names") from None
            current = failed.item
            remember(item_id, current)
    raise ApiError(409, "the item kept changing under concurrent writers; retry")


def patch_item(request: Request) -> Response:
    idempotency.client_key(request)  # checked only: If-Match already makes a repeat a 412
    item_id = item_rules.valid_id(request.path_parameters.get("id"))
    expected = if_match(request)
    patch = proxy.json_object_body(request, proxy.MERGE_PATCH_MEDIA_TYPES)
    item_rules.reject_server_managed(patch, also=("id",))
    codec.to_map(patch)  # refuse unstorable values before reading, whether or not the item exists
    current = read(item_id, consistent=True)
    for _ in range(WRITE_ATTEMPTS):
        if current is None and expected is None:
            raise ApiError(404, "no item with this id")
        item_rules.check_if_match(
            expected, current
        )  # 412 also when If-Match names an item that does not exist
        attributes = {k: v for k, v in current.items() if k != "id" and k not in item_rules.SERVER_MANAGED}
        item = item_rules.stamped(item_rules.merge_patch(attributes, patch), item_id, current)
        try:
            _put_next(item, current)
            return _item_response(200, item, request)
        except store.ConditionFailedError as failed:
            if expected is not None:
                raise ApiError(412, "the item changed since the version If-Match names") from None
            current = failed.item
    raise ApiError(409, "the item kept changing under concurrent writers; retry")


def delete_item(request: Request) -> Response:
    idempotency.client_key(
        request
    )  # checked only: a repeated delete changes nothing (404, or 412 with If-Match)
    item_id = item_rules.valid_id(request.path_parameters.get("id"))
    expected = if_match(request)
    versions = expected if isinstance(expected, frozenset) else None
    if versions is not None and not versions:
        raise ApiError(412, "If-Match names no version this item can have")
    try:
        store.delete(item_id, versions)
    except store.ConditionFailedError as failed:
        if failed.after_unknown:  # gone or changed: by this delete's lost attempt, or by another writer
            raise store.outcome_unknown(f"item {item_id!r}: a retried delete's condition failed") from None
        remember(item_id, failed.item)
        if failed.item is None and expected is None:
            raise ApiError(404, "no item with this id") from None
        raise ApiError(412, "the item does not exist at a version If-Match names") from None
    remember(item_id, None)
    return Response(204)


# --- listing --------------------------------------------------------------------------------------------


def parse_limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(value)


def scan_page(limit: int, start: dict | None) -> tuple[list[dict], dict | None]:
    """Up to ``limit`` items after ``start``, and the key the next page starts after: None only when no item
    follows, as the API promises (nextCursor is null on the last page, and only there).

    DynamoDB may send a LastEvaluatedKey with a page that happens to end the table, which would leave the
    client an empty page to fetch. Asking for one item more than the page tells, in the same call, whether
    another follows; only a page cut short by DynamoDB's 1 MB limit needs a second, one-item look ahead.
    """
    params: dict[str, Any] = {"Limit": limit + 1}
    if start is not None:
        params["ExclusiveStartKey"] = start
    answer = store.call("scan", **params)
    found = answer.get("Items", [])
    if len(found) > limit:
        return found[:limit], {"id": found[limit - 1]["id"]}
    last_key = answer.get("LastEvaluatedKey")
    if last_key:
        ahead = store.call("scan", Limit=1, ExclusiveStartKey=last_key)
        if not ahead.get("Items") and not ahead.get("LastEvaluatedKey"):
            last_key = None
    return found, last_key


def list_items(request: Request) -> Response:
    limit = parse_limit(request.query.get("limit"))
    table = store.table_name()
    cursor = request.query.get("cursor")
    start = None if cursor is None else {"id": {"S": cursors.decode(table, cursor)}}
    found, last_key = scan_page(limit, start)
    return Response(
        200,
        {
            "items": [codec.from_item(item) for item in found],
            "nextCursor": cursors.encode(table, last_key["id"]["S"]) if last_key else None,
        },
    )
