"""A stand-in for the Pulumi CLI behind Pulumi's Automation API: automation's own LocalWorkspace runs as in
production and hands each command to ``FakePulumi`` (in place of ``pulumi.automation.PulumiCommand``, which
would run the binary). It answers like the CLI and records what it was asked, and where."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from pulumi.automation import CommandResult, StackNotFoundError
from semver import VersionInfo

from tuning import pulumi_stack as outputs_module

SECRET_KEYS = frozenset({"api_key"})  # what the stack exports as secrets


class FakePulumi:
    """`pulumi stack output` (secrets masked unless --show-secrets) and `pulumi config set` for known stacks;
    an unknown stack fails as the CLI does."""

    command = "pulumi"
    version = VersionInfo(3, 200, 0)

    def __init__(self, stacks: Mapping[str, dict[str, Any]]) -> None:
        self.stacks = dict(stacks)
        self.calls: list[tuple[list[str], str]] = []  # (arguments, working folder)

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Any = None,
        on_error: Any = None,
    ) -> CommandResult:
        self.calls.append((list(args), cwd))
        stack = args[args.index("--stack") + 1]
        if stack not in self.stacks:
            raise StackNotFoundError(CommandResult("", f"error: no stack named '{stack}' found", 255))
        if args[:2] == ["stack", "output"]:
            shown = {
                key: value if "--show-secrets" in args or key not in SECRET_KEYS else "[secret]"
                for key, value in self.stacks[stack].items()
            }
            return CommandResult(json.dumps(shown), "", 0)
        return CommandResult("", "", 0)


def install(monkeypatch: pytest.MonkeyPatch, stacks: Mapping[str, dict[str, Any]]) -> FakePulumi:
    """Make tuning's Automation API calls reach a FakePulumi holding ``stacks``."""
    fake = FakePulumi(stacks)
    monkeypatch.setattr(outputs_module, "pulumi_cli", lambda: fake)
    return fake
