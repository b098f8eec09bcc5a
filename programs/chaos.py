"""``make chaos``: the local stack under injected faults and concurrent clients, then an audit of its table.

Starts a private local stack (loopback only) with a fault mix, drives concurrent HTTP clients that create,
update with If-Match (PUT and merge PATCH), delete with If-Match and list page by page, for a bounded time
and number of requests. The clients behave as the README asks of a good client: they honour Retry-After,
back off with jitter, re-read on 412 and after an answer that leaves a write's outcome unknown (5xx, no
answer), and retry only with If-Match. Every write request carries its own mark (attribute ``w``), and the
ledger keeps what each one was answered. Then the table is read directly (never through the faults) and
audited:

1. every write acknowledged with a 2xx is present at its version, or superseded by a later write;
2. no version is explained by no write: the write that left it was sent and not refused, an acknowledged one
   at the version it was acknowledged at, and an item has no more versions than writes that may have been made
   (more would mean a write applied twice);
3. an item acknowledged as deleted stays deleted;
4. a list pass (nextCursor to the end) never returns an item twice;
5. keyed creates (``POST /items`` with an ``Idempotency-Key`` and no id; the client drops some answers on
   purpose, closing the connection before reading, then retries): exactly one item per acknowledged key, at
   most one per key sent, at the id every acknowledgement of that key named, and never a 422 for a retry.

Half-way through (unless ``--no-crash``) the stack crashes: every one of its processes, the moto server
that holds the table's durable state (``--state``) and each execution environment, is killed with SIGKILL at
once, and the stack restarts on the same state and port while the clients keep retrying; the audit then
holds the restarted stack to everything the first one acknowledged.

Prints progress while it runs and a summary at the end; exits 1 on any violation, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import logging
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import psutil

from api.stack_outputs import auth_headers
from emulator.faults import FAULTS, fault_argument, latency_argument, percent_argument, seed_argument
from emulator.local_stack import LocalStack, StackSettings
from emulator.moto_server import aws_env
from emulator.option_types import function_dir_argument
from settings.arguments import in_range, stack_argument
from settings.stack_files import read_stack_settings

MAX_TRIES = 6  # per logical operation: after that the client gives up on it (and says so in the ledger)
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.05, 2.0
RETRY_AFTER_CAP_S = 5.0
PAGE_SIZE = 7
HTTP_TIMEOUT_S = 60.0
MIX = {"create": 3, "update": 5, "delete": 1, "list": 1, "keyed": 2}
LOSE_ANSWER_SHARE = 0.3  # of keyed creates whose first answer the client drops on purpose
KEY_ATTRIBUTE = "k"  # a keyed create's body carries its key, so the audit can count items per key
EXIT_VIOLATIONS = 1


@dataclass(frozen=True)
class Write:
    """One write request and what it was answered."""

    kind: str  # create, put, patch, delete
    item_id: str
    mark: str  # the write's own tag, stored as attribute "w" ("" for deletes)
    status: int | None  # None: no HTTP answer at all

    @property
    def outcome(self) -> str:
        """acked (2xx), refused (4xx: not made) or unknown (5xx, no answer: it may have been made)."""
        if self.status is not None and self.status < 300:
            return "acked"
        if self.status is not None and self.status < 500:
            return "refused"
        return "unknown"


@dataclass(frozen=True)
class Acked(Write):
    version: int = 0  # the version the answer's ETag names


@dataclass(frozen=True)
class KeyedCreate:
    """One keyed create: its key and mark, how often it was sent, and the ids its 201s named."""

    key: str
    mark: str
    sends: int
    dropped: int  # answers the client dropped on purpose
    acked_ids: tuple[str, ...]
    reused: int  # 422 answers: the key was taken for another request (never right for a retry)


@dataclass
class Ledger:
    """Everything the clients sent and saw; thread-safe."""

    writes: list[Write] = field(default_factory=list)
    keyed: list[KeyedCreate] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    list_passes: int = 0
    pagination_violations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self) -> int:
        with self._lock:
            return sum(self.statuses.values())

    def answered(self, status: int | None) -> None:
        with self._lock:
            self.statuses[str(status) if status is not None else "no answer"] += 1

    def wrote(self, write: Write) -> None:
        with self._lock:
            self.writes.append(write)

    def keyed_create(self, record: KeyedCreate) -> None:
        with self._lock:
            self.keyed.append(record)

    def did(self, operation: str) -> None:
        with self._lock:
            self.operations[operation] += 1

    def listed(self, duplicates: list[str]) -> None:
        with self._lock:
            self.list_passes += 1
            self.pagination_violations += [
                f"a list pass returned item {item_id} twice" for item_id in duplicates
            ]


# --- the audit ------------------------------------------------------------------------------------------


def audit(
    writes: Iterable[Write], table: dict[str, dict[str, Any]], keyed: Iterable[KeyedCreate] = ()
) -> list[str]:
    """The invariants' violations, given every write request with its answer and the table as it is now."""
    history: dict[str, list[Write]] = defaultdict(list)
    for write in writes:
        history[write.item_id].append(write)
    keyed_items = {item_id: item for item_id, item in table.items() if KEY_ATTRIBUTE in item}
    violations = audit_keyed(keyed, keyed_items)
    table = {item_id: item for item_id, item in table.items() if item_id not in keyed_items}
    violations += [f"{item_id}: in the table, but no client wrote it" for item_id in table.keys() - history]
    for item_id, sent in history.items():
        violations += _audit_item(item_id, sent, table.get(item_id))
    return violations


