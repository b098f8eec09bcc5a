"""The AWS tutorial's RPC contract — ``{"operation", "tableName"?, "payload"}`` — without its security holes.

The tutorial passed ``payload`` to DynamoDB with ``**`` on a caller-chosen table. Here the table is always the
configured one, payload keys are allow-listed per operation, keys must be exactly ``{"id": …}``, the caller's
expressions may not touch ``id`` or the server-managed attributes, and the server adds its own conditions and
``version``/``updatedAt`` maintenance. Answers keep the tutorial's shapes minus boto3's ``ResponseMetadata``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import codec
import item_rules
import items
import store
from problems import ApiError

MAX_EXPRESSION_BYTES = 4096  # DynamoDB's limit for any expression string, "4 KB", counted in bytes
PROTECTED = frozenset({"id", *item_rules.SERVER_MANAGED})
_PLACEHOLDER = {"#": re.compile(r"#[A-Za-z0-9_]{1,254}"), ":": re.compile(r":[A-Za-z0-9_]{1,254}")}
_SERVER_PREFIXES = ("#srv", ":srv")  # the server's own placeholders; callers may not use them
_USED_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")
_TOKEN = re.compile(r"[#:]?[A-Za-z0-9_]+")
_CLAUSE = re.compile(r"(?<![#:\w.])(SET|REMOVE|ADD|DELETE)(?!\w)", re.IGNORECASE)
_SERVER_SET = (
    "#srvVersion = if_not_exists(#srvVersion, :srvZero) + :srvOne, #srvUpdated = :srvNow, "
    "#srvCreated = if_not_exists(#srvCreated, :srvNow)"
)
_UPDATE_RETURN_VALUES = frozenset({"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"})
_DELETE_RETURN_VALUES = frozenset({"NONE", "ALL_OLD"})
_EVENT_KEYS = frozenset({"operation", "tableName", "payload"})


# --- payload pieces -------------------------------------------------------------------------------------


def _key(payload: dict, field: str = "Key") -> dict:
    key = payload.get(field)
    if not isinstance(key, dict) or set(key) != {"id"}:
        raise ApiError(400, f'{field} must be exactly {{"id": "<id>"}}')
    return {"id": {"S": item_rules.valid_id(key["id"], f"{field}.id")}}


def _expression(payload: dict, field: str) -> str | None:
    expression = payload.get(field)
    if expression is None:
        return None
    if not isinstance(expression, str) or not expression.strip() or _size(expression) > MAX_EXPRESSION_BYTES:
        raise ApiError(
            400, f"{field} must be a non-empty string of at most {MAX_EXPRESSION_BYTES} bytes (UTF-8)"
        )
    _check_parentheses(field, expression)
    return expression


def _check_parentheses(field: str, expression: str) -> None:
    """Every ``(`` closed in order: the server wraps the caller's condition in its own parentheses, and an
    unbalanced one would close them and put the rest outside the server's clause. DynamoDB expressions have
    no string literals, so counting characters is exact."""
    depth = 0
    for character in expression:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            break
    if depth:
        raise ApiError(400, f"{field} has unbalanced parentheses: each '(' needs a ')' after it")


def _size(expression: str) -> int:
    return len(expression.encode("utf-8", "surrogatepass"))


def _as_sent(field: str, sent: str, given: str | None) -> str:
    """The expression the server sends in place of the caller's ``given`` one, or the function's own 400 when
    what the server adds (its version and timestamp upkeep, its existence check) takes it past DynamoDB's
    limit: DynamoDB's own 400 would be about text the caller never wrote."""
    excess = _size(sent) - MAX_EXPRESSION_BYTES
    if excess > 0:
        added = _size(sent) - _size(given or "")
        raise ApiError(
            400,
            f"{field} is {excess} bytes too long: DynamoDB takes {MAX_EXPRESSION_BYTES} bytes per "
            f"expression, and the server adds {added} of its own (version, timestamps, existence check)",
        )
    return sent


def _placeholders(payload: dict, field: str, sigil: str) -> dict:
    given = payload.get(field)
    if given is None:
        return {}
    if not isinstance(given, dict) or not given:
        raise ApiError(400, f"{field} must be a non-empty object")
    for placeholder in given:
        if not _PLACEHOLDER[sigil].fullmatch(placeholder):
            raise ApiError(400, f"{field}: {placeholder!r} is not a {sigil}placeholder")
        if placeholder.lower().startswith(_SERVER_PREFIXES):
            raise ApiError(400, f"{field}: placeholders starting with {sigil}srv are reserved")
    return given


def _names(payload: dict) -> dict[str, str]:
    names = _placeholders(payload, "ExpressionAttributeNames", "#")
    for placeholder, name in names.items():
        if not isinstance(name, str) or not name:
            raise ApiError(400, f"ExpressionAttributeNames: {placeholder} must name an attribute")
    return dict(names)


def _values(payload: dict) -> dict[str, dict]:
    values = _placeholders(payload, "ExpressionAttributeValues", ":")
    return {
        name: codec.to_attribute(value, f"ExpressionAttributeValues.{name}")[0]
        for name, value in values.items()
    }


def _check_defined(expressions: list[str | None], names: dict, values: dict) -> None:
    """Every #name and :value an expression uses is defined (DynamoDB says so too, but emulators don't)."""
    for expression in filter(None, expressions):
        for placeholder in _USED_PLACEHOLDER.findall(expression):
            if placeholder not in (names if placeholder[0] == "#" else values):
                raise ApiError(400, f"{placeholder} is used in an expression but not defined")


def _return_values(payload: dict, allowed: frozenset[str]) -> str:
    value = payload.get("ReturnValues", "NONE")
    if not isinstance(value, str) or value not in allowed:  # a list or object is not hashable
        raise ApiError(400, f"ReturnValues must be one of {', '.join(sorted(allowed))}")
    return value


def _guarded(condition: str | None) -> str:
    """The server's existence condition, and the caller's on top (both must hold)."""
    if not condition:
        return "attribute_exists(#srvId)"
    return _as_sent("ConditionExpression", f"attribute_exists(#srvId) AND ({condition})", condition)


def _attributes(answer: dict) -> dict:
    attributes = answer.get("Attributes")
    return {"Attributes": codec.from_item(attributes)} if attributes else {}


# --- update expressions ---------------------------------------------------------------------------------


def _check_targets(expression: str, names: dict[str, str]) -> None:
    """The caller's UpdateExpression may not mention id or a server-managed attribute, bare or by #name."""
    for token in _TOKEN.findall(expression):
        name = names.get(token, token) if token.startswith("#") else token
        if name in PROTECTED:
            raise ApiError(400, f"UpdateExpression may not touch '{name}': it is managed by the server")


def _with_server_set(expression: str) -> str:
    """The caller's clauses with the server's version/timestamp assignments merged into the one SET clause."""
    parts = _CLAUSE.split(expression)
    if parts[0].strip():
        raise ApiError(400, "UpdateExpression must start with SET, REMOVE, ADD or DELETE")
    clauses = [
        [keyword.upper(), body.strip()] for keyword, body in zip(parts[1::2], parts[2::2], strict=True)
    ]
    keywords = [keyword for keyword, _ in clauses]
    if len(set(keywords)) != len(keywords) or any(not body for _, body in clauses):
        raise ApiError(400, "UpdateExpression: each clause at most once, and none empty")
    for clause in clauses:
        if clause[0] == "SET":
            clause[1] = f"{clause[1]}, {_SERVER_SET}"
            break
    else:
        clauses.append(["SET", _SERVER_SET])
    return " ".join(f"{keyword} {body}" for keyword, body in clauses)


def _from_attribute_updates(updates: Any) -> tuple[str, dict[str, str], dict[str, dict]]:
    """The older edition's AttributeUpdates ({attr: {Value, Action=PUT|ADD|DELETE}}) as an expression."""
    if not isinstance(updates, dict) or not updates:
        raise ApiError(400, "AttributeUpdates must be a non-empty object")
    clauses: dict[str, list[str]] = {"SET": [], "REMOVE": [], "ADD": []}
    names: dict[str, str] = {}
    values: dict[str, dict] = {}
    for index, (name, update) in enumerate(updates.items()):
        where = f"AttributeUpdates.{name}"
        if not name or name in PROTECTED:
            raise ApiError(400, f"{where}: this attribute cannot be updated")
        if not isinstance(update, dict) or not set(update) <= {"Value", "Action"}:
            raise ApiError(400, f'{where} must be {{"Value": …, "Action": "PUT"|"ADD"|"DELETE"}}')
        action = update.get("Action", "PUT")
        name_ref, value_ref = f"#a{index}", f":a{index}"
        names[name_ref] = name
        if action == "DELETE" and "Value" not in update:
            clauses["REMOVE"].append(name_ref)
            continue
        if action not in ("PUT", "ADD") or "Value" not in update:
            raise ApiError(400, f"{where}: PUT and ADD need a Value; DELETE of set elements is not supported")
        value = update["Value"]
        if action == "ADD" and (
            isinstance(value, bool) or not isinstance(value, int | float | codec.Decimal)
        ):
            raise ApiError(400, f"{where}: ADD needs a number")
        values[value_ref] = codec.to_attribute(value, where)[0]
        if action == "PUT":
            clauses["SET"].append(f"{name_ref} = {value_ref}")
        else:
            clauses["ADD"].append(f"{name_ref} {value_ref}")
    expression = " ".join(f"{kind} {', '.join(body)}" for kind, body in clauses.items() if body)
    return expression, names, values


# --- operations -----------------------------------------------------------------------------------------


def create(payload: dict) -> dict:
    item = payload.get("Item")
    if not isinstance(item, dict):
        raise ApiError(400, "Item must be an object")
    item_id = item_rules.valid_id(item.get("id"), "Item.id")
    item_rules.reject_server_managed(item)
    items.insert(item, item_id)
    return {}


def read(payload: dict) -> dict:
    params: dict[str, Any] = {"Key": _key(payload)}
    projection = _expression(payload, "ProjectionExpression")
    if projection:
        params["ProjectionExpression"] = projection
    names = _names(payload)
    _check_defined([projection], names, {})
    if names:
        params["ExpressionAttributeNames"] = names
    consistent = payload.get("ConsistentRead", False)
    if not isinstance(consistent, bool):
        raise ApiError(400, "ConsistentRead must be true or false")
    params["ConsistentRead"] = consistent
    found = store.call("get_item", **params).get("Item")
    return {"Item": codec.from_item(found)} if found else {}


def update(payload: dict) -> dict:
    key = _key(payload)
    if ("AttributeUpdates" in payload) == ("UpdateExpression" in payload):
        raise ApiError(400, "send either UpdateExpression or AttributeUpdates")
    condition = _expression(payload, "ConditionExpression")
    if "AttributeUpdates" in payload:
        if condition or "ExpressionAttributeNames" in payload or "ExpressionAttributeValues" in payload:
            raise ApiError(400, "AttributeUpdates cannot be combined with expressions")
        expression, names, values = _from_attribute_updates(payload["AttributeUpdates"])
    else:
        expression = _expression(payload, "UpdateExpression")
        names, values = _names(payload), _values(payload)
        _check_defined([expression, condition], names, values)
        _check_targets(expression, names)
    names.update(
        {"#srvId": "id", "#srvVersion": "version", "#srvUpdated": "updatedAt", "#srvCreated": "createdAt"}
    )
    values.update({":srvZero": {"N": "0"}, ":srvOne": {"N": "1"}, ":srvNow": {"S": item_rules.now()}})
    try:
        answer = store.call(
            "update_item",
            Key=key,
            UpdateExpression=_as_sent("UpdateExpression", _with_server_set(expression), expression),
            ConditionExpression=_guarded(condition),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues=_return_values(payload, _UPDATE_RETURN_VALUES),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            once=True,  # a second copy would pass the existence check and apply the expression again
        )
    except store.ConditionFailedError as failed:
        if failed.item is None:
            raise ApiError(404, "no item with this id; create it first", error_type="ItemNotFound") from None
        raise ApiError(
            409, "the ConditionExpression did not hold", error_type="ConditionalCheckFailedException"
        ) from None
    return _attributes(answer)


def delete(payload: dict) -> dict:
    condition, names, values = _expression(payload, "ConditionExpression"), _names(payload), _values(payload)
    _check_defined([condition], names, values)
    params: dict[str, Any] = {
        "Key": _key(payload),
        "ConditionExpression": _guarded(condition),
        "ExpressionAttributeNames": {**names, "#srvId": "id"},
        "ReturnValues": _return_values(payload, _DELETE_RETURN_VALUES),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if values:
        params["ExpressionAttributeValues"] = values
    try:
        answer = store.call("delete_item", **params)
    except store.ConditionFailedError as failed:
        if failed.after_unknown:  # gone or changed: by this delete's lost attempt, or by another writer
            raise store.outcome_unknown("a retried DeleteItem's condition failed") from None
        if failed.item is None:  # nothing to delete: the tutorial answered 200 too
            return {}
        raise ApiError(
            409, "the ConditionExpression did not hold", error_type="ConditionalCheckFailedException"
        ) from None
    return _attributes(answer)


def scan(payload: dict) -> dict:
    limit = payload.get("Limit", items.MAX_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= items.MAX_LIMIT:
        raise ApiError(400, f"Limit must be an integer from 1 to {items.MAX_LIMIT}")
    params: dict[str, Any] = {"Limit": limit}
    if "ExclusiveStartKey" in payload:
        params["ExclusiveStartKey"] = _key(payload, "ExclusiveStartKey")
    names, values = _names(payload), _values(payload)
    for field in ("ProjectionExpression", "FilterExpression"):
        expression = _expression(payload, field)
        _check_defined([expression], names, values)
        if expression:
            params[field] = expression
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = values
    answer = store.call("scan", **params)
    result: dict[str, Any] = {
        "Items": [codec.from_item(item) for item in answer.get("Items", [])],
        "Count": answer.get("Count", 0),
        "ScannedCount": answer.get("ScannedCount", 0),
    }
    if answer.get("LastEvaluatedKey"):
        result["LastEvaluatedKey"] = codec.from_item(answer["LastEvaluatedKey"])
    return result


_KEY_ONLY = frozenset({"Key"})
_NAMES_VALUES = frozenset({"ExpressionAttributeNames", "ExpressionAttributeValues"})
OPERATIONS: dict[str, tuple[Callable[[dict], Any], frozenset[str]]] = {
    "create": (create, frozenset({"Item"})),
    "read": (read, _KEY_ONLY | {"ProjectionExpression", "ExpressionAttributeNames", "ConsistentRead"}),
    "update": (
        update,
        _KEY_ONLY
        | _NAMES_VALUES
        | {"UpdateExpression", "ConditionExpression", "ReturnValues", "AttributeUpdates"},
    ),
    "delete": (delete, _KEY_ONLY | _NAMES_VALUES | {"ConditionExpression", "ReturnValues"}),
    "list": (
        scan,
        _NAMES_VALUES | {"Limit", "ExclusiveStartKey", "ProjectionExpression", "FilterExpression"},
    ),
}
# Every operation a tutorial event may name. A tuple: an unhashable "operation" (a list) must be a 400, and
# `in` on a set would raise TypeError for it.
OPERATION_NAMES = (*OPERATIONS, "echo", "ping")


def run(event: Any) -> Any:
    """One tutorial request (the proxy body or a direct invocation's event) → the tutorial-shaped result."""
    if not isinstance(event, dict):
        raise ApiError(400, 'the request must be an object like {"operation": "read", "payload": {…}}')
    unknown = set(event) - _EVENT_KEYS
    if unknown:
        raise ApiError(400, f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    operation = event.get("operation")
    if operation not in OPERATION_NAMES:
        raise ApiError(400, f'Unrecognized operation "{operation}"', error_type="ValueError")
    if "tableName" in event and event["tableName"] != store.table_name():
        raise ApiError(
            403, "tableName must be omitted or name this service's table", error_type="AccessDenied"
        )
    payload = event.get("payload")
    if operation == "ping":
        return "pong"
    if operation == "echo":
        return payload
    handler, allowed = OPERATIONS[operation]
    if payload is None and operation == "list":
        payload = {}
    if not isinstance(payload, dict):
        raise ApiError(400, f"payload must be an object for {operation}")
    unknown = set(payload) - allowed
    if unknown:
        raise ApiError(400, f"{operation} does not accept {', '.join(sorted(map(str, unknown)))}")
    return handler(payload)
