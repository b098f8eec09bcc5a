"""The stack outputs contract: which keys a stack exports, where the local stack writes them, how the file is
read, written and checked for a live stack. The Pulumi program and the local stack produce these outputs;
tuning, analysis and the load test consume them."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from api.files import write_text_atomically
from api.names import API_KEY_HEADER
from settings.paths import LOCAL_DIR

REQUIRED_KEYS = (
    "function_name",
    "function_arn",
    "table_name",
    "region",
    "architecture",
    "memory_size",
)
AWS_RUN_KEYS = (*REQUIRED_KEYS, "state_machine_arn", "log_group_name")
# One place for the local stack's file, absolute so that every tool finds it from any working directory.
LOCAL_OUTPUTS = LOCAL_DIR / "outputs.json"


class OutputsError(ValueError):
    """The stack outputs cannot be read or lack what the caller needs; the message says how to fix it."""


def parse_outputs(text: str, origin: str) -> dict[str, Any]:
    """Outputs as JSON text (a file, or what Pulumi printed): a JSON object, else OutputsError."""
    try:
        outputs = json.loads(text)
    except ValueError as error:
        raise OutputsError(f"Stack outputs from {origin} are not JSON: {error}") from error
    if not isinstance(outputs, dict):
        raise OutputsError(f"Stack outputs from {origin} must be a JSON object, got {type(outputs).__name__}")
    return outputs


def read_outputs_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OutputsError(f"Cannot read stack outputs file {path}: {error.strerror or error}") from error
    return parse_outputs(text, str(path))


def check_outputs(
    outputs: dict[str, Any], required: Iterable[str], origin: str = "the stack outputs"
) -> None:
    """Raise OutputsError naming every missing key, so one fix covers them all."""
    missing = [key for key in required if outputs.get(key) in (None, "")]
    if missing:
        raise OutputsError(
            f"{origin} lack {', '.join(missing)} (has: {', '.join(sorted(outputs)) or 'nothing'})"
        )


def write_outputs(path: Path, outputs: dict[str, Any]) -> None:
    """Atomic and private (it holds the API key): readers see the old file or the whole new one."""
    write_text_atomically(path, json.dumps(outputs, indent=2) + "\n", private=True)


# Locally the HTTP API checks only that these are present (emulator.gateway says so): placeholders suffice.
LOCAL_SIGV4_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=LOCAL/20260101/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host, Signature=local-unverified"
)
LOCAL_BEARER_AUTHORIZATION = "Bearer local-unverified-token"


def auth_headers(outputs: dict[str, Any]) -> dict[str, str]:
    """The headers a client of the local stack sends to get past its front door: the API key on REST, a
    SigV4-shaped Authorization (iam) or a Bearer token (jwt) on the HTTP API, nothing with ``none``."""
    if outputs.get("api_type", "rest") != "http":
        return {API_KEY_HEADER: outputs["api_key"]} if outputs.get("api_key") else {}
    auth_mode = outputs.get("auth_mode", "none")
    if auth_mode == "iam":
        return {"Authorization": LOCAL_SIGV4_AUTHORIZATION}
    if auth_mode == "jwt":
        return {"Authorization": LOCAL_BEARER_AUTHORIZATION}
    return {}


def remove_outputs_if_ours(path: Path, api_key: str) -> None:
    """Delete the outputs file unless another stack has replaced it meanwhile."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("api_key") == api_key:
            path.unlink()


def url_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when a TCP connection to the URL's host and port succeeds: a stale outputs file fails this."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return False
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def running_local_outputs() -> dict[str, Any] | None:
    """The running local stack's outputs (``LOCAL_OUTPUTS``), else None. A file left by a killed stack is
    skipped with a note, so tools fall back to their private emulator or results files instead of failing at
    their first request."""
    path = LOCAL_OUTPUTS
    if not path.exists():
        return None
    outputs = read_outputs_file(path)
    check_outputs(outputs, REQUIRED_KEYS, str(path))
    if url_answers(str(outputs.get("endpoint_url", ""))):
        return outputs
    print(
        f"note: {path} is left from a local stack that no longer runs; ignoring it "
        f"(delete the file to silence this)",
        file=sys.stderr,
    )
    return None