def audit_keyed(keyed: Iterable[KeyedCreate], items: dict[str, dict[str, Any]]) -> list[str]:
    """Exactly one item per acknowledged key, at most one per key sent, at the id its answers named."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for item_id, item in items.items():
        by_key[str(item[KEY_ATTRIBUTE])].append(item_id)
    sent = {record.key: record for record in keyed}
    problems = [
        f"key {key}: {len(ids)} items hold it, no client sent it"
        for key, ids in by_key.items()
        if key not in sent
    ]
    for key, record in sent.items():
        found = sorted(by_key.get(key, []))
        if len(found) > 1:
            problems.append(f"key {key}: {len(found)} items were made for one key ({', '.join(found)})")
        if record.reused:
            problems.append(f"key {key}: a retry of the same request was refused as another request (422)")
        if set(record.acked_ids) - set(found) or len(set(record.acked_ids)) > 1:
            problems.append(
                f"key {key}: acknowledged as {sorted(set(record.acked_ids))}, the table holds {found}"
            )
        for item_id in found:
            if items[item_id].get("w") != record.mark or int(items[item_id].get("version", 0)) != 1:
                problems.append(f"key {key}: item {item_id} is not the keyed create's (applied twice?)")
    return problems


def _audit_item(item_id: str, sent: list[Write], item: dict[str, Any] | None) -> list[str]:
    acked = [write for write in sent if isinstance(write, Acked) and write.kind != "delete"]
    deletes = [write for write in sent if write.kind == "delete" and write.outcome != "refused"]
    if item is None:
        if deletes:
            return []
        return [
            f"{item_id}: write {write.mark} was acknowledged at version {write.version}, but the item is gone"
            " and no delete was made"
            for write in acked
        ]
    version = int(item.get("version", 0))
    mark = item.get("w")
    problems = [
        f"{item_id}: acknowledged as deleted, but it is in the table at version {version}"
        for write in deletes
        if write.outcome == "acked"
    ]
    source = next((write for write in sent if write.mark == mark and write.kind != "delete"), None)
    if source is None:
        problems.append(f"{item_id}: version {version} holds mark {mark!r}, which no write request carried")
    elif source.outcome == "refused":
        problems.append(
            f"{item_id}: version {version} was made by write {mark}, which was answered "
            f"{source.status} (not made)"
        )
    elif isinstance(source, Acked) and source.version != version:
        problems.append(
            f"{item_id}: version {version} holds write {mark}, acknowledged at version {source.version}"
        )
    for write in acked:
        if write.version > version:
            problems.append(
                f"{item_id}: write {write.mark} acknowledged at version {write.version} was lost "
                f"(the table holds version {version})"
            )
        elif write.version == version and write.mark != mark:
            problems.append(
                f"{item_id}: version {version} was acknowledged to write {write.mark}, but holds {mark}"
            )
    may_have_been_made = sum(1 for write in sent if write.kind != "delete" and write.outcome != "refused")
    if version > may_have_been_made:
        problems.append(
            f"{item_id}: at version {version}, but only {may_have_been_made} writes may have been made"
            ": a refused write was made, or a write applied twice"
        )
    return problems


# --- the clients ----------------------------------------------------------------------------------------


class Budget:
    """The run's bounds: a deadline and a number of HTTP requests, shared by every client."""

    def __init__(self, duration_s: float, requests: int) -> None:
        self.deadline = time.monotonic() + duration_s
        self._left = requests
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One more request, if the run is not over."""
        with self._lock:
            if self._left <= 0 or time.monotonic() >= self.deadline:
                return False
            self._left -= 1
            return True

    def over(self) -> bool:
        with self._lock:
            return self._left <= 0 or time.monotonic() >= self.deadline


class OutOfBudgetError(Exception):
    """The run's time or requests are used up: the client stops where it is."""


