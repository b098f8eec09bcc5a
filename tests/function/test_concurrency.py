"""Optimistic locking under real concurrency, against the emulator's moto server (a separate process, whose
conditional writes are atomic; in-process moto does not apply them atomically under threads)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

THREADS = 4
WRITES_PER_THREAD = 5

pytestmark = pytest.mark.slow


def test_read_modify_write_with_if_match_loses_no_update(server_api):
    assert server_api.put("/items/counter", {"count": 0}).status == 201
    start = threading.Barrier(THREADS)

    def increment_repeatedly() -> tuple[int, int]:
        written = refused = 0
        start.wait()
        while written < WRITES_PER_THREAD:
            current = server_api.get("/items/counter")
            assert current.status == 200
            reply = server_api.patch(
                "/items/counter",
                {"count": current.json["count"] + 1},
                headers={"If-Match": current.headers["ETag"]},
            )
            assert reply.status in (200, 412), reply.text
            if reply.status == 200:
                written += 1
            else:
                refused += 1
        return written, refused

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda _: increment_repeatedly(), range(THREADS)))
    successes = sum(written for written, _ in results)
    final = server_api.get("/items/counter").json
    assert successes == THREADS * WRITES_PER_THREAD
    assert final["count"] == successes  # every successful write built on the one before: none lost
    assert final["version"] == 1 + successes  # the create, then one version per successful write


def test_concurrent_creates_of_one_id_have_exactly_one_winner(server_api):
    start = threading.Barrier(THREADS)

    def create(index: int) -> int:
        start.wait()
        return server_api.post("/items", {"id": "contested", "writer": index}).status

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = sorted(pool.map(create, range(THREADS)))
    assert statuses == [201] + [409] * (THREADS - 1)
    assert server_api.get("/items/contested").json["version"] == 1
