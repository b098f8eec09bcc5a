"""Which memory size made a Power Tuning execution fail, read from histories shaped like AWS's: Map
iterations interleave, the Executor's error is a Lambda task failure, the Publisher fails on a size the
account refuses."""

from __future__ import annotations

import json

from tuning.history import failed_power_values

OOM_CAUSE = json.dumps(
    {
        "errorType": "Error",
        "errorMessage": 'Invocation error (running in series): {"errorType":"Runtime.OutOfMemory",'
        '"errorMessage":"RequestId: 1 Error: Runtime exited with error: signal: killed"}',
    }
)


def _event(event_id: int, previous: int, kind: str, **details: object) -> dict:
    event = {"id": event_id, "previousEventId": previous, "type": kind}
    event.update(details)
    return event


def _entered(event_id: int, previous: int, kind: str, name: str, state_input: dict) -> dict:
    details = {"name": name, "input": json.dumps(state_input)}
    return _event(event_id, previous, kind, stateEnteredEventDetails=details)


def _branching_history(executor_error: dict | None) -> list[dict]:
    """Two Executors (128, 256 MB) whose events interleave; the 128 MB one fails unless no error is given."""
    state = {"lambdaConfigurations": {"powerValues": [128, 256], "iterator": {"index": 2, "count": 2}}}
    events = [
        _event(1, 0, "ExecutionStarted"),
        _entered(2, 1, "MapStateEntered", "Branching", state),
        _event(3, 2, "MapStateStarted"),
        _event(4, 3, "MapIterationStarted", mapIterationStartedEventDetails={"index": 0}),
        _event(5, 3, "MapIterationStarted", mapIterationStartedEventDetails={"index": 1}),
        _entered(6, 4, "TaskStateEntered", "Executor", {"input": state, "value": 128}),
        _entered(7, 5, "TaskStateEntered", "Executor", {"input": state, "value": 256}),
        _event(8, 7, "LambdaFunctionScheduled"),
        _event(9, 6, "LambdaFunctionScheduled"),
        _event(10, 8, "LambdaFunctionStarted"),
        _event(11, 9, "LambdaFunctionStarted"),
        _event(12, 10, "LambdaFunctionSucceeded"),
        _event(13, 12, "TaskStateExited"),
        _event(14, 13, "MapIterationSucceeded", mapIterationSucceededEventDetails={"index": 1}),
    ]
    if executor_error is not None:
        events += [
            _event(15, 11, "LambdaFunctionFailed", lambdaFunctionFailedEventDetails=executor_error),
            _event(16, 15, "MapIterationFailed", mapIterationFailedEventDetails={"index": 0}),
            _event(17, 16, "MapStateFailed"),
        ]
    return events


def test_the_failed_executor_is_traced_to_its_size_through_interleaved_iterations():
    events = _branching_history({"error": "Error", "cause": OOM_CAUSE})
    assert failed_power_values(events, [128, 256]) == {
        128: "Error: Invocation error (running in series): "
        '{"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: 1 Error: Runtime exited with error: '
        'signal: killed"}'
    }


def test_a_failed_iteration_without_a_state_input_falls_back_to_its_index():
    events = [
        _event(1, 0, "ExecutionStarted"),
        _event(2, 1, "MapIterationStarted", mapIterationStartedEventDetails={"index": 1}),
        _event(3, 2, "MapIterationFailed", mapIterationFailedEventDetails={"index": 1}),
        _event(4, 3, "ExecutionFailed", executionFailedEventDetails={"error": "States.Timeout", "cause": ""}),
    ]
    assert failed_power_values(events, [128, 256]) == {256: "States.Timeout"}


def test_a_publisher_failure_names_the_size_it_was_publishing():
    configurations = {
        "initConfigurations": [
            {"powerValue": 128, "alias": "RAM128"},
            {"powerValue": 10240, "alias": "RAM10240"},
            {"powerValue": 1024, "description": "original"},
        ],
        "iterator": {"index": 1, "count": 3, "continue": True},
    }
    refused = {
        "error": "InvalidParameterValueException",
        "cause": json.dumps(
            {
                "errorType": "InvalidParameterValueException",
                "errorMessage": "'MemorySize' value failed to satisfy constraint: Member must have value "
                "less than or equal to 3008",
            }
        ),
    }
    events = [
        _event(1, 0, "ExecutionStarted"),
        _entered(2, 1, "TaskStateEntered", "versionPublisher", {"lambdaConfigurations": configurations}),
        _event(3, 2, "TaskScheduled"),
        _event(4, 3, "TaskStarted"),
        _event(5, 4, "TaskFailed", taskFailedEventDetails=refused),
    ]
    assert failed_power_values(events, [128, 10240]) == {
        10240: "InvalidParameterValueException: 'MemorySize' value failed to satisfy constraint: Member must "
        "have value less than or equal to 3008"
    }
    configurations["iterator"]["index"] = 2  # the last pass restores the original memory: no tested size
    events[1] = _entered(
        2, 1, "TaskStateEntered", "versionPublisher", {"lambdaConfigurations": configurations}
    )
    assert failed_power_values(events, [128, 10240]) == {}


def test_errors_outside_the_sizes_name_none():
    initializer = [
        _event(1, 0, "ExecutionStarted"),
        _entered(2, 1, "TaskStateEntered", "Initializer", {"lambdaARN": "arn", "num": 3}),
        _event(3, 2, "TaskFailed", taskFailedEventDetails={"error": "Error", "cause": "Missing num"}),
    ]
    assert failed_power_values(initializer, [128]) == {}
    assert failed_power_values(_branching_history(None), [128, 256]) == {}
