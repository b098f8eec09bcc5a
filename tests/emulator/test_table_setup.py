"""The function's environment on the emulator: what the Pulumi component sets, with a cursor key per run."""

from __future__ import annotations

import base64

from api.names import CURSOR_KEY_VARIABLE
from emulator.moto_server import aws_env
from emulator.table_setup import function_environment


def test_the_function_gets_the_table_the_emulator_and_a_fresh_cursor_key() -> None:
    first = function_environment("http://127.0.0.1:4566", "items", "eu-west-1")
    second = function_environment("http://127.0.0.1:4566", "items", "eu-west-1")
    assert {k: v for k, v in first.items() if k != CURSOR_KEY_VARIABLE} == {
        **aws_env("http://127.0.0.1:4566", "eu-west-1"),
        "TABLE_NAME": "items",
        "IDEMPOTENCY_TABLE_NAME": "items-idempotency",
    }
    key = first[CURSOR_KEY_VARIABLE]
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == 32  # 256 random bits
    assert second[CURSOR_KEY_VARIABLE] != key  # each start makes its own: no run accepts another's cursors
