"""The stack's settings offline: Pulumi.yaml's defaults, then Pulumi.<stack>.yaml's values, typed as the
Pulumi engine hands them to the program (numbers and booleans as text, arrays as JSON), then the one parser
(settings/stack_settings.py). The local stack and the tuning runner read a stack this way; nothing else
reads the YAML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings.paths import REPO_ROOT
from settings.stack_settings import Settings, parse_settings

PROJECT_FILE = "Pulumi.yaml"


class StackFileError(ValueError):
    """Pulumi.yaml or a stack file cannot be read; the message names the file and what to fix."""


@dataclass(frozen=True)
class StackConfig:
    """A stack's validated settings and where they came from (for a banner)."""

    settings: Settings
    source: str  # "stack prod (Pulumi.prod.yaml)" or "project defaults (Pulumi.yaml)"
    name: str | None = None  # the stack named, None for the project defaults


def read_stack_settings(stack: str | None, project_dir: Path = REPO_ROOT) -> StackConfig:
    """The settings `pulumi up` would use for `stack` (None: Pulumi.yaml's defaults alone).

    StackFileError for a missing or malformed file or an undeclared key; SettingsError for a bad value.
    """
    project = _yaml_mapping(project_dir / PROJECT_FILE)
    declared = project.get("config") or {}
    raw = {key: spec["default"] for key, spec in declared.items() if "default" in spec}
    source = f"project defaults ({PROJECT_FILE})"
    if stack is not None:
        path = project_dir / f"Pulumi.{stack}.yaml"
        if not path.is_file():
            known = sorted(
                p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in _stack_files(project_dir)
            )
            raise StackFileError(
                f"no stack file {path.name} in {project_dir}: name a stack that has one "
                f"({', '.join(known) or 'none yet'}), or create it with `pulumi stack init {stack}`"
            )
        raw.update(_project_values(path, str(project["name"]), declared))
        source = f"stack {stack} ({path.name})"
    settings = parse_settings({key: engine_string(value) for key, value in raw.items()})
    return StackConfig(settings, source, stack)


def _stack_files(project_dir: Path) -> list[Path]:
    return [p for p in project_dir.glob("Pulumi.*.yaml") if p.name != PROJECT_FILE]


def _yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise StackFileError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name} must be a YAML mapping, got {type(document).__name__}")
    return document


def _project_values(path: Path, project: str, declared: dict[str, Any]) -> dict[str, Any]:
    """The stack file's `<project>:<key>` values; other namespaces (aws:region) are the providers'."""
    config = _yaml_mapping(path).get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config` must be a mapping of keys to values")
    values: dict[str, Any] = {}
    for qualified, value in config.items():
        namespace, _, key = str(qualified).rpartition(":")
        if namespace not in ("", project):
            continue
        if key not in declared:
            raise StackFileError(
                f"{path.name} sets '{qualified}', which {PROJECT_FILE} does not declare: "
                f"fix the name or declare it ({', '.join(declared)})"
            )
        values[key] = value
    return values


def engine_string(value: Any) -> str:
    """How the Pulumi engine hands a typed config value to the program."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))  # Go's encoding/json, as the engine writes it
