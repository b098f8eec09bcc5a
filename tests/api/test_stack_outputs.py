"""What a client sends to get past each front door, read from the stack outputs."""

from __future__ import annotations

import pytest

from api.stack_outputs import LOCAL_BEARER_AUTHORIZATION, LOCAL_SIGV4_AUTHORIZATION, auth_headers


@pytest.mark.parametrize(
    ("outputs", "headers"),
    [
        ({"api_key": "k"}, {"x-api-key": "k"}),  # outputs from before apiType existed: REST
        ({"api_type": "rest", "api_key": "k"}, {"x-api-key": "k"}),
        ({"api_type": "rest", "api_key": None}, {}),  # a REST stack with authMode iam/none has no key
        (
            {"api_type": "http", "auth_mode": "iam", "api_key": "k"},
            {"Authorization": LOCAL_SIGV4_AUTHORIZATION},
        ),
        ({"api_type": "http", "auth_mode": "jwt"}, {"Authorization": LOCAL_BEARER_AUTHORIZATION}),
        ({"api_type": "http", "auth_mode": "none", "api_key": "k"}, {}),
    ],
)
def test_auth_headers_follow_the_front_door(outputs, headers) -> None:
    assert auth_headers(outputs) == headers


def test_the_placeholders_pass_the_local_http_api_checks() -> None:
    assert LOCAL_SIGV4_AUTHORIZATION.startswith("AWS4-HMAC-SHA256 ")
    assert LOCAL_BEARER_AUTHORIZATION.removeprefix("Bearer ").strip()
