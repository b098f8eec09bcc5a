"""Locust users for ``make load``: each virtual user runs the API's operations in the configured mix.

Run through ``python -m emulator.load`` (which validates the settings); it passes them in the environment:
``LOAD_API_KEY`` (sent as ``x-api-key``) and ``LOAD_MIX`` (``get=70,create=20,list=10``, names from
``tuning.payloads``). Requests are named by route (``GET /items/{id}``) so reports aggregate per operation.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable
from typing import ClassVar

from locust import FastHttpUser, constant

from tuning.payloads import DEFAULT_MIX, parse_mix

_SAMPLE = {"name": "load test item", "price": 9.5, "tags": ["load"]}
_EXPECTED = {"get": 200, "list": 200, "create": 201, "replace": 200, "patch": 200, "delete": 204}


class ApiUser(FastHttpUser):
    """A client that keeps the ids it created and reads, replaces, patches and deletes only those."""

    wait_time = constant(0)  # closed loop: each user sends its next request as soon as the last one returns
    default_headers: ClassVar[dict[str, str]] = {
        "x-api-key": os.environ.get("LOAD_API_KEY", ""),
        "Content-Type": "application/json",
    }

    def on_start(self) -> None:
        self.ids: list[str] = []
        self._create()  # reads need something to read

    def _request(self, operation: str, method: str, path: str, name: str, **kwargs) -> dict | None:
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code != _EXPECTED[operation]:
                response.failure(f"{operation}: HTTP {response.status_code}")
                return None
            return response.json() if response.content else {}

    def _create(self) -> None:
        item_id = f"load-{uuid.uuid4().hex[:16]}"
        if (
            self._request(
                "create", "POST", "/items", "POST /items", data=json.dumps({"id": item_id, **_SAMPLE})
            )
            is not None
        ):
            self.ids.append(item_id)

    def _some_id(self) -> str:
        if not self.ids:
            self._create()
        return random.choice(self.ids) if self.ids else "load-missing"  # noqa: S311 - not security

    def _get(self) -> None:
        self._request("get", "GET", f"/items/{self._some_id()}", "GET /items/{id}")

    def _list(self) -> None:
        self._request("list", "GET", "/items?limit=25", "GET /items")

    def _replace(self) -> None:
        self._request(
            "replace", "PUT", f"/items/{self._some_id()}", "PUT /items/{id}", data=json.dumps(_SAMPLE)
        )

    def _patch(self) -> None:
        headers = {"Content-Type": "application/merge-patch+json"}
        body = json.dumps({"price": round(random.uniform(1, 20), 2)})  # noqa: S311 - not security
        self._request(
            "patch", "PATCH", f"/items/{self._some_id()}", "PATCH /items/{id}", data=body, headers=headers
        )

    def _delete(self) -> None:
        item_id = self._some_id()
        if self._request("delete", "DELETE", f"/items/{item_id}", "DELETE /items/{id}") is not None:
            self.ids.remove(item_id)


_OPERATIONS: dict[str, Callable[[ApiUser], None]] = {
    "get": ApiUser._get,
    "list": ApiUser._list,
    "create": ApiUser._create,
    "replace": ApiUser._replace,
    "patch": ApiUser._patch,
    "delete": ApiUser._delete,
}
ApiUser.tasks = {
    _OPERATIONS[name]: weight for name, weight in parse_mix(os.environ.get("LOAD_MIX", DEFAULT_MIX)).items()
}
