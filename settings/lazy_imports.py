"""boto3 loads on a client's first use, so commands that never call AWS (usage errors, local runs, reports
from results files) never pay its import (README, Contributing: import costs)."""

from __future__ import annotations

from typing import Any


def boto3_client(service: str, **options: Any) -> Any:
    """``boto3.client(service, **options)``, importing boto3 only now."""
    import boto3

    return boto3.client(service, **options)
