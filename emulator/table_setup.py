"""Create the function's DynamoDB table on the emulator from api/table.json (read by ``api.table_schema``)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from api.names import CURSOR_KEY_VARIABLE, DEFAULT_REGION, IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name
from api.table_schema import IDEMPOTENCY_TABLE_PATH, TABLE_PATH, table_definition, time_to_live_attribute
from emulator.moto_server import aws_env, running_moto
from settings.lazy_imports import boto3_client


def create_table(dynamodb_client: Any, table_name: str) -> None:
    """Create ``table_name`` and its idempotency records' table beside it, as the stack deploys them, and
    wait until both are ACTIVE; existing tables are kept (so restarts are safe)."""
    for name, path in (
        (table_name, TABLE_PATH),
        (idempotency_table_name(table_name), IDEMPOTENCY_TABLE_PATH),
    ):
        with contextlib.suppress(dynamodb_client.exceptions.ResourceInUseException):
            dynamodb_client.create_table(TableName=name, **table_definition(path))
        dynamodb_client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        attribute = time_to_live_attribute(path)
        if attribute:
            dynamodb_client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )


def function_environment(endpoint_url: str, table_name: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """What the Pulumi component gives the function, for ``table_name`` on the emulator at ``endpoint_url``:
    ``aws_env`` (endpoint, region, the emulator's fake credentials), TABLE_NAME, and a list-cursor key made
    now, as Pulumi makes the stack's secret: cursors then hold across this run's execution environments and
    no other run's are accepted."""
    return {
        **aws_env(endpoint_url, region),
        "TABLE_NAME": table_name,
        IDEMPOTENCY_TABLE_VARIABLE: idempotency_table_name(table_name),
        CURSOR_KEY_VARIABLE: secrets.token_urlsafe(32),
    }


def dynamodb_client(environment: Mapping[str, str]) -> Any:
    """A DynamoDB client for the emulator that a function environment (``aws_env`` keys) points at."""
    return boto3_client(
        "dynamodb",
        endpoint_url=environment["AWS_ENDPOINT_URL"],
        region_name=environment["AWS_REGION"],
        aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
    )


@contextlib.contextmanager
def private_table(table_name: str, region: str = DEFAULT_REGION) -> Iterator[dict[str, str]]:
    """A private moto server holding a fresh ``table_name``; yields the function's environment
    (``function_environment``). The server stops on exit, also on errors and Ctrl-C."""
    with running_moto() as server:
        environment = function_environment(server.endpoint_url, table_name, region)
        create_table(dynamodb_client(environment), table_name)
        yield environment
