"""The one reader of ``api/table.json``, the table's definition in CreateTable's shape: the Pulumi program
deploys it, the emulator creates it, the tests use it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLE_PATH = Path(__file__).resolve().parent / "table.json"
IDEMPOTENCY_TABLE_PATH = Path(__file__).resolve().parent / "idempotency_table.json"
# Not a CreateTable argument: the attribute DynamoDB's TTL expires items by (UpdateTimeToLive).
_TTL_KEY = "TimeToLiveAttribute"


def _spec(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def table_definition(path: Path = TABLE_PATH) -> dict[str, Any]:
    """CreateTable arguments (without TableName); keys starting with "_" are comments."""
    return {key: value for key, value in _spec(path).items() if not key.startswith("_") and key != _TTL_KEY}


def time_to_live_attribute(path: Path) -> str | None:
    """The attribute the table's TTL reads, or None when the table has no TTL."""
    return _spec(path).get(_TTL_KEY)


@dataclass(frozen=True)
class TableKeys:
    """Key attributes in the shape `aws.dynamodb.Table` takes (only key attributes may be declared)."""

    attributes: list[dict[str, str]]
    hash_key: str
    range_key: str | None


def load_table_keys(path: Path = TABLE_PATH) -> TableKeys:
    """Translate the CreateTable-shaped file; refuse billing modes other than on-demand."""
    schema = table_definition(path)
    if schema.get("BillingMode", "PAY_PER_REQUEST") != "PAY_PER_REQUEST":
        raise ValueError(f"{path}: BillingMode must be PAY_PER_REQUEST, the only mode the stack deploys")
    keys = {k["KeyType"]: k["AttributeName"] for k in schema["KeySchema"]}
    return TableKeys(
        attributes=[
            {"name": a["AttributeName"], "type": a["AttributeType"]} for a in schema["AttributeDefinitions"]
        ],
        hash_key=keys["HASH"],
        range_key=keys.get("RANGE"),
    )
