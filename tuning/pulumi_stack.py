"""Stack outputs, validated: from a Pulumi stack or a JSON file such as the local stack's
``.local/outputs.json`` (the file contract itself is ``api.stack_outputs``); and the one change tuning
makes to a stack, its memorySize.

A stack is reached through Pulumi's Automation API, which runs the Pulumi CLI underneath: without the CLI,
``PulumiMissingError``, which callers turn into a message saying how to go on. The workspace is this project's
folder (Pulumi.yaml and the stack files) and every call names its stack, so the selected stack never changes.
``import pulumi`` takes about half a second, so it happens only when a stack is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.stack_outputs import REQUIRED_KEYS, OutputsError, check_outputs, read_outputs_file
from settings.paths import REPO_ROOT
from tuning.engine.plan import MEMORY_KEY, config_set_command

if TYPE_CHECKING:
    from pulumi.automation import CommandError, LocalWorkspace, PulumiCommand


class StackError(Exception):
    """A stack could not be read or changed; the message carries the CLI's own."""


class PulumiMissingError(StackError):
    """The Pulumi CLI, which the Automation API runs, is not on PATH."""


def pulumi_cli() -> PulumiCommand:
    """The CLI as the Automation API runs it; PulumiMissingError when `pulumi` cannot be started."""
    from pulumi.automation import PulumiCommand

    try:
        return PulumiCommand()
    except FileNotFoundError:  # PulumiCommand runs `pulumi version` first
        raise PulumiMissingError("the Pulumi CLI is not on PATH") from None


def _workspace() -> LocalWorkspace:
    from pulumi.automation import LocalWorkspace

    return LocalWorkspace(work_dir=str(REPO_ROOT), pulumi_command=pulumi_cli())


def _cli_message(error: CommandError) -> str:
    """What the CLI said on stderr (automation's error text also holds the exit code and stdout)."""
    return str(error).rpartition("\n stderr: ")[2].strip() or str(error).strip()


def stack_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs, secrets in plain text (`pulumi stack output --json --show-secrets`)."""
    from pulumi.automation import CommandError

    try:
        outputs = _workspace().stack_outputs(stack)
    except CommandError as error:
        raise StackError(f"`pulumi stack output -s {stack}` failed: {_cli_message(error)}") from None
    return {key: output.value for key, output in outputs.items()}


def set_memory_size(stack: str, memory_mb: int) -> None:
    """`pulumi config set memorySize <memory_mb> -s <stack>`: Pulumi.<stack>.yaml changes; `pulumi up`
    deploys it."""
    from pulumi.automation import CommandError, ConfigValue

    try:
        _workspace().set_config(stack, MEMORY_KEY, ConfigValue(value=str(memory_mb)))
    except CommandError as error:
        raise StackError(f"`{pulumi_command(memory_mb, stack)}` failed: {_cli_message(error)}") from None


def pulumi_command(memory_mb: int, stack: str | None) -> str:
    """The command that puts ``memory_mb`` into the stack's config (without a stack: the selected one)."""
    return config_set_command(MEMORY_KEY, memory_mb, stack)


def _from_pulumi(stack: str) -> dict[str, Any]:
    try:
        return stack_outputs(stack)
    except PulumiMissingError:
        raise OutputsError(
            "The Pulumi CLI is not on PATH, so --stack cannot be read: install Pulumi "
            "(https://www.pulumi.com/docs/install/) or pass --outputs FILE with the stack outputs as JSON"
        ) from None
    except StackError as error:
        raise OutputsError(str(error)) from None


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
