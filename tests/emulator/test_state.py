"""``--state DIR``: the journal and snapshot behind the local table — replay, a torn last record dropped,
damage, another format or another schema refused, and compaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.moto_server import project_schemas
from emulator.state import JOURNAL, SNAPSHOT, DurableState, StateError, key_of

SCHEMAS = project_schemas()
ITEMS = SCHEMAS[0]


def _item(item_id: str, n: int) -> dict:
    return {"id": {"S": item_id}, "n": {"N": str(n)}}


def _put(state: DurableState, item: dict, table: str = "items") -> None:
    state.append({"op": "items", "changes": [{"table": table, "key": key_of(item, ITEMS), "item": item}]})


def _opened(folder: Path) -> DurableState:
    state = DurableState.open(folder, SCHEMAS)
    state.append({"op": "table", "table": "items", "schema": ITEMS})
    return state


def _items_after_restart(folder: Path) -> dict:
    state = DurableState.open(folder, SCHEMAS)
    try:
        return {json.loads(key)["id"]["S"]: item for key, item in state.tables["items"].items.items()}
    finally:
        state.close()


def test_every_appended_write_is_there_after_a_crash_without_a_clean_stop(tmp_path: Path) -> None:
    state = _opened(tmp_path)
    _put(state, _item("a", 1))
    _put(state, _item("a", 2))
    _put(state, _item("b", 1))
    state.append(
        {"op": "items", "changes": [{"table": "items", "key": key_of(_item("b", 1), ITEMS), "item": None}]}
    )
    # no close(): the process died; the journal alone holds the writes
    assert _items_after_restart(tmp_path) == {"a": _item("a", 2)}


def test_a_torn_last_record_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    state = _opened(tmp_path)
    _put(state, _item("a", 1))
    _put(state, _item("b", 1))
    journal = tmp_path / JOURNAL
    whole = journal.read_bytes()
    journal.write_bytes(whole[: len(whole) - 7])  # the crash came while the last record was written
    assert _items_after_restart(tmp_path) == {"a": _item("a", 1)}


def test_a_damaged_record_before_the_last_refuses_the_folder(tmp_path: Path) -> None:
    state = _opened(tmp_path)
    _put(state, _item("a", 1))
    _put(state, _item("b", 1))
    journal = tmp_path / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"1"', b'"7"')  # the checksum no longer matches
    journal.write_bytes(b"".join(lines))
    with pytest.raises(StateError, match="record 2 of 3 is damaged"):
        DurableState.open(tmp_path, SCHEMAS)
    assert journal.read_bytes() == b"".join(lines)  # refused: nothing rewritten


def test_a_newer_format_is_refused_with_the_version(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text(json.dumps({"format": 2, "tables": {}}))
    with pytest.raises(StateError, match="is format 2; this emulator reads format 1"):
        DurableState.open(tmp_path, SCHEMAS)


def test_a_table_of_another_schema_is_refused(tmp_path: Path) -> None:
    other = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    }
    (tmp_path / SNAPSHOT).write_text(
        json.dumps({"format": 1, "tables": {"items": {"schema": other, "items": []}}})
    )
    with pytest.raises(StateError, match="not one of this project's tables"):
        DurableState.open(tmp_path, SCHEMAS)


def test_start_and_stop_compact_the_journal_into_the_snapshot(tmp_path: Path) -> None:
    state = _opened(tmp_path)
    _put(state, _item("a", 1))
    assert (tmp_path / JOURNAL).stat().st_size > 0
    state.close()
    assert (tmp_path / JOURNAL).stat().st_size == 0
    snapshot = json.loads((tmp_path / SNAPSHOT).read_text())
    assert snapshot["tables"]["items"]["items"] == [_item("a", 1)]
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written snapshot left behind