@dataclass
class Answer:
    status: int | None  # None: no answer (connection refused, reset or timed out)
    headers: dict[str, str]
    body: Any


class Client:
    """One concurrent user: its own connection, random choices and marks; a good client's retries."""

    def __init__(
        self,
        index: int,
        api_url: str,
        auth: dict[str, str],
        shared: SharedIds,
        ledger: Ledger,
        budget: Budget,
        seed: int,
    ) -> None:
        parts = urlsplit(api_url)
        self.host, self.port, self.base = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.auth = auth  # what the front door asks for (api.stack_outputs.auth_headers)
        self.index = index
        self.shared = shared
        self.ledger = ledger
        self.budget = budget
        self.random = random.Random(f"{seed}/client/{index}")  # noqa: S311 - a simulation, seeded on purpose
        self._marks = itertools.count(1)
        self._connection: http.client.HTTPConnection | None = None

    def run(self) -> None:
        operations: dict[str, Callable[[], None]] = {
            "create": self.create,
            "update": self.update,
            "delete": self.delete,
            "list": self.list_all,
            "keyed": self.keyed_create,
        }
        try:
            while not self.budget.over():
                name = self.random.choices(list(MIX), weights=list(MIX.values()))[0]
                self.ledger.did(name)
                operations[name]()
        except OutOfBudgetError:
            pass
        finally:
            if self._connection is not None:
                self._connection.close()

    # HTTP ------------------------------------------------------------------------------------------------

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        if not self.budget.take():
            raise OutOfBudgetError
        all_headers = {**self.auth, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT_S)
            self._connection.request(method, self.base + path, body=data, headers=all_headers)
            response = self._connection.getresponse()
            raw = response.read()
            answer = Answer(response.status, dict(response.headers), json.loads(raw) if raw else None)
        except (OSError, http.client.HTTPException, ValueError):
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            answer = Answer(None, {}, None)
        self.ledger.answered(answer.status)
        return answer

    def drop_answer(self, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
        """Send a request on a connection of its own and close it before the answer: a client whose network
        lost the answer. The request is whole, so the server serves it all the same."""
        if not self.budget.take():
            raise OutOfBudgetError
        connection = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT_S)
        try:
            all_headers = {**self.auth, "Content-Type": "application/json", **headers}
            connection.request(method, self.base + path, body=json.dumps(body).encode(), headers=all_headers)
        except (OSError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        self.ledger.answered(None)

    def wait(self, answer: Answer, attempt: int) -> None:
        """Honour Retry-After when given, else back off exponentially with full jitter."""
        retry_after = answer.headers.get("Retry-After", "")
        if retry_after.isdigit():
            delay = min(float(retry_after), RETRY_AFTER_CAP_S) * (1 + self.random.random() / 2)
        else:
            delay = self.random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
        time.sleep(max(0.0, min(delay, self.budget.deadline - time.monotonic())))

    def read(self, item_id: str) -> Answer | None:
        """GET an item until an answer settles it (200 or 404); None when it never did."""
        for attempt in range(MAX_TRIES):
            answer = self.send("GET", f"/items/{item_id}")
            if answer.status in (200, 404):
                return answer
            self.wait(answer, attempt)
        return None

    def exists(self, item_id: str | None, read: Answer | None) -> bool:
        """Whether a read found the item; one found gone is no longer picked."""
        if item_id is not None and read is not None and read.status == 404:
            self.shared.discard(item_id)
        return read is not None and read.status == 200

    def write(
        self, kind: str, method: str, item_id: str, path: str, body: dict | None, headers: dict[str, str]
    ) -> tuple[Answer, str]:
        mark = f"{self.index}.{next(self._marks)}" if kind != "delete" else ""
        answer = self.send(method, path, {**body, "w": mark} if body is not None else None, headers)
        version = _etag_version(answer.headers.get("ETag", "")) if answer.status in (200, 201) else None
        if version is not None:
            self.ledger.wrote(Acked(kind, item_id, mark, answer.status, version))
        else:
            self.ledger.wrote(Write(kind, item_id, mark, answer.status))
        return answer, mark

    # operations ------------------------------------------------------------------------------------------

    def create(self) -> None:
        item_id = f"chaos-{self.index}-{next(self._marks)}"
        for attempt in range(MAX_TRIES):
            answer, _ = self.write("create", "POST", item_id, "/items", {"id": item_id, "n": 0}, {})
            if answer.status == 201:
                self.shared.add(item_id)
                return
            if answer.status in (429, 503):
                self.wait(answer, attempt)
                continue
            if _unknown(answer):  # look before trying again: it may exist already
                found = self.read(item_id)
                if found is not None and found.status == 200:
                    self.shared.add(item_id)
                    return
                self.wait(answer, attempt)
                continue
            return  # 409 after an earlier unknown answer: it exists, and the next read will show it

    def update(self) -> None:
        item_id = self.shared.pick(self.random)
        current = self.read(item_id) if item_id else None
        for attempt in range(MAX_TRIES):
            if not self.exists(item_id, current):
                return
            n = int(current.body.get("n", 0)) + 1
            headers = {"If-Match": current.headers["ETag"]}
            if self.random.random() < 0.5:
                answer, mark = self.write("put", "PUT", item_id, f"/items/{item_id}", {"n": n}, headers)
            else:
                headers["Content-Type"] = "application/merge-patch+json"
                answer, mark = self.write("patch", "PATCH", item_id, f"/items/{item_id}", {"n": n}, headers)
            if answer.status == 200 or answer.status in (400, 404, 409):
                return
            if answer.status in (429, 503):
                self.wait(answer, attempt)
                continue
            if answer.status != 412:  # unknown outcome: look, and retry (with If-Match) only if not made
                self.wait(answer, attempt)
            current = self.read(item_id)
            if current is not None and current.status == 200 and current.body.get("w") == mark:
                return  # made after all

    def delete(self) -> None:
        item_id = self.shared.pick(self.random)
        current = self.read(item_id) if item_id else None
        for attempt in range(MAX_TRIES):
            if not self.exists(item_id, current):
                return
            path = f"/items/{item_id}"
            answer, _ = self.write(
                "delete", "DELETE", item_id, path, None, {"If-Match": current.headers["ETag"]}
            )
            if answer.status == 204:
                self.shared.discard(item_id)
                return
            if answer.status in (429, 503):
                self.wait(answer, attempt)
                continue
            if answer.status != 412:
                self.wait(answer, attempt)
            current = self.read(item_id)

    def keyed_create(self) -> None:
        """POST without an id under an Idempotency-Key, the same body each time; sometimes the first answer
        is dropped on purpose. Retried on any answer that does not settle it, as the header allows."""
        mark = f"{self.index}.{next(self._marks)}"
        key = f"chaos-key-{self.index}-{mark}"
        body, headers = {"n": 0, "w": mark, KEY_ATTRIBUTE: key}, {"Idempotency-Key": key}
        sends, dropped, reused, acked = 0, 0, 0, []
        try:
            if self.random.random() < LOSE_ANSWER_SHARE:
                sends, dropped = 1, 1
                self.drop_answer("POST", "/items", body, headers)
            for attempt in range(MAX_TRIES):
                sends += 1
                answer = self.send("POST", "/items", body, headers)
                if answer.status == 201:
                    acked.append(answer.body["id"])
                    return
                if answer.status == 422:
                    reused += 1
                    return
                if answer.status is not None and answer.status < 500 and answer.status not in (409, 429):
                    return
                self.wait(answer, attempt)
        finally:
            self.ledger.keyed_create(KeyedCreate(key, mark, sends, dropped, tuple(acked), reused))

    def list_all(self) -> None:
        """One pass over every page; an item seen twice in a pass is a pagination violation."""
        seen: set[str] = set()
        duplicates: list[str] = []
        cursor = ""
        attempt = 0
        while attempt < MAX_TRIES:
            answer = self.send("GET", f"/items?limit={PAGE_SIZE}{'&cursor=' + cursor if cursor else ''}")
            if answer.status != 200:
                self.wait(answer, attempt)
                attempt += 1
                continue
            for item in answer.body["items"]:
                if item["id"] in seen:
                    duplicates.append(item["id"])
                seen.add(item["id"])
            cursor = answer.body.get("nextCursor") or ""
            if not cursor:
                self.ledger.listed(duplicates)
                return


def _unknown(answer: Answer) -> bool:
    return answer.status is None or answer.status >= 500


def _etag_version(etag: str) -> int | None:
    text = etag.strip('"')
    return int(text) if text.isdigit() else None


class SharedIds:
    """The ids clients believe exist, for updates and deletes to pick from (so clients collide)."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._lock = threading.Lock()

    def add(self, item_id: str) -> None:
        with self._lock:
            self._ids.append(item_id)

    def discard(self, item_id: str) -> None:
        with self._lock:
            if item_id in self._ids:
                self._ids.remove(item_id)

    def pick(self, rng: random.Random) -> str | None:
        with self._lock:
            return rng.choice(self._ids) if self._ids else None


# --- the run --------------------------------------------------------------------------------------------


def _positive(kind: Callable[[str], Any], what: str, high: float) -> Callable[[str], Any]:
    return in_range(
        kind,
        0,
        high,
        lambda text: f"{text!r} is not {what} (more than 0, at most {high:g})",
        low_included=False,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m programs.chaos",
        description="Faults and concurrent clients on a private local stack, then an audit of its table: "
        "nothing acknowledged lost, nothing applied twice, deleted stays deleted, no list duplicates.",
    )
    parser.add_argument(
        "--duration",
        type=_positive(float, "a duration in seconds", 3600),
        default=30.0,
        help="seconds of traffic (default 30)",
    )
    parser.add_argument(
        "--requests",
        type=_positive(int, "a number of requests", 10**6),
        default=20_000,
        help="at most this many HTTP requests (default 20000)",
    )
    parser.add_argument(
        "--clients",
        type=_positive(int, "a number of clients", 64),
        default=8,
        help="concurrent clients (default 8)",
    )
    parser.add_argument(
        "--rate",
        type=percent_argument,
        default=5.0,
        help=f"percent for every fault ({', '.join(FAULTS)}); default 5",
    )
    parser.add_argument(
        "--fault",
        type=fault_argument,
        action="append",
        default=[],
        metavar="NAME=PERCENT",
        help="one fault's percent, over --rate (repeatable)",
    )
    parser.add_argument("--seed", type=seed_argument, default=1, help="faults' and clients' seed (default 1)")
    parser.add_argument(
        "--stack",
        type=stack_argument,
        default=None,
        metavar="NAME",
        help="the private stack gets Pulumi.NAME.yaml's settings, e.g. its apiType (default: Pulumi.yaml)",
    )
    parser.add_argument(
        "--dynamodb-latency-ms",
        type=latency_argument,
        default=0,
        help="added to each of the function's DynamoDB requests (default 0)",
    )
    parser.add_argument(
        "--no-crash",
        dest="crash",
        action="store_false",
        help="no kill -9 of the stack half-way through (by default it crashes and restarts on its state)",
    )
    parser.add_argument(
        "--function-dir",
        type=function_dir_argument,
        default=StackSettings.function_dir,
        help="the Lambda package to run (default function/)",
    )
    return parser


def scan_table(endpoint_url: str, table_name: str) -> dict[str, dict[str, Any]]:
    """The whole table, read directly from the moto server (the operator's path: no faults)."""
    credentials = aws_env(endpoint_url)
    table = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=credentials["AWS_REGION"],
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    ).Table(table_name)
    items: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**params)
        items.update({item["id"]: item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return items
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _progress(
    ledger: Ledger, holder: dict[str, LocalStack], budget: Budget, started: float, done: threading.Event
) -> None:
    """A live count on a terminal (one line rewritten), a line every 5 s otherwise."""
    tty = sys.stdout.isatty()
    while not done.wait(0.5 if tty else 5.0):
        faults = sum(holder["stack"].faults.counts().values())
        remaining = max(0.0, budget.deadline - time.monotonic())
        line = (
            f"chaos {time.monotonic() - started:5.1f} s ({remaining:.0f} s left)  requests "
            f"{ledger.requests()}  faults {faults}"
        )
        print(f"\r{line}" if tty else line, end="" if tty else "\n", flush=True)
    if tty:
        print(flush=True)


def _keyed_line(keyed: list[KeyedCreate], table: dict[str, dict[str, Any]]) -> str:
    per_key = Counter(str(item[KEY_ATTRIBUTE]) for item in table.values() if KEY_ATTRIBUTE in item)
    acked = [record for record in keyed if record.acked_ids]
    return (
        f"  keyed POSTs  {len(keyed)} keys, {sum(r.sends for r in keyed)} sends "
        f"({sum(r.dropped for r in keyed)} answers dropped on purpose, "
        f"{sum(r.sends for r in keyed) - len(keyed)} retries); acked {len(acked)}; "
        f"duplicates {sum(n - 1 for n in per_key.values() if n > 1)}; "
        f"lost acked {sum(1 for r in acked if per_key[r.key] == 0)}"
    )


def _summary(
    args: argparse.Namespace,
    ledger: Ledger,
    stack: LocalStack,
    violations: list[str],
    elapsed_s: float,
    table: dict[str, dict[str, Any]],
    crashes: list[Crash],
) -> str:
    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"

    outcomes = Counter(write.outcome for write in ledger.writes)
    lines = [
        f"chaos: {elapsed_s:.1f} s, {args.clients} clients, faults {stack.faults.describe()}",
        f"  requests     {ledger.requests()}",
        f"  operations   {listed(dict(sorted(ledger.operations.items())))}",
        f"  statuses     {listed(dict(sorted(ledger.statuses.items())))}",
        f"  faults       {listed(dict(sum((c.faults for c in crashes), Counter(stack.faults.counts()))))}",
        f"  writes       {len(ledger.writes)} (acked {outcomes['acked']}, refused {outcomes['refused']}, "
        f"outcome unknown {outcomes['unknown']})",
        f"  list passes  {ledger.list_passes}",
        *(
            f"  crash        kill -9 of {c.processes} processes at {c.at_s:.1f} s; restarted on the same "
            f"state in {c.restart_s:.1f} s"
            for c in crashes
        ),
        _keyed_line(ledger.keyed, table),
        f"  violations   {len(violations)}",
    ]
    return "\n".join([*lines, *(f"    {violation}" for violation in violations[:50])])


@dataclass
class Crash:
    """When the stack was killed, how many of its processes, how long it took to serve again, and the faults
    the killed stack had injected."""

    at_s: float
    processes: int
    restart_s: float
    faults: Counter[str]


def crash(stack: LocalStack) -> int:
    """kill -9 of every process of the stack at once (its moto server and execution environments): stopped
    first, so none sees another die and stops cleanly; then the in-process parts let go of their ports."""
    processes = []
    for pid in stack.process_ids():
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            processes += [process, *process.children(recursive=True)]
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGSTOP)
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=10)
    stack.stop()
    return len(processes)


