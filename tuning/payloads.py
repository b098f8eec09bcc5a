"""Power Tuning payloads: API Gateway proxy events for the API's real routes, in a weighted mix; payload 1.0
as the REST API sends them, or 2.0 for a stack whose ``apiType`` is ``http``.

The function is tuned with the events it really serves, so the measured durations include routing, validation
and the DynamoDB call. Reads target items that ``seed_events`` creates first (idempotent PUTs), so a GET finds
data instead of measuring the 404 path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from api import events
from api.events import REST_PAYLOAD, PayloadFormat, ProxyRequest

DEFAULT_MIX = "get=70,create=20,list=10"
# Items seeded before tuning; reads, replaces and patches target the first, deletes a dedicated one.
SEED_ITEM_IDS: tuple[str, ...] = tuple(f"power-tuning-{index:03d}" for index in range(1, 6))
DELETE_ITEM_ID = "power-tuning-delete-target"
LIST_LIMIT = 25
OPERATIONS = ("get", "list", "create", "replace", "patch", "delete")

_SAMPLE_ITEM: dict[str, Any] = {"name": "power tuning sample", "price": 12.5, "tags": ["tuning", "sample"]}


def proxy_event(
    method: str,
    resource: str,
    path_parameters: Mapping[str, str] | None = None,
    *,
    body: Any = None,
    query: Mapping[str, str] | None = None,
    content_type: str = "application/json",
    payload_format: PayloadFormat = REST_PAYLOAD,
) -> dict[str, Any]:
    """The proxy event of one API request with a JSON body, as the ``prod`` stage delivers it."""
    headers = [
        ("accept", "application/json"),
        ("host", "api.example.invalid"),
        ("user-agent", "power-tuning"),
    ]
    if body is not None:
        headers.append(("content-type", content_type))
    request = ProxyRequest(
        method=method,
        resource=resource,
        path_parameters=path_parameters,
        headers=headers,
        query=list((query or {}).items()),
        body=None if body is None else json.dumps(body),
        request_id="power-tuning",
    )
    return events.proxy_event(request, payload_format=payload_format)


def operation_event(
    operation: str, item_id: str = SEED_ITEM_IDS[0], payload_format: PayloadFormat = REST_PAYLOAD
) -> dict[str, Any]:
    """The proxy event of one API operation (``get``, ``list``, ``create``, ``replace``, ``patch``,
    ``delete``)."""
    by_id = {"id": item_id}
    fmt = {"payload_format": payload_format}
    events = {
        "get": lambda: proxy_event("GET", "/items/{id}", by_id, **fmt),
        "list": lambda: proxy_event("GET", "/items", query={"limit": str(LIST_LIMIT)}, **fmt),
        "create": lambda: proxy_event("POST", "/items", body=_SAMPLE_ITEM, **fmt),
        "replace": lambda: proxy_event("PUT", "/items/{id}", by_id, body=_SAMPLE_ITEM, **fmt),
        "patch": lambda: proxy_event(
            "PATCH",
            "/items/{id}",
            by_id,
            body={"price": 13.0},
            content_type="application/merge-patch+json",
            **fmt,
        ),
        "delete": lambda: proxy_event("DELETE", "/items/{id}", {"id": DELETE_ITEM_ID}, **fmt),
    }
    if operation not in events:
        raise ValueError(f"Unknown operation {operation!r}: expected one of {', '.join(OPERATIONS)}")
    return events[operation]()


def parse_mix(text: str) -> dict[str, int]:
    """``"get=70,create=20,list=10"`` → ``{"get": 70, "create": 20, "list": 10}`` (positive integer
    weights)."""
    mix: dict[str, int] = {}
    for part in (chunk.strip() for chunk in text.split(",")):
        name, sep, weight = part.partition("=")
        name = name.strip()
        if not sep or not weight.strip().isdigit() or int(weight) < 1:
            raise ValueError(f"Bad mix entry {part!r}: expected operation=weight, e.g. {DEFAULT_MIX}")
        if name not in OPERATIONS:
            raise ValueError(f"Unknown operation {name!r} in mix: expected one of {', '.join(OPERATIONS)}")
        if name in mix:
            raise ValueError(f"Operation {name!r} appears twice in the mix")
        mix[name] = int(weight)
    return mix


def weighted_payload(
    mix: Mapping[str, int], payload_format: PayloadFormat = REST_PAYLOAD
) -> list[dict[str, Any]]:
    """Power Tuning's weighted payload: ``[{"payload": event, "weight": w}, ...]`` in the mix's order."""
    if not mix:
        raise ValueError("The operation mix is empty")
    return [
        {"payload": operation_event(name, payload_format=payload_format), "weight": weight}
        for name, weight in mix.items()
    ]


def seed_events(
    ids: Sequence[str] = (*SEED_ITEM_IDS, DELETE_ITEM_ID), payload_format: PayloadFormat = REST_PAYLOAD
) -> list[dict[str, Any]]:
    """PUT /items/{id} events that create (or overwrite) the items the payloads read: safe to send twice."""
    return [
        proxy_event("PUT", "/items/{id}", {"id": item_id}, body=_SAMPLE_ITEM, payload_format=payload_format)
        for item_id in ids
    ]


def is_weighted(payload: Any) -> bool:
    """The tool's ``isWeightedPayload``: a non-empty list whose every entry has a truthy payload and
    weight."""
    return (
        isinstance(payload, list)
        and bool(payload)
        and all(isinstance(p, dict) and p.get("payload") and p.get("weight") for p in payload)
    )


def _as_received(payload: Any) -> Any:
    """What the function receives: a string that parses as JSON is sent unchanged, anything else
    stringified."""
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return json.loads(json.dumps(payload))  # a fresh copy per invocation, as the function gets fresh JSON


def expand_payloads(payload: Any, num: int) -> list[Any]:
    """The ``num`` events Power Tuning sends for ``payload`` (``utils.generatePayloads``), in its order.

    Weighted: entry i gets ``floor(weight_i · num / Σweight)`` invocations, the last entry the remainder, in
    blocks; ``num`` below the entry count, or a share below 1, raise ValueError with the tool's message.
    """
    if not is_weighted(payload):
        return [_as_received(payload) for _ in range(num)]
    if num < len(payload):
        raise ValueError(f'You have {len(payload)} payloads and only "num"={num}. Please increase "num".')
    total = 0
    for entry in payload:
        total += entry["weight"]
    events: list[Any] = []
    for index, entry in enumerate(payload):
        how_many = math.floor(entry["weight"] * num / total)
        if how_many < 1:
            raise ValueError("Invalid payload weight (num is too small)")
        if index == len(payload) - 1:
            how_many = num - len(events)
        events.extend(_as_received(entry["payload"]) for _ in range(how_many))
    return events
