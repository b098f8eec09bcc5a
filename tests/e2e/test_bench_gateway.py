"""``python -m programs.bench.gateway_overhead``: a short run prints the side-by-side figures; a bad count
is a usage error."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.served_stack import PROJECT_ROOT


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "programs.bench.gateway_overhead", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("count", ["0", "-3", "many"])
def test_a_count_below_one_is_a_usage_error(count: str) -> None:
    completed = _bench("--requests", count)
    assert completed.returncode == 2
    assert "argument --requests: must be a whole number of requests, at least 1" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_a_short_run_prints_http_latency_beside_report_duration() -> None:
    completed = _bench("--requests", "5")
    assert completed.returncode == 0, completed.stderr
    assert "warm GET /items/{id}, 5 requests, one keep-alive connection" in completed.stdout
    assert re.search(r"HTTP / REPORT = \d+\.\d\d×", completed.stdout)
