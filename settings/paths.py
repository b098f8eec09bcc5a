"""Where the repository's files are; every package finds them from here."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO_ROOT / "function"  # the Lambda package, deployed and served by path
LOCAL_DIR = REPO_ROOT / ".local"  # the local stack's outputs and state, never committed
