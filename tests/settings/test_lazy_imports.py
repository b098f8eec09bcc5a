"""boto3 loads on a client's first use only: the commands that never call AWS never import it."""

from __future__ import annotations

import subprocess
import sys

from tests.components.harness import PROJECT_DIR

# Modules whose functions may call AWS; imported together in one fresh interpreter (one start, not eight).
MAY_CALL_AWS = [
    "emulator.table_setup",
    "emulator.__main__",
    "tuning.cli",
    "tuning.runners.aws",
    "analysis.logs",
    "analysis.cloudwatch",
    "analysis.executions",
    "analysis.sources",
]


def boto3_loaded_after(code: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return done.stdout.strip() == "True"


def test_importing_the_modules_that_may_call_aws_does_not_load_boto3() -> None:
    imports = "; ".join(f"import {module}" for module in MAY_CALL_AWS)
    assert not boto3_loaded_after(f"import sys; {imports}; print('boto3' in sys.modules)")


def test_the_first_client_loads_it() -> None:
    code = (
        "import sys; from settings.lazy_imports import boto3_client; "
        "boto3_client('dynamodb', region_name='us-east-1'); print('boto3' in sys.modules)"
    )
    assert boto3_loaded_after(code)
