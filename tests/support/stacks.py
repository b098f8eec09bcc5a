"""Stack files for tests: a copy of the project's Pulumi.yaml beside a Pulumi.NAME.yaml with given values,
read by the one settings parser (settings.stack_files), as `serve --stack NAME` reads them."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from settings.paths import REPO_ROOT
from settings.stack_files import StackConfig, read_stack_settings

JWT_SETTINGS = {"jwtIssuer": "https://issuer.example.com/pool", "jwtAudience": ["local-client"]}


def front_door_stack(folder: Path, api_type: str, auth_mode: str, name: str = "front-door") -> StackConfig:
    """The project defaults with this front door (and, for jwt, an issuer and an audience)."""
    shutil.copy(REPO_ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    values = {"apiType": api_type, "authMode": auth_mode, **(JWT_SETTINGS if auth_mode == "jwt" else {})}
    config = {f"serverless-crud:{key}": value for key, value in values.items()}
    (folder / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return read_stack_settings(name, folder)
