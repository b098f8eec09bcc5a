"""The e2e fixture: one ``python -m emulator serve`` for the e2e, fuzz, load and Postman tests of a run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.served_stack import ServedStack, start_stack, stop_stack


@pytest.fixture(scope="session")
def served_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedStack]:
    """One local stack for the e2e and fuzz tests of this run, always stopped."""
    stack = start_stack(tmp_path_factory.mktemp("local-stack") / "outputs.json")
    try:
        yield stack
    finally:
        stop_stack(stack.process)
