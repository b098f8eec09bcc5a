"""What an invocation comes to, as Lambda reports it: the result, Lambda's START / END / REPORT log lines
around the function's own output, and the REPORT line's figures."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from emulator.environment import Outcome


@dataclass
class Invocation:
    """One invocation's result and telemetry.

    On failure ``error`` is ``{"errorType", "errorMessage"}`` and ``payload`` is Lambda's error document (what
    the Invoke API returns as the payload of a function error); otherwise ``payload`` is the handler's result.
    ``timed_out`` and ``out_of_memory`` tell the platform's two failures apart from the function's own.
    """

    request_id: str
    payload: Any
    error: dict | None
    duration_ms: float
    billed_ms: int
    init_ms: float | None
    memory_mb: int
    max_memory_used_mb: int
    report_line: str
    log_lines: list[str]  # INIT_START and init output when cold, START, the function's lines, END, REPORT
    cold: bool
    log_stream: str = ""  # the environment's CloudWatch log stream name, e.g. 2026/11/27/[$LATEST]3f2a…
    timed_out: bool = False
    out_of_memory: bool = False

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else self.error["errorType"]

    @property
    def error_message(self) -> str | None:
        return None if self.error is None else self.error["errorMessage"]


def report_line(
    request_id: str,
    duration_ms: float,
    billed_ms: int,
    memory_mb: int,
    max_memory_used_mb: int,
    init_ms: float | None = None,
    status: str = "",
) -> str:
    """Lambda's text-format REPORT line; ``status`` adds Lambda's trailing fields for failed environments."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        fields.append(status)
    return "\t".join(fields)


def billed_duration(duration_ms: float) -> int:
    """Lambda bills the invoke phase in whole ms, rounded up.

    Since 2025-08 AWS bills the INIT phase of managed runtimes too; like Lambda's REPORT line we keep Init
    Duration a separate field rather than folding it into Billed Duration: the reader decides how to price it.
    """
    return max(1, math.ceil(duration_ms))


def invocation(
    request_id: str,
    outcome: Outcome,
    memory_mb: int,
    init_ms: float | None,
    init_lines: list[str],
    cold: bool,
    log_stream: str,
) -> Invocation:
    """What the caller gets: the result as the Invoke API returns it, and Lambda's log lines around it."""
    max_used_mb = math.ceil(outcome.max_rss_kb / 1024)
    billed = billed_duration(outcome.duration_ms)
    report = report_line(
        request_id,
        outcome.duration_ms,
        billed,
        memory_mb,
        max_used_mb,
        init_ms,
        outcome.report_status,
    )
    error = outcome.error
    payload = json.loads(outcome.payload_text) if outcome.payload_text is not None else None
    if error is not None:
        payload = {
            key: error[key]
            for key in ("errorMessage", "errorType", "requestId", "stackTrace")
            if key in error
        }
        error = {"errorType": error["errorType"], "errorMessage": error["errorMessage"]}
    return Invocation(
        request_id=request_id,
        payload=payload,
        error=error,
        duration_ms=outcome.duration_ms,
        billed_ms=billed,
        init_ms=init_ms,
        memory_mb=memory_mb,
        max_memory_used_mb=max_used_mb,
        report_line=report,
        log_lines=[
            *init_lines,
            f"START RequestId: {request_id} Version: $LATEST",
            *outcome.log_lines,
            f"END RequestId: {request_id}",
            report,
        ],
        cold=cold,
        log_stream=log_stream,
        timed_out=outcome.timed_out,
        out_of_memory=outcome.out_of_memory,
    )
