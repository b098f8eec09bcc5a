"""JSON in and out with exact numbers, and JSON values to and from DynamoDB's typed attribute form.

Written here instead of boto3's TypeSerializer/TypeDeserializer for two measured reasons: importing
``boto3.dynamodb.types`` pulls in all of boto3 (~15 ms more than the botocore client needs), and the checks
DynamoDB would otherwise make after a round trip (38 significant digits, exponent range, nesting, empty names,
400 KB items) must fail here, as a 400/413 that names the attribute, before anything is sent.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from problems import ApiError

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit, names included
MAX_DEPTH = 32  # DynamoDB's nesting limit for lists and maps
MAX_DIGITS = 38  # DynamoDB's number precision
MIN_EXPONENT, MAX_EXPONENT = -130, 125  # DynamoDB's number range: 1E-130 .. 9.99…E+125


def _reject_constant(name: str) -> Any:
    raise ApiError(400, f"{name} is not a number DynamoDB can store")


def loads(text: str) -> Any:
    """Parse JSON with every non-integer as a Decimal (no binary rounding); NaN and Infinity refused."""
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "the body is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ApiError(400, f"the body is not valid JSON: {error}") from None
    except (
        ValueError
    ) as error:  # an integer longer than Python's digit limit; its text names Python internals
        raise ApiError(
            400, f"a number in the body has more digits than DynamoDB stores ({MAX_DIGITS})", cause=str(error)
        ) from None


class _NotFloatExactError(Exception):
    """A Decimal that no binary float reproduces: the document needs the exact (slower) encoder."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if _is_integer(value):
            return int(value)
        as_float = float(value)
        if Decimal(repr(as_float)) == value:
            return as_float
    raise _NotFloatExactError


def dumps(value: Any) -> str:
    """Compact JSON; numbers written exactly as stored (integral → int, 0.1 → 0.1, 38 digits → 38 digits)."""
    try:
        try:
            return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_json_default)
        except _NotFloatExactError:
            return "".join(_exact_chunks(value))
    except RecursionError:  # only an echoed document gets this deep: stored ones stop at 32 levels
        raise ApiError(400, "the document is nested too deeply to write back") from None


def _exact_chunks(value: Any) -> Any:
    """The rare path: a JSON encoder that writes Decimals digit for digit (1E+400 stays 1E+400)."""
    if isinstance(value, Decimal):
        yield str(int(value)) if _is_integer(value) else str(value)
    elif isinstance(value, dict):
        yield "{"
        for index, (key, inner) in enumerate(value.items()):
            yield ("," if index else "") + json.dumps(key) + ":"
            yield from _exact_chunks(inner)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for index, inner in enumerate(value):
            if index:
                yield ","
            yield from _exact_chunks(inner)
        yield "]"
    else:
        yield json.dumps(value, allow_nan=False)


def native(value: Any) -> Any:
    """What the Lambda runtime's marshaller makes of Decimals (floats), for direct invocations' results."""
    try:
        return _native(value)
    except RecursionError:  # only an echoed event gets this deep: stored items stop at 32 levels
        raise ApiError(400, "the document is nested too deeply to write back") from None


