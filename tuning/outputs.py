"""Stack outputs, validated: from a Pulumi stack or a JSON file such as the local stack's
``.local/outputs.json`` (the file contract itself is ``api.outputs``)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from api.outputs import REQUIRED_KEYS, OutputsError, check_outputs, parse_outputs, read_outputs_file

_PULUMI_TIMEOUT_S = 120


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
    return parse_outputs(done.stdout, f"`pulumi stack output -s {stack}`")


def pulumi_command(memory_mb: int, stack: str | None) -> str:
    """The command that puts ``memory_mb`` into the stack's config (without a stack: the selected one)."""
    return f"pulumi config set memorySize {memory_mb}" + (f" -s {stack}" if stack else "")


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
        outputs, origin = read_outputs_file(outputs_path), str(outputs_path)
    check_outputs(outputs, required, origin)
    return outputs
