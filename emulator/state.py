"""Local state that lasts (``serve --state DIR``): the emulator's DynamoDB tables, kept on disk.

Write-through at the moto server's DynamoDB layer: every write it applies is appended to a journal and
fsynced before the answer goes out, so every acknowledged write survives a clean stop, ``kill -9`` and a
machine crash. At start (and at a clean stop) the journal is compacted into a snapshot, written to a
temporary file, fsynced and renamed over the old one. Each journal record carries a CRC-32: a torn last record
(the crash came mid-write, so it was never acknowledged) is dropped; damage anywhere else, a newer format or
tables of another schema refuse the folder with a message, and nothing is half-loaded.

Records hold item images, not requests: replay sets each changed item to what it was after the write.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
SNAPSHOT = "snapshot.json"
JOURNAL = "journal.log"

# A table's identity for the check: its key schema and key attribute types (CreateTable's shape).
Schema = dict[str, Any]
Key = str  # the item's key attributes as canonical JSON


class StateError(ValueError):
    """A state folder that cannot be loaded as it is; the message says why and what to do."""


@dataclass
class Table:
    schema: Schema
    items: dict[Key, dict[str, Any]] = field(default_factory=dict)  # key → item (DynamoDB JSON)


def key_of(item: dict[str, Any], schema: Schema) -> Key:
    names = [part["AttributeName"] for part in schema["KeySchema"]]
    return json.dumps({name: item[name] for name in names}, sort_keys=True)


def _frame(record: dict[str, Any]) -> bytes:
    payload = json.dumps(record, separators=(",", ":"), sort_keys=True).encode()
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _unframe(line: bytes) -> dict[str, Any] | None:
    """The record of one journal line, or None when it is torn or damaged."""
    if not line.endswith(b"\n") or len(line) < 10:
        return None
    checksum, _, payload = line[:-1].partition(b" ")
    try:
        if int(checksum, 16) != zlib.crc32(payload):
            return None
        return json.loads(payload)
    except ValueError:
        return None


class DurableState:
    """The tables as the folder holds them, and the open journal new writes go to."""

    def __init__(self, folder: Path, allowed: list[Schema]) -> None:
        self.folder = Path(folder)
        self.allowed = allowed
        self.tables: dict[str, Table] = {}
        self._journal: Any = None

    @classmethod
    def open(cls, folder: Path, allowed: list[Schema]) -> DurableState:
        """Load the snapshot and replay the journal (dropping a torn last record), then compact both."""
        state = cls(folder, allowed)
        state.folder.mkdir(parents=True, exist_ok=True)
        state._load_snapshot()
        state._replay()
        state.compact()
        state._journal = open(state.folder / JOURNAL, "ab")  # noqa: SIM115 (closed by close())
        return state

    def _load_snapshot(self) -> None:
        path = self.folder / SNAPSHOT
        if not path.exists():
            return
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            version = document["format"]
        except (ValueError, KeyError, TypeError) as error:
            raise StateError(f"{path} is not a state snapshot ({error}); move {self.folder} away") from None
        if version != FORMAT:
            raise StateError(
                f"{path} is format {version!r}; this emulator reads format {FORMAT}: "
                f"use the version that wrote it, or move {self.folder} away to start empty"
            )
        for name, table in document["tables"].items():
            self._add_table(name, table["schema"])
            for item in table["items"]:
                self.tables[name].items[key_of(item, table["schema"])] = item

    def _add_table(self, name: str, schema: Schema) -> None:
        schema = {"KeySchema": schema["KeySchema"], "AttributeDefinitions": schema["AttributeDefinitions"]}
        if schema not in self.allowed:
            raise StateError(
                f"{self.folder} holds table {name!r} with key schema {json.dumps(schema)}, which is not one "
                "of this project's tables (api/*.json): move the folder away or give another --state folder"
            )
        self.tables.setdefault(name, Table(schema))

    def _replay(self) -> None:
        path = self.folder / JOURNAL
        if not path.exists():
            return
        lines = path.read_bytes().splitlines(keepends=True)
        good = 0
        for number, line in enumerate(lines, start=1):
            record = _unframe(line)
            if record is None:
                if number == len(lines):  # the crash came while it was being written: never acknowledged
                    break
                raise StateError(
                    f"{path}: record {number} of {len(lines)} is damaged; the folder cannot be trusted: "
                    f"move {self.folder} away to start empty"
                )
            self._apply(record)
            good += len(line)
        with open(path, "r+b") as journal:
            journal.truncate(good)

    def _apply(self, record: dict[str, Any]) -> None:
        if record["op"] == "table":
            self._add_table(record["table"], record["schema"])
        elif record["op"] == "drop":
            self.tables.pop(record["table"], None)
        else:
            for change in record["changes"]:
                table = self.tables[change["table"]]
                if change["item"] is None:
                    table.items.pop(change["key"], None)
                else:
                    table.items[change["key"]] = change["item"]

    def append(self, record: dict[str, Any]) -> None:
        """Journal one applied write and fsync it: the answer goes out only after this returns."""
        self._apply(record)
        self._journal.write(_frame(record))
        self._journal.flush()
        os.fsync(self._journal.fileno())

    def compact(self) -> None:
        """Write every table into a new snapshot (atomically), then empty the journal."""
        document = {
            "format": FORMAT,
            "tables": {
                name: {"schema": table.schema, "items": list(table.items.values())}
                for name, table in self.tables.items()
            },
        }
        temporary = self.folder / f".{SNAPSHOT}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(document, file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.folder / SNAPSHOT)
        with open(self.folder / JOURNAL, "wb") as journal:
            os.fsync(journal.fileno())
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
            self.compact()
