"""What the local API gateway adds to a request: HTTP latency next to the function's own REPORT Duration.

Starts a private local stack (stage throttling off), sends warm GET /items/{id} requests over one keep-alive
connection, and prints the median and p90 of the client-side latency beside the median REPORT Duration of the
same invocations (read back from the emulator's log group, as the notebook reads them), with their ratio.
Run: ``.venv/bin/python -m programs.bench.gateway_overhead [--requests N]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from analysis.sources import aws_client
from api.names import STAGE
from emulator.local_stack import LocalStack, StackSettings
from settings.arguments import in_range, whole
from tuning.engine.report_lines import parse_report_line
from tuning.engine.stats import nearest_rank

WARM_UP = 20


def _timed_gets(connection: http.client.HTTPConnection, path: str, headers: dict, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path} answered {response.status}")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _report_durations(outputs: dict, count: int) -> list[float]:
    logs = aws_client(outputs, "logs")  # the emulator's endpoint and dummy credentials, as the notebook's
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=outputs["log_group_name"], filterPattern='"REPORT RequestId"'
    )
    lines = [event["message"] for page in pages for event in page["events"]]
    reports = [parse_report_line(line) for line in lines[-count:]]
    return [report["duration_ms"] for report in reports if report is not None]


# At least one timed request: the medians of none would end the run with a StatisticsError.
_count = in_range(
    lambda text: whole(text.strip()),
    1,
    math.inf,
    lambda text: f"must be a whole number of requests, at least 1, got {text!r}",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=_count, default=300, help="timed warm requests (default 300)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        settings = StackSettings(port=0, outputs_path=Path(scratch) / "outputs.json", throttling=False)
        with LocalStack(settings) as stack:
            outputs = stack.outputs
            host_port = outputs["api_url"].split("//", 1)[1].split("/", 1)[0]
            connection = http.client.HTTPConnection(host_port, timeout=30)
            headers = {"x-api-key": outputs["api_key"], "Content-Type": "application/json"}
            connection.request(
                "POST", f"/{STAGE}/items", body=json.dumps({"id": "bench-1", "n": 1}), headers=headers
            )
            connection.getresponse().read()
            _timed_gets(connection, f"/{STAGE}/items/bench-1", headers, WARM_UP)
            latencies = _timed_gets(connection, f"/{STAGE}/items/bench-1", headers, args.requests)
            stack.flush_telemetry()
            durations = _report_durations(outputs, args.requests)
    http_median = statistics.median(latencies)
    report_median = statistics.median(durations)
    p90 = nearest_rank(latencies, 90)  # the project's one percentile, as in the CLI table and notebook
    memory = outputs["memory_size"]
    print(f"warm GET /items/{{id}}, {args.requests} requests, one keep-alive connection, {memory} MB")
    print(f"  HTTP latency (client)   median {http_median:7.2f} ms   p90 {p90:7.2f} ms")
    print(f"  REPORT Duration         median {report_median:7.2f} ms")
    print(
        f"  gateway + runtime IPC   median {http_median - report_median:7.2f} ms   "
        f"(HTTP / REPORT = {http_median / report_median:.2f}×)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
