"""Payloads: proxy events for the API's real routes, the weighted mix, and Power Tuning's allocation rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from api.events import PAYLOAD_FORMATS, api_type_of
from tuning.payloads import (
    OPERATIONS,
    expand_payloads,
    operation_event,
    parse_mix,
    seed_events,
    weighted_payload,
)

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "api" / "openapi.yaml").read_text())


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_is_a_route_of_the_api(operation: str) -> None:
    event = operation_event(operation)
    assert event["httpMethod"].lower() in SPEC["paths"][event["resource"]]
    assert event["requestContext"]["stage"] == "prod"
    assert event["requestContext"]["path"] == "/prod" + event["path"]
    assert not event["path"].startswith("/prod")
    assert "{" not in event["path"]
    if event["body"] is not None:
        assert isinstance(json.loads(event["body"]), dict)
        assert event["headers"]["content-type"] in ("application/json", "application/merge-patch+json")


def test_reads_target_a_seeded_item() -> None:
    seeded = {event["pathParameters"]["id"] for event in seed_events()}
    for operation in ("get", "replace", "patch", "delete"):
        assert operation_event(operation)["pathParameters"]["id"] in seeded


def test_seed_events_are_idempotent_puts() -> None:
    events = seed_events(["a", "b"])
    assert [(e["httpMethod"], e["path"], e["resource"]) for e in events] == [
        ("PUT", "/items/a", "/items/{id}"),
        ("PUT", "/items/b", "/items/{id}"),
    ]
    assert events[0]["pathParameters"] == {"id": "a"}


def test_parse_mix() -> None:
    assert parse_mix("get=70, create=20,list=10") == {"get": 70, "create": 20, "list": 10}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("get", "Bad mix entry"),
        ("get=0", "Bad mix entry"),
        ("get=1.5", "Bad mix entry"),
        ("get=-1", "Bad mix entry"),
        ("fly=1", "Unknown operation 'fly'"),
        ("get=1,get=2", "appears twice"),
        ("", "Bad mix entry"),
    ],
)
def test_bad_mixes_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mix(text)


def _methods(events: list[dict]) -> list[str]:
    return [event["httpMethod"] for event in events]


def test_weighted_mix_is_allocated_in_blocks() -> None:
    payload = weighted_payload({"get": 70, "create": 20, "list": 10})
    assert [entry["weight"] for entry in payload] == [70, 20, 10]
    events = expand_payloads(payload, 10)
    assert [(e["httpMethod"], e["resource"]) for e in events] == (
        [("GET", "/items/{id}")] * 7 + [("POST", "/items")] * 2 + [("GET", "/items")]
    )


def test_last_entry_takes_the_remainder() -> None:
    # num 15: floor(10.5) = 10, floor(3) = 3, last = 15 − 13 = 2
    events = expand_payloads(weighted_payload({"get": 70, "create": 20, "list": 10}), 15)
    assert _methods(events) == ["GET"] * 10 + ["POST"] * 3 + ["GET"] * 2


def test_the_references_26_entries_over_30() -> None:
    payload = [{"payload": {"test": i}, "weight": 1} for i in range(1, 27)]
    events = expand_payloads(payload, 30)
    assert [event["test"] for event in events] == [*range(1, 26), 26, 26, 26, 26, 26]


def test_a_share_below_one_is_an_error_even_for_the_last_entry() -> None:
    # num 7: the last entry's floor(10·7/100) = 0 is checked before it would take the remainder
    with pytest.raises(ValueError, match=r"^Invalid payload weight \(num is too small\)$"):
        expand_payloads(weighted_payload({"get": 70, "create": 20, "list": 10}), 7)


def test_fewer_invocations_than_entries_is_an_error() -> None:
    with pytest.raises(ValueError, match=r'^You have 3 payloads and only "num"=2\. Please increase "num"\.$'):
        expand_payloads(weighted_payload({"get": 1, "create": 1, "list": 1}), 2)


def test_non_weighted_payloads_are_repeated_as_sent() -> None:
    assert expand_payloads({"operation": "ping"}, 5) == [{"operation": "ping"}] * 5
    assert expand_payloads('{"a": 1}', 5) == [{"a": 1}] * 5  # a JSON string is sent unchanged
    assert expand_payloads("hello", 5) == ["hello"] * 5  # any other string is stringified
    assert expand_payloads(None, 5) == [None] * 5
    not_weighted = [{"payload": {"a": 1}}, {"weight": 2}]  # since 4.3.5 sent as-is
    assert expand_payloads(not_weighted, 5) == [not_weighted] * 5


def test_each_invocation_gets_its_own_copy() -> None:
    events = expand_payloads(weighted_payload({"create": 1}), 5)
    events[0]["headers"]["x-mutated"] = "yes"
    assert "x-mutated" not in events[1]["headers"]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_http_stack_is_tuned_with_payload_2_0_events(operation: str) -> None:
    event = operation_event(operation, payload_format=PAYLOAD_FORMATS[api_type_of({"api_type": "http"})])
    method, _, resource = event["routeKey"].partition(" ")
    assert event["version"] == "2.0"
    assert method.lower() in SPEC["paths"][resource]
    assert event["rawPath"].startswith("/prod/items")
    assert "httpMethod" not in event


def test_the_weighted_mix_and_the_seeds_follow_the_payload_format() -> None:
    mix = weighted_payload({"get": 1, "create": 1}, payload_format="2.0")
    assert [entry["payload"]["routeKey"] for entry in mix] == ["GET /items/{id}", "POST /items"]
    assert {event["routeKey"] for event in seed_events(["a"], payload_format="2.0")} == {"PUT /items/{id}"}


def test_outputs_name_the_payload_format() -> None:
    assert PAYLOAD_FORMATS[api_type_of(None)] == PAYLOAD_FORMATS[api_type_of({"api_key": "k"})] == "1.0"
    assert PAYLOAD_FORMATS[api_type_of({"api_type": "http"})] == "2.0"
    with pytest.raises(ValueError, match="api_type is 'grpc': expected one of rest, http"):
        api_type_of({"api_type": "grpc"})
