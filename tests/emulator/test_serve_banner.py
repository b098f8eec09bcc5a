"""What ``python -m emulator serve`` tells its user about the front door it emulates."""

from __future__ import annotations

import pytest

from emulator.__main__ import _front_door_lines, _try_lines
from emulator.local_stack import LocalStack, StackSettings
from tests.support.stacks import front_door_stack


@pytest.mark.parametrize(
    ("api_type", "auth_mode", "says"),
    [
        (
            "http",
            "iam",
            ["HTTP API (payload 2.0", "SigV4 Authorization", "signature is not verified locally"],
        ),
        ("http", "jwt", ["HTTP API (payload 2.0", "Bearer token", "not verified locally"]),
        ("http", "none", ["HTTP API (payload 2.0", "none needed"]),
        ("rest", "api_key", ["REST API (payload 1.0)", "the-key  (header x-api-key)"]),
    ],
)
def test_the_banner_names_the_front_door_and_what_it_does_not_verify(
    tmp_path, api_type, auth_mode, says
) -> None:
    config = front_door_stack(tmp_path, api_type, auth_mode)
    stack = LocalStack(StackSettings(port=0, stack=config, api_key="the-key"))
    lines = _front_door_lines(stack, {"api_key": "the-key"})
    for words in says:
        assert words in lines
    assert ("caveat" in lines) == (auth_mode in ("iam", "jwt"))


def test_the_try_line_sends_what_the_front_door_asks_for() -> None:
    url = "http://127.0.0.1:3000/prod"
    assert (
        _try_lines({"api_url": url, "api_key": "k"}) == f'  try        curl -H "x-api-key: k" "{url}/items"'
    )
    http = _try_lines({"api_url": url, "api_key": "k", "api_type": "http", "auth_mode": "none"})
    assert http == f'  try        curl "{url}/items"'