def _native(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if _is_integer(value) else float(value)
    if isinstance(value, dict):
        return {key: _native(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_native(inner) for inner in value]
    return value


def _is_integer(number: Decimal) -> bool:
    """Integral and within DynamoDB's range, so writing it out as digits stays cheap: an echoed 1E+999999999
    would otherwise become a billion-digit int (and anything past 4,300 digits cannot even be printed)."""
    _, digits, exponent = number.as_tuple()
    return (
        isinstance(exponent, int)
        and (exponent >= 0 or not any(digits[exponent:]))
        and number.adjusted() <= MAX_EXPONENT
    )


def _number_text(number: Decimal, where: str) -> str:
    """DynamoDB's N string for a finite Decimal within its precision and range, else a 400."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):
        raise ApiError(400, f"{where}: NaN and Infinity cannot be stored")
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
    if not any(digits):
        return "0"
    if significant > MAX_DIGITS:
        raise ApiError(400, f"{where}: more than {MAX_DIGITS} significant digits")
    if not MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise ApiError(400, f"{where}: outside DynamoDB's range 1E-130 … 9.99E+125")
    trimmed = len(digits) - significant
    if trimmed:
        number = Decimal((sign, digits[:significant], exponent + trimmed))
    return str(number)


def _check_text(text: str, where: str) -> int:
    """UTF-8 size of a string; lone surrogates (which DynamoDB refuses) are a 400."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ApiError(400, f"{where}: the string is not valid Unicode") from None


def to_attribute(value: Any, where: str, depth: int = 0) -> tuple[dict, int]:
    """A JSON value as a typed DynamoDB attribute value, with its approximate stored size in bytes."""
    if isinstance(value, str):
        return {"S": value}, _check_text(value, where)
    if isinstance(value, bool):
        return {"BOOL": value}, 1
    if isinstance(value, int):
        text = str(value)
        if len(text) > MAX_DIGITS and len(text.lstrip("-")) > MAX_DIGITS:  # trailing zeros may still fit
            text = _number_text(Decimal(value), where)
        return {"N": text}, len(text) // 2 + 2
    if isinstance(value, Decimal | float):
        try:
            number = value if isinstance(value, Decimal) else Decimal(repr(value))
        except InvalidOperation:
            raise ApiError(400, f"{where}: not a number") from None
        text = _number_text(number, where)
        return {"N": text}, len(text) // 2 + 2
    if value is None:
        return {"NULL": True}, 1
    if depth >= MAX_DEPTH:
        raise ApiError(400, f"{where}: nested deeper than DynamoDB's {MAX_DEPTH} levels")
    if isinstance(value, dict):
        attributes, size = to_map(value, where, depth + 1)
        return {"M": attributes}, size + 3
    if isinstance(value, list):
        elements = []
        size = 3
        for index, inner in enumerate(value):
            attribute, inner_size = to_attribute(inner, f"{where}[{index}]", depth + 1)
            elements.append(attribute)
            size += inner_size + 1
        return {"L": elements}, size
    raise ApiError(400, f"{where}: {type(value).__name__} is not a JSON value")


def to_map(document: dict, where: str = "", depth: int = 0) -> tuple[dict, int]:
    """A JSON object as typed attributes (an item, or a map inside one) and its approximate size."""
    attributes = {}
    size = 0
    for name, inner in document.items():
        path = f"{where}.{name}" if where else name
        if not isinstance(name, str) or not name:
            raise ApiError(400, f"{where or 'item'}: attribute names must be non-empty strings")
        attribute, inner_size = to_attribute(inner, path, depth)
        attributes[name] = attribute
        size += _check_text(name, path) + inner_size + 1
    return attributes, size


def to_item(document: dict) -> dict:
    """A whole item in typed form; 413 when DynamoDB would refuse it for size."""
    attributes, size = to_map(document)
    if size > MAX_ITEM_BYTES:
        raise ApiError(413, f"the item would be about {size} bytes; DynamoDB stores at most {MAX_ITEM_BYTES}")
    return attributes


def _number(text: str) -> int | Decimal:
    if text.lstrip("-").isdigit():
        return int(text)
    number = Decimal(text)
    return int(number) if _is_integer(number) else number


def from_attribute(attribute: dict) -> Any:
    """A typed DynamoDB attribute value as JSON-ready Python (numbers stay exact: int or Decimal)."""
    kind, value = next(iter(attribute.items()))
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "M":
        return {name: from_attribute(inner) for name, inner in value.items()}
    if kind == "L":
        return [from_attribute(inner) for inner in value]
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "NS":
        return [_number(text) for text in value]
    if kind == "SS":
        return list(value)
    # Binary (B, BS) never comes from this API; written by other tools, it is returned as base64 text.
    if kind == "B":
        return base64.b64encode(value).decode("ascii")
    return [base64.b64encode(blob).decode("ascii") for blob in value]


def from_item(attributes: dict) -> dict:
    return {name: from_attribute(inner) for name, inner in attributes.items()}
