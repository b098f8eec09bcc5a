"""List cursors are signed (HMAC-SHA256 over the table's name and the last key): only what the API issued, for
this table and under the current key, continues a listing; anything else is a 400 that says to start again.

Cursors are built here by hand from the format the module documents (base64url of tag ‖ body, the tag
being HMAC-SHA256 of ``<table>\\n<body>``), so the tests do not lean on the code under test for their
inputs; the first test proves such a hand-made cursor is accepted, so the 400s come from what was changed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys

import cursors
import pytest

from api.names import CURSOR_KEY_VARIABLE
from tests.function.conftest import CURSOR_KEY, FUNCTION_DIR, create_table

START_AGAIN = "start listing again without a cursor"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def body(item_id: str) -> bytes:
    return json.dumps({"id": item_id}, separators=(",", ":")).encode()


def signed(item_id: str, table: str, key: str = CURSOR_KEY) -> str:
    tag = hmac.new(key.encode(), table.encode() + b"\n" + body(item_id), hashlib.sha256).digest()
    return b64(tag + body(item_id))


@pytest.fixture
def three_items(api):
    for n in range(3):
        assert api.put(f"/items/c{n}", {"n": n}).status == 201
    return [item["id"] for item in api.get("/items").json["items"]]  # table order


def assert_refused(api, cursor: str) -> None:
    reply = api.get("/items", query={"cursor": cursor})
    assert reply.status == 400, cursor
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert START_AGAIN in reply.json["detail"]
    assert "items" not in reply.json


def test_a_cursor_continues_after_the_id_it_names(api, table_name, three_items):
    first = api.get("/items", query={"limit": "1"}).json
    assert [item["id"] for item in first["items"]] == three_items[:1]
    second = api.get("/items", query={"limit": "1", "cursor": first["nextCursor"]}).json
    assert [item["id"] for item in second["items"]] == three_items[1:2]
    # the same format made by hand is accepted: what the refusals below change is all that differs
    assert first["nextCursor"] == signed(three_items[0], table_name)
    handmade = api.get("/items", query={"cursor": signed(three_items[1], table_name)}).json
    assert [item["id"] for item in handmade["items"]] == three_items[2:]


def test_a_cursor_altered_to_point_at_another_key_is_400(api, table_name, three_items):
    issued = unb64(api.get("/items", query={"limit": "1"}).json["nextCursor"])
    tag = issued[:32]
    assert_refused(api, b64(tag + body(three_items[1])))  # the issued tag, another id
    assert_refused(api, b64(tag + issued[32:].replace(b'"}', b'x"}')))


def test_a_flipped_bit_anywhere_is_400(api, table_name, three_items):
    issued = bytearray(unb64(api.get("/items", query={"limit": "1"}).json["nextCursor"]))
    for position in (0, 31, 32, len(issued) - 1):
        altered = bytearray(issued)
        altered[position] ^= 1
        assert_refused(api, b64(bytes(altered)))


def test_truncated_and_made_up_cursors_are_400(api, table_name, three_items):
    cursor = api.get("/items", query={"limit": "1"}).json["nextCursor"]
    for bad in (cursor[:-1], cursor[:-4], cursor[:43], cursor[:10], "x", "AAAA", cursor + "A"):
        assert_refused(api, bad)
    assert_refused(api, b64(bytes(32) + body(three_items[1])))  # an all-zero tag
    assert_refused(api, b64(body(three_items[1])))  # the body alone, as cursors were before signing
    assert_refused(api, cursor[:-2] + "!!")  # not base64url at all


def test_a_cursor_signed_with_another_key_is_400(api, table_name, three_items):
    assert_refused(api, signed(three_items[1], table_name, key="some-other-stack's-key"))


def test_a_cursor_of_another_table_is_400_even_under_the_same_key(
    api, table_name, three_items, mocked_dynamodb, monkeypatch
):
    issued = api.get("/items", query={"limit": "1"}).json["nextCursor"]
    create_table(mocked_dynamodb.meta.client, f"{table_name}-other")
    monkeypatch.setenv("TABLE_NAME", f"{table_name}-other")
    for n in range(3):
        assert api.put(f"/items/c{n}", {"n": n}).status == 201  # the same ids: only the table differs
    assert_refused(api, issued)
    assert_refused(api, signed(three_items[0], table_name))
    assert api.get("/items", query={"cursor": signed(three_items[0], f"{table_name}-other")}).status == 200


def test_after_a_key_rotation_old_cursors_are_400_and_new_ones_work(
    api, table_name, three_items, monkeypatch
):
    old = api.get("/items", query={"limit": "1"}).json["nextCursor"]
    monkeypatch.setenv(CURSOR_KEY_VARIABLE, "the-rotated-key")
    assert_refused(api, old)
    new = api.get("/items", query={"limit": "1"}).json["nextCursor"]
    assert new == signed(three_items[0], table_name, key="the-rotated-key")
    assert api.get("/items", query={"cursor": new}).status == 200


def test_without_a_key_cursors_hold_in_this_environment_only(api, table_name, three_items, monkeypatch):
    monkeypatch.delenv(CURSOR_KEY_VARIABLE)
    cursor = api.get("/items", query={"limit": "1"}).json["nextCursor"]
    assert api.get("/items", query={"cursor": cursor}).status == 200
    assert cursor != signed(three_items[0], table_name)  # a random key, not the one of before
    assert_refused(api, signed(three_items[0], table_name))


def test_the_variable_is_the_one_pulumi_and_the_emulator_set() -> None:
    assert cursors.KEY_VARIABLE == CURSOR_KEY_VARIABLE


def test_a_function_started_without_a_key_warns_once_at_init(tmp_path):
    """A fresh process, as Lambda starts one: the warning comes at import, once, however often the key is
    used; with a key there is none."""
    script = "import app, cursors\nfor _ in range(3):\n    cursors.signing_key()\n"
    environment = {k: v for k, v in os.environ.items() if k not in (CURSOR_KEY_VARIABLE, "TABLE_NAME")}

    def warnings(env: dict[str, str]) -> list[dict]:
        done = subprocess.run(
            [sys.executable, "-B", "-c", script],
            cwd=FUNCTION_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("level") == "WARNING"]

    without = warnings(environment)
    assert len(without) == 1
    assert f"{CURSOR_KEY_VARIABLE} is not set" in without[0]["message"]
    assert "this execution environment" in without[0]["message"]
    assert warnings({**environment, CURSOR_KEY_VARIABLE: "k"}) == []
