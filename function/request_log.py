"""One JSON line per request on stdout: a structured log record that is also a CloudWatch EMF record.

CloudWatch Logs keeps it as the request's log line; CloudWatch turns it into the per-route ``Latency``
metric (Embedded Metric Format), so there is no metrics API call and no second line. The platform's own
REPORT line stays plain text: the function's log format is Text (components/microservice.py says why).
"""

from __future__ import annotations

import json
import os
import sys
import time

NAMESPACE = os.environ.get("METRICS_NAMESPACE", "ServerlessCrud")
_METRICS = [
    {
        "Namespace": NAMESPACE,
        "Dimensions": [["Route"]],
        "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
    }
]


def log_request(
    *,
    method: str,
    route: str,
    status: int,
    latency_ms: float,
    request_id: str,
    cause: str | None = None,
) -> None:
    latency = round(latency_ms, 3)
    record = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": _METRICS},
        "level": "ERROR" if status >= 500 else "INFO",
        "message": "request",
        "method": method,
        "route": route,
        "status": status,
        "latency_ms": latency,
        "requestId": request_id,
        "Route": f"{method} {route}",
        "Latency": latency,
    }
    if cause:
        record["cause"] = cause
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def log_warning(message: str) -> None:
    """A WARNING line about the environment (not a request), in the same JSON shape."""
    sys.stdout.write(json.dumps({"level": "WARNING", "message": message}) + "\n")
    sys.stdout.flush()
