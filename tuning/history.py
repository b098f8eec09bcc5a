"""A Step Functions execution's history, and why a Power Tuning run failed according to it.

Shared by the AWS runner (a run that just ended) and the notebook's loaders (every run since a date), and free
of pandas so the CLI can import it cheaply. Power Tuning reports a caught Publisher/Executor error as
SUCCEEDED with ``{}``: the real cause is in the input of its ``CleanUpOnError`` state.
"""

from __future__ import annotations

import json
from typing import Any

_FAILED_END_EVENTS = ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted")


def failure_cause(history_events: list[dict]) -> str:
    """The most specific error in an execution history, newest first, as ``"<Error>: <message>"``.

    Power Tuning catches Publisher/Executor errors into ``$.error`` and enters ``CleanUpOnError`` with it,
    so the state input carries the real cause; otherwise the failed task or execution event does.
    """
    for event in reversed(history_events):
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            caught = _caught_error(details.get("input"))
            if caught:
                return caught
            has_error = "error" in details or "cause" in details
            if has_error and (
                event.get("type", "").endswith("Failed") or event.get("type") in _FAILED_END_EVENTS
            ):
                return _readable(details.get("error"), details.get("cause"))
    return "no error recorded in the execution history"


def _caught_error(state_input: str | None) -> str | None:
    if not state_input:
        return None
    try:
        document = json.loads(state_input)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict) and ("Error" in error or "Cause" in error):
        return _readable(error.get("Error"), error.get("Cause"))
    return None


def _readable(error: str | None, cause: str | None) -> str:
    """Lambda causes are JSON (``{"errorType", "errorMessage"}``): keep the message, not the envelope."""
    message = cause or ""
    try:
        parsed = json.loads(message)
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            message = parsed["errorMessage"]
    except ValueError:
        pass
    return f"{error}: {message}" if error and message else (error or message or "unknown error")


def execution_history(client: Any, execution_arn: str) -> list[dict]:
    """Every event of an execution (paginated), oldest first."""
    events: list[dict] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page.get("events", []))
    return events
