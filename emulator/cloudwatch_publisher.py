"""What Lambda's platform writes for every invocation, published to the emulator so tools read it as on AWS.

Each invocation's log lines (START, the function's output, END, REPORT) go to ``/aws/lambda/<function>`` and
the AWS/Lambda metrics Invocations, Duration, Errors, Throttles and ConcurrentExecutions go to CloudWatch with
the two dimension sets Lambda uses: ``{FunctionName}`` and ``{FunctionName, Resource=<function>:<alias>}``.

Publishing happens on a background thread fed by a queue, so a request's latency never includes the calls to
Logs and CloudWatch; ``flush()`` waits until everything queued so far is stored.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

logger = logging.getLogger(__name__)

NAMESPACE = "AWS/Lambda"
_MAX_EVENTS_PER_PUT = 5_000  # CloudWatch Logs allows 10,000 events / 1 MB per call
_MAX_VALUES_PER_DATUM = 150  # CloudWatch's limit on distinct values in one MetricDatum
_MAX_DATA_PER_PUT = 500


class PublishedInvocation(Protocol):
    """The parts of ``emulator.invocations.Invocation`` that become telemetry."""

    duration_ms: float
    init_ms: float | None  # cold starts: the init phase, logged before START
    error: dict | None
    log_lines: list[str]
    log_stream: str  # the execution environment's stream; "" → one stream per day for this publisher


@dataclass(frozen=True)
class _Record:
    """One invocation seen by the platform, stamped when it ended."""

    ended_at: float  # epoch seconds
    duration_ms: float
    init_ms: float
    log_lines: tuple[str, ...]
    log_stream: str
    error: bool
    concurrent: int


class Telemetry:
    """Background publisher of one function's logs and metrics; a context manager that flushes on exit."""

    def __init__(
        self,
        *,
        function_name: str,
        logs_client: Any,
        cloudwatch_client: Any,
        alias: str = "live",
        flush_interval_s: float = 0.5,
    ) -> None:
        self.function_name = function_name
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.resource = f"{function_name}:{alias}"
        self._logs = logs_client
        self._cloudwatch = cloudwatch_client
        self._flush_interval_s = flush_interval_s
        self._queue: queue.Queue[_Record | threading.Event | None] = queue.Queue()
        self._created_streams: set[str] = set()
        self._day_streams: dict[str, str] = {}  # UTC day → stream, for invocations that name none
        self._thread: threading.Thread | None = None
        self._failures_reported = False

    def start(self) -> Telemetry:
        """Create the log group (as the Pulumi stack does, before any invocation) and start publishing."""
        self._create_log_group()
        self._thread = threading.Thread(target=self._run, name="telemetry", daemon=True)
        self._thread.start()
        return self

    def record(self, invocation: PublishedInvocation, *, concurrent: int) -> None:
        """Queue one finished invocation; ``concurrent`` counts the invocations in flight when it started."""
        self._queue.put(
            _Record(
                ended_at=time.time(),
                duration_ms=invocation.duration_ms,
                init_ms=invocation.init_ms or 0.0,
                log_lines=tuple(invocation.log_lines),
                log_stream=invocation.log_stream,
                error=invocation.error is not None,
                concurrent=concurrent,
            )
        )

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything recorded so far is published; False if that took longer than the timeout."""
        if self._thread is None or not self._thread.is_alive():
            return self._queue.empty()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    def __enter__(self) -> Telemetry:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Record] = []
            waiters: list[threading.Event] = []
            item = self._queue.get()
            deadline = time.monotonic() + self._flush_interval_s
            while True:
                if item is None:
                    stopping = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(item)
                if stopping or waiters:
                    break
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            self._publish(batch)
            for waiter in waiters:
                waiter.set()
        self._publish(self._drain())

    def _drain(self) -> list[_Record]:
        records = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return records
            if isinstance(item, _Record):
                records.append(item)
            elif isinstance(item, threading.Event):
                item.set()

    def _publish(self, batch: list[_Record]) -> None:
        if not batch:
            return
        try:
            self._put_logs(batch)
            self._put_metrics(batch)
        except Exception as error:  # the emulator going away must not take the API down with it
            if not self._failures_reported:
                logger.warning("telemetry for %s not published: %s", self.function_name, error)
                self._failures_reported = True

    def _put_logs(self, batch: list[_Record]) -> None:
        by_stream: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in batch:
            if record.log_lines:
                by_stream[record.log_stream or self._day_stream(record.ended_at)] += _log_events(record)
        for stream, events in by_stream.items():
            events.sort(key=lambda event: event["timestamp"])  # CloudWatch refuses unordered events in a call
            for start in range(0, len(events), _MAX_EVENTS_PER_PUT):
                chunk = events[start : start + _MAX_EVENTS_PER_PUT]
                try:
                    self._put_log_events(stream, chunk)
                except self._logs.exceptions.ResourceNotFoundException:
                    # Someone deleted the group: Lambda recreates it on the next invocation, so do we.
                    self._create_log_group()
                    self._created_streams.clear()
                    self._put_log_events(stream, chunk)

    def _put_log_events(self, stream: str, events: list[dict[str, Any]]) -> None:
        if stream not in self._created_streams:
            with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
                self._logs.create_log_stream(logGroupName=self.log_group_name, logStreamName=stream)
            self._created_streams.add(stream)
        self._logs.put_log_events(logGroupName=self.log_group_name, logStreamName=stream, logEvents=events)

    def _create_log_group(self) -> None:
        with contextlib.suppress(self._logs.exceptions.ResourceAlreadyExistsException):
            self._logs.create_log_group(logGroupName=self.log_group_name)

    def _day_stream(self, epoch_s: float) -> str:
        day = datetime.fromtimestamp(epoch_s, UTC).strftime("%Y/%m/%d")
        return self._day_streams.setdefault(day, f"{day}/[$LATEST]{secrets.token_hex(16)}")

    def _put_metrics(self, batch: list[_Record]) -> None:
        data = list(metric_data(batch, self.function_name, self.resource))
        for start in range(0, len(data), _MAX_DATA_PER_PUT):
            self._cloudwatch.put_metric_data(
                Namespace=NAMESPACE, MetricData=data[start : start + _MAX_DATA_PER_PUT]
            )


def _log_events(record: _Record) -> list[dict[str, Any]]:
    """Spread the lines over the init and the invocation, in order, REPORT last, as Lambda stamps them."""
    end_ms = int(record.ended_at * 1000)
    start_ms = end_ms - int(record.duration_ms + record.init_ms)
    last = max(1, len(record.log_lines) - 1)
    return [
        {"timestamp": start_ms + (end_ms - start_ms) * index // last, "message": line}
        for index, line in enumerate(record.log_lines)
    ]


def metric_data(records: Iterable[_Record], function_name: str, resource: str) -> Iterable[dict[str, Any]]:
    """AWS/Lambda datums for ``records``, per second as Values/Counts (CloudWatch's compact form)."""
    samples: dict[tuple[str, str, int], Counter[float]] = defaultdict(Counter)
    for record in records:
        second = int(record.ended_at)
        samples[("Invocations", "Count", second)][1.0] += 1
        samples[("Errors", "Count", second)][1.0 if record.error else 0.0] += 1
        # Unreserved concurrency never throttles here (the runtime queues for a free environment); the zero
        # keeps the metric present, as dashboards and the notebook expect it.
        samples[("Throttles", "Count", second)][0.0] += 1
        samples[("Duration", "Milliseconds", second)][round(record.duration_ms, 2)] += 1
        samples[("ConcurrentExecutions", "Count", second)][float(record.concurrent)] += 1
    dimension_sets = (
        [{"Name": "FunctionName", "Value": function_name}],
        [{"Name": "FunctionName", "Value": function_name}, {"Name": "Resource", "Value": resource}],
    )
    for (name, unit, second), counts in samples.items():
        values = sorted(counts)
        for start in range(0, len(values), _MAX_VALUES_PER_DATUM):
            chunk = values[start : start + _MAX_VALUES_PER_DATUM]
            for dimensions in dimension_sets:
                yield {
                    "MetricName": name,
                    "Dimensions": dimensions,
                    "Timestamp": datetime.fromtimestamp(second, UTC),
                    "Unit": unit,
                    "Values": chunk,
                    "Counts": [float(counts[value]) for value in chunk],
                }


class MeteredInvoker:
    """Wraps a runtime's ``invoke``: counts concurrent invocations and records each one's telemetry."""

    def __init__(self, invoke: Callable[[dict[str, Any]], Any], telemetry: Telemetry) -> None:
        self._invoke = invoke
        self._telemetry = telemetry
        self._lock = threading.Lock()
        self._in_flight = 0

    def __call__(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self._in_flight += 1
            concurrent = self._in_flight
        try:
            invocation = self._invoke(event)
        finally:
            with self._lock:
                self._in_flight -= 1
        self._telemetry.record(invocation, concurrent=concurrent)
        return invocation
