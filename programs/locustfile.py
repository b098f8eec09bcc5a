"""Locust users for ``make load``: each virtual user runs the API's operations in the configured mix.

Run through ``python -m programs.load`` (which validates the settings); it passes them in the environment:
``LOAD_AUTH_HEADERS`` (a JSON object: the API key on REST, an Authorization header on an HTTP API),
``LOAD_MIX`` (``get=70,create=20,list=10``, names from ``tuning.payloads``) and ``LOAD_USER_RATE``
(requests per second per user, 0 = back to back). Requests are named by route (``GET /items/{id}``) so
reports aggregate per operation. A shape sets the users and ends the run: ``LOAD_USERS`` for
``LOAD_DURATION_S`` seconds, or with ``LOAD_STEP_PLAN`` (a ``programs.steps.StepPlan`` as JSON) users rising
step by step, each step measured into ``LOAD_STEPS_FILE`` (one JSON object a line), until a threshold is
crossed or a bound is reached.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from locust import FastHttpUser, LoadTestShape, constant, constant_throughput

from programs.steps import StepPlan, StepRun
from tuning.payloads import DEFAULT_MIX, parse_mix

_SAMPLE = {"name": "load test item", "price": 9.5, "tags": ["load"]}
_EXPECTED = {"get": 200, "list": 200, "create": 201, "replace": 200, "patch": 200, "delete": 204}


def _request(user: ApiUser, operation: str, method: str, path: str, name: str, **kwargs) -> dict | None:
    with user.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
        if response.status_code != _EXPECTED[operation]:
            response.failure(f"{operation}: HTTP {response.status_code}")
            return None
        return response.json() if response.content else {}


def create_item(user: ApiUser) -> None:
    item_id = f"load-{uuid.uuid4().hex[:16]}"
    body = json.dumps({"id": item_id, **_SAMPLE})
    if _request(user, "create", "POST", "/items", "POST /items", data=body) is not None:
        user.ids.append(item_id)


def _some_id(user: ApiUser) -> str:
    if not user.ids:
        create_item(user)
    return random.choice(user.ids) if user.ids else "load-missing"  # noqa: S311 - not security


def get_item(user: ApiUser) -> None:
    _request(user, "get", "GET", f"/items/{_some_id(user)}", "GET /items/{id}")


def list_items(user: ApiUser) -> None:
    _request(user, "list", "GET", "/items?limit=25", "GET /items")


def replace_item(user: ApiUser) -> None:
    _request(user, "replace", "PUT", f"/items/{_some_id(user)}", "PUT /items/{id}", data=json.dumps(_SAMPLE))


def patch_item(user: ApiUser) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    body = json.dumps({"price": round(random.uniform(1, 20), 2)})  # noqa: S311 - not security
    _request(
        user, "patch", "PATCH", f"/items/{_some_id(user)}", "PATCH /items/{id}", data=body, headers=headers
    )


def delete_item(user: ApiUser) -> None:
    item_id = _some_id(user)
    if _request(user, "delete", "DELETE", f"/items/{item_id}", "DELETE /items/{id}") is not None:
        user.ids.remove(item_id)


_OPERATIONS: dict[str, Callable[[ApiUser], None]] = {
    "get": get_item,
    "list": list_items,
    "create": create_item,
    "replace": replace_item,
    "patch": patch_item,
    "delete": delete_item,
}


class ApiUser(FastHttpUser):
    """A client that keeps the ids it created and reads, replaces, patches and deletes only those."""

    _rate = float(os.environ.get("LOAD_USER_RATE", "10"))
    # Paced users give a known offered load; 0 sends each request as soon as the last one returned.
    wait_time = constant_throughput(_rate) if _rate > 0 else constant(0)
    default_headers: ClassVar[dict[str, str]] = {
        **json.loads(os.environ.get("LOAD_AUTH_HEADERS", "{}")),
        "Content-Type": "application/json",
    }
    # Weighted at class creation, where locust expands {task: weight} into its schedule.
    tasks: ClassVar = {
        _OPERATIONS[name]: weight
        for name, weight in parse_mix(os.environ.get("LOAD_MIX", DEFAULT_MIX)).items()
    }

    def on_start(self) -> None:
        self.ids: list[str] = []
        create_item(self)  # reads need something to read


if os.environ.get("LOAD_STEP_PLAN"):

    class StepShape(LoadTestShape):
        """The step profile (``programs.steps.StepRun`` decides; locust asks about once a second)."""

        def __init__(self) -> None:
            super().__init__()
            plan = StepPlan.from_json(os.environ["LOAD_STEP_PLAN"])
            self._run = StepRun(plan, Path(os.environ["LOAD_STEPS_FILE"]))

        def tick(self) -> tuple[int, float] | None:
            return self._run.tick(self.get_run_time(), self.runner.stats.total)

elif os.environ.get("LOAD_DURATION_S"):

    class ConstantShape(LoadTestShape):
        """``LOAD_USERS`` users until ``LOAD_DURATION_S`` has passed since they started. Timed here, not by
        ``--run-time``: gevent's clock stands still while locust imports, and ``--run-time`` fired early by
        that much (README: figures behind the code)."""

        users = int(os.environ["LOAD_USERS"])
        duration_s = float(os.environ["LOAD_DURATION_S"])

        def tick(self) -> tuple[int, float] | None:
            return (self.users, float(self.users)) if self.get_run_time() < self.duration_s else None
