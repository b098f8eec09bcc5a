"""The program's side of the settings parser: the raw strings come from the running program's config."""

from __future__ import annotations

import pulumi

from settings.stack_settings import PARSERS, Settings, parse_settings


def load_settings() -> Settings:
    """Read this project's config from the running Pulumi program and validate it
    (settings/stack_settings.py)."""
    config = pulumi.Config()
    return parse_settings({key: config.get(key) for key in PARSERS})
