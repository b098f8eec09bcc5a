"""The e2e fixture: one ``python -m emulator serve`` for the e2e, fuzz, load and Postman tests of a run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.local_stack import LocalStack, StackSettings
from tests.e2e.served_stack import ServedStack, start_stack, stop_stack
from tests.support.stacks import front_door_stack


@pytest.fixture(scope="session")
def served_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedStack]:
    """One local stack for the e2e and fuzz tests of this run, always stopped."""
    stack = start_stack(tmp_path_factory.mktemp("local-stack") / "outputs.json")
    try:
        yield stack
    finally:
        stop_stack(stack.process)


@pytest.fixture(scope="session", params=["iam", "jwt"])
def http_api_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """The local stack of a stack file with ``apiType: http`` (authMode iam, then jwt), in this process,
    always stopped."""
    folder = tmp_path_factory.mktemp("http-api")
    stack = front_door_stack(folder, "http", request.param)
    settings = StackSettings(port=0, stack=stack, outputs_path=folder / "outputs.json")
    with LocalStack(settings) as stack:
        yield stack
