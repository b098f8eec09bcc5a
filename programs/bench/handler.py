"""How much the function adds to a DynamoDB call, warm and cold, measured side by side in one run.

Warm: against one emulator moto server, rounds interleave (in shuffled order, so drift and noise hit all
variants alike) GET and PUT through ``app.lambda_handler`` with REST proxy events (payload 1.0) and HTTP API
events (payload 2.0), the bare botocore call — the floor — and the tutorial-style baseline
(programs/bench/tutorial_function: resource built per call). Prints median and p99 per variant and the
ratios; target handler/floor ≤ 1.15 on GET in either format.

Cold: fresh interpreters, alternating, time ``import app`` (which builds the client during init) against a
bare ``import boto3`` + ``boto3.client("dynamodb")``; target ≤ +15 ms. Also how long a full GC takes after
our init with ``gc.freeze()`` in effect versus without it.

    .venv/bin/python -m programs.bench.handler [--rounds 600] [--cold-runs 10]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.events import HTTP_PAYLOAD, REST_PAYLOAD, PayloadFormat
from api.names import CURSOR_KEY_VARIABLE, IDEMPOTENCY_TABLE_VARIABLE, idempotency_table_name
from emulator.moto_server import apply_aws_env, running_moto
from emulator.table_setup import create_table
from settings.paths import FUNCTION_DIR
from tuning.engine.stats import nearest_rank
from tuning.payloads import proxy_event

TUTORIAL_APP = Path(__file__).resolve().parent / "tutorial_function" / "app.py"
TABLE = "bench-items"
BENCH_KEY = {CURSOR_KEY_VARIABLE: "bench-cursor-key"}  # init as deployed: with a key (no warning)
ITEM = {
    "title": "A typical item",
    "status": "open",
    "price": "12.50",
    "quantity": 3,
    "tags": ["red", "large"],
    "owner": {"name": "Ada", "email": "ada@example.com"},
}
GET_TARGET = 1.15
COLD_TARGET_MS = 15.0

OURS_COLD = """
import gc, sys, time
started = time.perf_counter()
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import app
init_ms = (time.perf_counter() - started) * 1000
collect = time.perf_counter(); gc.collect(); frozen_ms = (time.perf_counter() - collect) * 1000
gc.unfreeze()
collect = time.perf_counter(); gc.collect(); unfrozen_ms = (time.perf_counter() - collect) * 1000
print(init_ms, frozen_ms, unfrozen_ms)
"""
BOTO3_COLD = """
import time
started = time.perf_counter()
import boto3
boto3.client("dynamodb")
print((time.perf_counter() - started) * 1000)
"""


def item_event(
    method: str, item_id: str, body: dict | None = None, payload_format: PayloadFormat = REST_PAYLOAD
) -> dict:
    """The proxy event of /items/{id}, as the tuning payloads send it."""
    return proxy_event(method, "/items/{id}", {"id": item_id}, body=body, payload_format=payload_format)


def keyed_post_event(key: str | None) -> dict:
    """POST /items with an Idempotency-Key (None: without one)."""
    event = proxy_event("POST", "/items", body=ITEM)
    if key is not None:
        event["headers"]["Idempotency-Key"] = key
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return event


def load_functions() -> tuple[Any, Any]:
    """Our app (top-level, as Lambda loads it) and the tutorial baseline (under another module name)."""
    sys.path.insert(0, str(FUNCTION_DIR))
    sys.dont_write_bytecode = True  # function/ is zipped as it is: leave no __pycache__ in it
    import app

    spec = importlib.util.spec_from_file_location("tutorial_app", TUTORIAL_APP)
    assert spec is not None
    assert spec.loader is not None
    tutorial = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(open(os.devnull, "w")):  # closed with the process
        spec.loader.exec_module(tutorial)
    return app, tutorial


def variants(app: Any, tutorial: Any, floor: Any) -> dict[str, Callable[[], Any]]:
    """Each variant does the same DynamoDB work as its floor call, through its own code path."""
    from codec import to_item  # the floor writes the same typed item the handler writes

    key = {"id": {"S": "read-me"}}
    typed_item = to_item({"id": "floor-put", **ITEM, "version": 1, "createdAt": "x", "updatedAt": "x"})
    get_event = item_event("GET", "read-me")
    put_event = item_event("PUT", "handler-put", ITEM)
    get_event_v2 = item_event("GET", "read-me", payload_format=HTTP_PAYLOAD)
    put_event_v2 = item_event("PUT", "handler-put", ITEM, payload_format=HTTP_PAYLOAD)
    tutorial_read = {"operation": "read", "payload": {"Key": {"id": "read-me"}}}
    tutorial_put = {"operation": "create", "payload": {"Item": {"id": "tutorial-put", **ITEM}}}

    def checked(answer: Any, expected: int) -> Any:
        assert answer["statusCode"] == expected, answer
        return answer

    keys = (f"bench-key-{n}" for n in itertools.count())

    return {
        "GET handler": lambda: checked(app.lambda_handler(get_event, None), 200),
        "GET handler 2.0": lambda: checked(app.lambda_handler(get_event_v2, None), 200),
        "GET floor": lambda: floor.get_item(TableName=TABLE, Key=key),
        "GET tutorial": lambda: tutorial.lambda_handler(tutorial_read, None),
        "PUT handler": lambda: checked(app.lambda_handler(put_event, None), 200),
        "PUT handler 2.0": lambda: checked(app.lambda_handler(put_event_v2, None), 200),
        "PUT floor": lambda: floor.put_item(TableName=TABLE, Item=typed_item),
        "PUT tutorial": lambda: tutorial.lambda_handler(tutorial_put, None),
        "POST unkeyed": lambda: checked(app.lambda_handler(keyed_post_event(None), None), 201),
        "POST keyed": lambda: checked(app.lambda_handler(keyed_post_event(next(keys)), None), 201),
        "POST repeat": lambda: checked(app.lambda_handler(keyed_post_event("bench-repeat"), None), 201),
    }


class Tidy:
    """Untimed, after each call: removes the items and idempotency records a POST created, so the tables
    keep the size they had after the warm-up. moto copies whole tables for a transaction, so growing tables
    would slow each later keyed POST (and end in the function's own timeout on a long run)."""

    def __init__(self, floor: Any) -> None:
        self.floor = floor
        self.records = idempotency_table_name(TABLE)
        self.kept_items = self._keys(TABLE, "id")
        self.kept_records = self._keys(self.records, "key")

    def _keys(self, table: str, name: str) -> set[str]:
        pages = self.floor.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression="#k", ExpressionAttributeNames={"#k": name}
        )
        return {item[name]["S"] for page in pages for item in page["Items"]}

    def __call__(self) -> None:
        for table, name, kept in ((TABLE, "id", self.kept_items), (self.records, "key", self.kept_records)):
            for key in self._keys(table, name) - kept:
                self.floor.delete_item(TableName=table, Key={name: {"S": key}})


