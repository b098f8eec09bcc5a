"""Create the function's DynamoDB table on the emulator from api/table.json, the one definition of it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

TABLE_SPEC = Path(__file__).resolve().parent.parent / "api" / "table.json"


def table_definition() -> dict[str, Any]:
    """CreateTable arguments (without TableName) from api/table.json; keys starting with "_" are comments."""
    spec = json.loads(TABLE_SPEC.read_text())
    return {key: value for key, value in spec.items() if not key.startswith("_")}


def create_table(dynamodb_client: Any, table_name: str) -> None:
    """Create ``table_name`` and wait until it is ACTIVE; an existing table is kept (so restarts are safe)."""
    with contextlib.suppress(dynamodb_client.exceptions.ResourceInUseException):
        dynamodb_client.create_table(TableName=table_name, **table_definition())
    dynamodb_client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
