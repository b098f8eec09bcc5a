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


def failed_power_values(history_events: list[dict], power_values: list[int]) -> dict[int, str]:
    """Which memory sizes made a Power Tuning execution fail, and why: ``{power: "<Error>: <message>"}``.

    Two states of the tool work on one size: an Executor (one Map iteration per size; its input has the size
    as ``value``) and the Publisher (its input's ``lambdaConfigurations.initConfigurations[iterator.index]``,
    e.g. a size above the account's 3008 MB quota). Each failed step or failed Map iteration is traced back
    through ``previousEventId`` (which follows one branch even while the Map's iterations interleave) to the
    state it ran in; its cause is the nearest error on that path, else the execution's overall cause. A Map
    iteration whose input names no size falls back to its index in ``power_values``. An error outside these
    states (the Initializer's, a Cleaner's) names no size: the result is then empty.
    """
    by_id = {event["id"]: event for event in history_events if "id" in event}
    overall = failure_cause(history_events)
    failed: dict[int, str] = {}
    for event in history_events:
        iteration = event.get("type") == "MapIterationFailed"
        if not iteration and _step_error(event) is None:
            continue
        power, cause = _trace(by_id, event)
        if power is None and iteration:
            index = (event.get("mapIterationFailedEventDetails") or {}).get("index")
            if isinstance(index, int) and 0 <= index < len(power_values):
                power = power_values[index]
        if power is not None:
            failed.setdefault(power, cause or overall)
    return failed


def _step_error(event: dict) -> str | None:
    """The error of a failed or timed-out step (a task, a Lambda call), not of the Map or execution."""
    kind = event.get("type", "")
    if not kind.endswith(("Failed", "TimedOut")) or kind.startswith(("Execution", "Map")):
        return None
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
            return _readable(details.get("error"), details.get("cause"))
    return None


def _trace(by_id: dict[int, dict], event: dict) -> tuple[int | None, str | None]:
    """Walk back from ``event`` to the state it ran in: (the size that state worked on, the nearest error)."""
    cause = None
    step: dict | None = event
    seen: set[int] = set()
    while step is not None and step.get("id") not in seen and step.get("type") != "MapIterationStarted":
        seen.add(step["id"])
        cause = cause or _step_error(step)
        details = step.get("stateEnteredEventDetails")
        if details is not None:
            return _power_of_state_input(details.get("input")), cause
        step = by_id.get(step.get("previousEventId"))
    return None, cause


def _power_of_state_input(state_input: str | None) -> int | None:
    """The size an Executor (``value``) or a Publisher pass (the configuration at its iterator) works on; the
    Publisher's last pass restores the original memory (no alias) and tests no size."""
    try:
        document = json.loads(state_input or "")
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("value"), int | str):
        return _int_or_none(document["value"])
    configurations = document.get("lambdaConfigurations")
    if isinstance(configurations, dict):
        index = (configurations.get("iterator") or {}).get("index")
        pending = configurations.get("initConfigurations") or []
        if isinstance(index, int) and 0 <= index < len(pending) and pending[index].get("alias"):
            return _int_or_none(pending[index].get("powerValue"))
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