def _crash_midway(
    holder: dict[str, LocalStack],
    settings: StackSettings,
    budget: Budget,
    started: float,
    report: list[Crash],
) -> None:
    """Sleep to the middle of the run, crash the stack, restart it on the same state and port."""
    time.sleep(max(0.0, (budget.deadline - time.monotonic()) / 2))
    if budget.over():
        return
    at = time.monotonic() - started
    faults = Counter(holder["stack"].faults.counts())
    gateway_log = logging.getLogger("emulator.gateway")
    gateway_log.setLevel(logging.CRITICAL)  # the requests in flight fail with the stack: that is the point
    killed = crash(holder["stack"])
    restarting = time.monotonic()
    holder["stack"] = LocalStack(settings)
    holder["stack"].start()
    gateway_log.setLevel(logging.NOTSET)
    report.append(Crash(at, killed, time.monotonic() - restarting, faults))


def run(args: argparse.Namespace) -> int:
    percentages = {name: args.rate for name in FAULTS} | dict(args.fault)
    # Each injected fault is counted and summarised at the end; a log line per fault would bury the progress.
    logging.getLogger("emulator.faults").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="chaos-") as private:
        settings = StackSettings(
            port=0,
            stack=args.stack or read_stack_settings(None),
            outputs_path=Path(private) / "outputs.json",
            function_dir=args.function_dir,
            faults=percentages,
            fault_seed=args.seed,
            dynamodb_latency_ms=args.dynamodb_latency_ms,
            state_dir=Path(private) / "state" if args.crash else None,
        )
        holder = {"stack": LocalStack(settings)}
        crashes: list[Crash] = []
        try:
            print(
                f"Starting a private local stack with faults {holder['stack'].faults.describe()}…", flush=True
            )
            outputs = holder["stack"].start()
            # the restart comes back where the clients are pointed, with the same key
            settings.port = int(urlsplit(outputs["api_url"]).port or 0)
            settings.api_key = outputs["api_key"]
            ledger, shared = Ledger(), SharedIds()
            budget = Budget(args.duration, args.requests)
            clients = [
                Client(index, outputs["api_url"], auth_headers(outputs), shared, ledger, budget, args.seed)
                for index in range(args.clients)
            ]
            started = time.monotonic()
            done = threading.Event()
            progress = threading.Thread(
                target=_progress, args=(ledger, holder, budget, started, done), daemon=True
            )
            progress.start()
            threads = [
                threading.Thread(target=client.run, name=f"chaos-client-{client.index}") for client in clients
            ]
            for thread in threads:
                thread.start()
            if args.crash:
                _crash_midway(holder, settings, budget, started, crashes)
            for thread in threads:
                thread.join()
            done.set()
            progress.join()
            elapsed = time.monotonic() - started
            outputs = holder["stack"].outputs
            table = scan_table(outputs["endpoint_url"], outputs["table_name"])
            violations = ledger.pagination_violations + audit(ledger.writes, table, ledger.keyed)
        finally:
            holder["stack"].stop()
    stack = holder["stack"]
    print(_summary(args, ledger, stack, violations, elapsed, table, crashes), flush=True)
    return EXIT_VIOLATIONS if violations else 0


def main(argv: list[str] | None = None) -> int:
    return run(_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
