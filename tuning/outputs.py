"""Stack outputs, validated: from a Pulumi stack or a JSON file such as ``.local/outputs.json``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REQUIRED_KEYS = (
    "function_name",
    "function_arn",
    "table_name",
    "region",
    "architecture",
    "memory_size",
)
AWS_RUN_KEYS = (*REQUIRED_KEYS, "state_machine_arn", "log_group_name")
LOCAL_OUTPUTS = Path(".local/outputs.json")
_PULUMI_TIMEOUT_S = 120


class OutputsError(ValueError):
    """The stack outputs cannot be read or lack what the caller needs; the message says how to fix it."""


def _from_pulumi(stack: str) -> dict[str, Any]:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise OutputsError(
            "The Pulumi CLI is not on PATH, so --stack cannot be read: install Pulumi "
            "(https://www.pulumi.com/docs/install/) or pass --outputs FILE with the stack outputs as JSON"
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "-s", stack]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_PULUMI_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise OutputsError(
            f"`pulumi stack output -s {stack}` did not answer within {_PULUMI_TIMEOUT_S} s"
        ) from error
    if done.returncode != 0:
        raise OutputsError(
            f"`pulumi stack output -s {stack}` failed: {done.stderr.strip() or done.stdout.strip()}"
        )
    return _parse(done.stdout, f"`pulumi stack output -s {stack}`")


def _from_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OutputsError(f"Cannot read stack outputs file {path}: {error.strerror or error}") from error
    return _parse(text, str(path))


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except ValueError as error:
        raise OutputsError(f"Stack outputs from {origin} are not JSON: {error}") from error
    if not isinstance(outputs, dict):
        raise OutputsError(f"Stack outputs from {origin} must be a JSON object, got {type(outputs).__name__}")
    return outputs


def check_outputs(
    outputs: dict[str, Any], required: Iterable[str], origin: str = "the stack outputs"
) -> None:
    """Raise OutputsError naming every missing key, so one fix covers them all."""
    missing = [key for key in required if outputs.get(key) in (None, "")]
    if missing:
        raise OutputsError(
            f"{origin} lack {', '.join(missing)} (has: {', '.join(sorted(outputs)) or 'nothing'})"
        )


def load_outputs(
    stack: str | None = None, outputs_path: str | Path | None = None, required: Iterable[str] = REQUIRED_KEYS
) -> dict:
    """Outputs of ``stack`` (``pulumi stack output --json --show-secrets``) or of the JSON file
    ``outputs_path``.

    Exactly one source must be given; keys in ``required`` must be present and non-empty.
    """
    if (stack is None) == (outputs_path is None):
        raise OutputsError("Give exactly one of --stack NAME or --outputs FILE")
    if stack is not None:
        outputs, origin = _from_pulumi(stack), f"stack {stack!r}"
    else:
        outputs, origin = _from_file(Path(outputs_path)), str(outputs_path)
    check_outputs(outputs, required, origin)
    return outputs


def running_local_outputs() -> dict[str, Any] | None:
    """The running local stack's outputs (``.local/outputs.json``), else None. A file left by a killed stack
    is skipped with a note, so tools fall back to their private emulator or results files instead of failing
    at their first request."""
    if not LOCAL_OUTPUTS.exists():
        return None
    outputs = load_outputs(outputs_path=LOCAL_OUTPUTS)
    from emulator.probe import url_answers  # the local stack only: AWS stacks are never probed

    if url_answers(str(outputs.get("endpoint_url", ""))):
        return outputs
    print(
        f"note: {LOCAL_OUTPUTS} is left from a local stack that no longer runs; ignoring it "
        f"(delete the file to silence this)",
        file=sys.stderr,
    )
    return None
