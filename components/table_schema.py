"""The DynamoDB table's keys, read from api/table.json: the one definition shared with the local emulator."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from components.paths import TABLE_SCHEMA


@dataclass(frozen=True)
class TableKeys:
    """Key attributes in the shape `aws.dynamodb.Table` takes (only key attributes may be declared)."""

    attributes: list[dict[str, str]]
    hash_key: str
    range_key: str | None


def load_table_keys(path: Path = TABLE_SCHEMA) -> TableKeys:
    """Translate the CreateTable-shaped file; refuse billing modes other than on-demand."""
    schema = json.loads(path.read_text(encoding="utf-8"))
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
