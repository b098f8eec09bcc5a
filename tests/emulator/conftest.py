"""Fixtures for the local Lambda runtime tests: test-only function directories and runtimes always closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.runtime import LambdaRuntime

FUNCTIONS = Path(__file__).parent / "functions"
BASIC = FUNCTIONS / "basic"
HEAVY_INIT = FUNCTIONS / "heavy_init"
PROBE = FUNCTIONS / "probe"


@pytest.fixture
def make_runtime() -> Iterator[Callable[..., LambdaRuntime]]:
    """``make_runtime(**kwargs)`` → a runtime of the basic test function, closed after the test."""
    runtimes: list[LambdaRuntime] = []

    def make(**kwargs: Any) -> LambdaRuntime:
        settings: dict[str, Any] = {
            "function_name": "test-fn",
            "memory_mb": 1769,
            "environment": {"TABLE_NAME": "test-table"},
            "function_dir": BASIC,
            "timeout_s": 10.0,
            **kwargs,
        }
        runtime = LambdaRuntime(**settings)
        runtimes.append(runtime)
        return runtime

    yield make
    for runtime in runtimes:
        runtime.close()