def round_trips(calls: dict[str, Callable[[], Any]]) -> dict[str, int]:
    """DynamoDB requests the function sends for one call of each POST variant (counted, not timed)."""
    import store  # the function's own module, on the path since load_functions

    sent: list[str] = []
    store.client().meta.events.register("before-send.dynamodb", lambda **_: sent.append("request"))
    counts = {}
    for name in ("POST unkeyed", "POST keyed", "POST repeat"):
        sent.clear()
        calls[name]()
        counts[name] = len(sent)
    return counts


def warm(rounds: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    from botocore.session import get_session

    with running_moto() as server:
        apply_aws_env(os.environ, server.endpoint_url)
        os.environ.update(
            {"TABLE_NAME": TABLE, IDEMPOTENCY_TABLE_VARIABLE: idempotency_table_name(TABLE), **BENCH_KEY}
        )
        floor = get_session().create_client("dynamodb")
        create_table(floor, TABLE)
        app, tutorial = load_functions()
        with contextlib.redirect_stdout(open(os.devnull, "w")):  # the handler's log lines
            assert app.lambda_handler(item_event("PUT", "read-me", ITEM), None)["statusCode"] == 201
            assert app.lambda_handler(item_event("PUT", "handler-put", ITEM), None)["statusCode"] == 201
            calls = variants(app, tutorial, floor)
            names = list(calls)
            samples: dict[str, list[float]] = {name: [] for name in names}
            for _ in range(20):  # warm-up: connections, caches
                for call in calls.values():
                    call()
            tidy = Tidy(floor)
            for _ in tqdm(range(rounds), desc="warm rounds", unit="round", file=sys.stderr):
                random.shuffle(names)
                for name in names:
                    started = time.perf_counter()
                    calls[name]()
                    samples[name].append((time.perf_counter() - started) * 1000)
                tidy()
            trips = round_trips(calls)
    return samples, trips


def cold(runs: int) -> tuple[list[float], list[float], list[float], list[float]]:
    env = {**os.environ, "TABLE_NAME": TABLE, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    env.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})  # no call is made
    env.update(BENCH_KEY)

    def run(script: str, *args: str) -> list[float]:
        output = subprocess.run(
            [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, check=True
        )
        return [float(value) for value in output.stdout.split()]

    ours, boto3_only, frozen, unfrozen = [], [], [], []
    for index in tqdm(range(runs), desc="cold starts", unit="pair", file=sys.stderr):
        order = [("ours", OURS_COLD), ("boto3", BOTO3_COLD)]
        if index % 2:
            order.reverse()
        for name, script in order:
            if name == "ours":
                init_ms, frozen_ms, unfrozen_ms = run(script, str(FUNCTION_DIR))
                ours.append(init_ms)
                frozen.append(frozen_ms)
                unfrozen.append(unfrozen_ms)
            else:
                boto3_only.append(run(script)[0])
    return ours, boto3_only, frozen, unfrozen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=600, help="warm rounds (each calls every variant once)")
    parser.add_argument("--cold-runs", type=int, default=10, help="fresh interpreters per cold variant")
    args = parser.parse_args(argv)
    if args.rounds < 10 or args.cold_runs < 1:
        parser.error("--rounds must be ≥ 10 and --cold-runs ≥ 1")

    samples, trips = warm(args.rounds)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"\nWarm, {args.rounds} interleaved rounds against one moto server (ms):")
    print(f"  {'variant':<18}{'median':>9}{'p99':>9}")
    for name, values in samples.items():
        print(f"  {name:<18}{medians[name]:>9.3f}{nearest_rank(values, 99):>9.3f}")
    for verb in ("GET", "PUT"):
        handler, v2, floor, tutorial = (
            medians[f"{verb} {kind}"] for kind in ("handler", "handler 2.0", "floor", "tutorial")
        )
        print(
            f"  {verb}: handler/floor {handler / floor:.3f} (1.0)  {v2 / floor:.3f} (2.0)   "
            f"tutorial/floor {tutorial / floor:.3f}   tutorial/handler {tutorial / handler:.3f}"
        )
    get_ratios = {
        fmt: medians[name] / medians["GET floor"]
        for fmt, name in ((REST_PAYLOAD, "GET handler"), (HTTP_PAYLOAD, "GET handler 2.0"))
    }
    unkeyed = medians["POST unkeyed"]
    print(
        f"  POST with Idempotency-Key: keyed/unkeyed {medians['POST keyed'] / unkeyed:.3f}, "
        f"repeat/unkeyed {medians['POST repeat'] / unkeyed:.3f}; DynamoDB round trips "
        f"{trips['POST unkeyed']} unkeyed, {trips['POST keyed']} keyed (one transaction of two puts), "
        f"{trips['POST repeat']} repeat (a failed transaction, then the record read when the cancellation "
        "did not carry it)"
    )
    print("  A PUT replaces with one conditional write when this environment knows the item's version;")
    print("  otherwise a failed create-only write returns the current version first (two round trips).")

    ours, boto3_only, frozen, unfrozen = cold(args.cold_runs)
    # Runs come in back-to-back pairs: the median of the pairs' differences cancels the machine's slow drifts.
    extra = statistics.median(mine - theirs for mine, theirs in zip(ours, boto3_only, strict=True))
    print(f"\nCold init, {args.cold_runs} fresh interpreters each, run in pairs (ms):")
    print(f"  {'':42}{'median':>9}{'min':>9}")
    for label, values in (
        ("import app (client built during init)", ours),
        ("import boto3 + client", boto3_only),
    ):
        print(f"  {label:<42}{statistics.median(values):>9.1f}{min(values):>9.1f}")
    print(f"  median of the pairs' differences {extra:+.1f} (target ≤ +{COLD_TARGET_MS:.0f}),")
    print(f"  difference of the minimums {min(ours) - min(boto3_only):+.1f}")
    print(
        f"  full gc.collect() after init: {statistics.median(frozen):.2f} ms with gc.freeze(), "
        f"{statistics.median(unfrozen):.2f} ms without"
    )

    verdict = {True: "met", False: "MISSED"}
    print()
    for fmt, ratio in get_ratios.items():
        print(
            f"GET handler/floor, payload {fmt}: {ratio:.3f} (target ≤ {GET_TARGET}): "
            f"{verdict[ratio <= GET_TARGET]}"
        )
    print(f"cold init {extra:+.1f} ms (target ≤ +{COLD_TARGET_MS:.0f}): {verdict[extra <= COLD_TARGET_MS]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
