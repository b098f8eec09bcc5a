"""Item rules, whatever the door (REST or the tutorial's RPC): valid ids, server-managed attributes, versions,
timestamps, preconditions, JSON Merge Patch. Pure: no HTTP, no DynamoDB."""

from __future__ import annotations

import re
import time
from typing import Any

from problems import ApiError

ID_PATTERN = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9._:-]{1,128}")  # "." and ".." would vanish from URLs
SERVER_MANAGED = ("version", "createdAt", "updatedAt")


def valid_id(value: Any, where: str = "id") -> str:
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ApiError(400, f"{where} must be 1–128 characters of A–Z a–z 0–9 . _ : - (not . or ..)")
    return value


def reject_server_managed(document: dict, also: tuple[str, ...] = ()) -> None:
    for name in (*also, *SERVER_MANAGED):
        if name in document:
            raise ApiError(400, f"'{name}' is managed by the server; leave it out")


def now() -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2026-11-27T06:00:00.000Z."""
    seconds = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1000) % 1000:03d}Z"


def is_version(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def etag(item: dict) -> str:
    return f'"{item.get("version", 0)}"'


def check_if_match(expected: frozenset[int] | str | None, current: dict | None) -> None:
    if expected is None:
        return
    if current is None:
        raise ApiError(412, "If-Match was given but the item does not exist")
    if expected != "*" and current.get("version") not in expected:
        raise ApiError(412, f"the item is at version {current.get('version')}; reload it and retry")


def stamped(attributes: dict, item_id: str, current: dict | None) -> dict:
    """The attributes plus the server-managed ones, as the next version after ``current``."""
    stamp = now()
    version = current.get("version") if current else 0
    created = current.get("createdAt") if current else stamp
    if not is_version(version):
        version = 0
    if not isinstance(created, str):
        created = stamp
    return {**attributes, "id": item_id, "version": version + 1, "createdAt": created, "updatedAt": stamp}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged
