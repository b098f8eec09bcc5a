"""Fixtures shared by every kind of test: the emulator's moto server and a clean AWS environment."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.moto_server import MotoServer, aws_env

# A shell that starts a job in the background (`make test &`, some CI runners) hands it SIGINT ignored, and
# Python then keeps it ignored: the Ctrl-C tests would see no KeyboardInterrupt and their children would
# ignore SIGINT too. Tests run with Ctrl-C as a terminal delivers it.
signal.signal(signal.SIGINT, signal.default_int_handler)

# No test may reach real AWS: whatever the developer's shell holds, tests start from fake credentials.
for _key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
    os.environ.pop(_key, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
)


@pytest.fixture(autouse=True)
def _local_outputs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack's outputs file is the test's own (under tmp_path), never the developer's running
    stack's: tools that look for ``.local/outputs.json`` find it there or nowhere."""
    monkeypatch.setattr("api.stack_outputs.LOCAL_OUTPUTS", tmp_path / ".local" / "outputs.json")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One emulator moto server (separate process, free loopback port) for the whole run, always stopped."""
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_endpoint(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A freshly reset server with this process's boto3 pointed at it; yields the endpoint URL."""
    moto_server.reset()
    for key, value in aws_env(moto_server.endpoint_url).items():
        monkeypatch.setenv(key, value)
    return moto_server.endpoint_url
