"""``python -m programs.demo``: the scenario passes, a failing step fails the demo, nothing is left over."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tempfile

import psutil
import pytest

from api.stack_outputs import auth_headers
from emulator.local_stack import LocalStack
from programs.demo import ApiClient, refusal_status, run_scenario
from tests.e2e.served_stack import PROJECT_ROOT

pytestmark = pytest.mark.slow


def run_demo(*args: str) -> tuple[subprocess.CompletedProcess[str], list[psutil.Process]]:
    """Run the demo; return it and whichever of its descendants outlived it."""
    # Files, not pipes: a pipe nobody reads while we poll could fill and block the demo.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "programs.demo", *args], cwd=PROJECT_ROOT, stdout=stdout, stderr=stderr
        )
        seen = _descendants_until_exit(process)
        stdout.seek(0)
        stderr.seek(0)
        completed = subprocess.CompletedProcess(
            process.args, process.returncode, stdout.read(), stderr.read()
        )
    _, alive = psutil.wait_procs(seen, timeout=10)
    for leftover in alive:
        leftover.kill()
    return completed, alive


def _descendants_until_exit(process: subprocess.Popen) -> list[psutil.Process]:
    """Every descendant the process ever had (sampled while it runs), once it has exited."""
    seen: dict[int, psutil.Process] = {}
    demo = psutil.Process(process.pid)
    while process.poll() is None:
        with contextlib.suppress(psutil.NoSuchProcess):
            seen.update({child.pid: child for child in demo.children(recursive=True)})
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)
    return list(seen.values())


def test_scenario_runs_over_http_and_leaves_nothing_behind() -> None:
    completed, leftovers = run_demo("--skip-tuning")
    assert completed.returncode == 0, completed.stderr
    assert "✓ POST /items" in completed.stdout
    assert "✓ ping" in completed.stdout
    assert "no process left behind" in completed.stdout
    assert leftovers == []


def test_a_failing_step_fails_the_demo_and_still_stops_the_stack() -> None:
    completed, leftovers = run_demo(
        "--num", "5"
    )  # the tuning CLI refuses: 5 invocations cannot carry the mix's 10 % share
    assert completed.returncode == 1
    assert "demo failed: Power tuning" in completed.stderr
    assert leftovers == []


def test_the_demo_prints_the_picks_the_record_holds_and_the_report_shows() -> None:
    """One set of picks: the demo's printout, its results file's ``picks`` and reports/summary.json's
    ``decision`` name the same memory size per strategy."""
    completed, leftovers = run_demo("--power-values", "128,1024", "--num", "10")
    assert completed.returncode == 0, completed.stderr
    assert leftovers == []
    printed = completed.stdout.split("Picks of this run", 1)[1].splitlines()
    pick_line = re.compile(r"^\s+(?P<strategy>\w+)\s+(?P<power>\d+) MB .*→\s+(pulumi|keep the current size)")
    shown = {match["strategy"]: int(match["power"]) for match in map(pick_line.match, printed) if match}
    [results_line] = [line for line in printed if line.strip().startswith("results ")]
    results_path = PROJECT_ROOT / results_line.split(None, 1)[1]
    try:
        recorded = json.loads(results_path.read_text())["picks"]
        summary = json.loads((PROJECT_ROOT / "reports" / "summary.json").read_text())
    finally:
        results_path.unlink()  # the demo's own run: not left among the user's results
    assert set(shown) == {"cost", "speed", "balanced"}
    assert shown == {strategy: pick["power"] for strategy, pick in recorded.items()}
    assert shown == {row["strategy"]: row["memory_mb"] for row in summary["decision"]}
    assert_the_printed_plan_is_the_summarys(completed.stdout, summary["plan"])


def _usd(value: float) -> str:
    """Dollars to the cent, a minus sign before the dollar sign."""
    return f"{'−' if value < 0 else ''}${abs(value):,.2f}"


def _config(value: object) -> str:
    """A JSON value as `pulumi config` spells it: booleans lower-case."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


def assert_the_printed_plan_is_the_summarys(stdout: str, plan: list[dict]) -> None:
    """The demo's last block: the summary's best three lines that have a command and save something, in its
    order, each as setting, current → proposed, the saving in cents and the command."""
    printed = stdout.split("Plan of the report, top three", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    heads = [line.strip() for line in printed if not line.startswith("    ")]
    commands = [line.strip().removeprefix("$ ") for line in printed if line.strip().startswith("$ ")]
    expected = [line for line in plan if line["command"] and line["monthlySavingUsd"] > 0][:3]
    assert expected  # the front door at least: the demo's stack is a REST API
    assert expected[0]["setting"] == "apiType"
    assert heads == [
        f"{line['setting']}: {_config(line['current'])} → {_config(line['value'])}, "
        f"saves {_usd(line['monthlySavingUsd'])} a month"
        + (
            f" (95 % interval {_usd(line['savingLowUsd'])} … {_usd(line['savingHighUsd'])})"
            if line["savingLowUsd"] is not None and line["savingLowUsd"] != line["savingHighUsd"]
            else ""
        )
        for line in expected
    ]
    assert commands == [line["command"] for line in expected]


def test_the_scenario_runs_on_the_local_http_api(http_api_stack: LocalStack, capsys) -> None:
    outputs = http_api_stack.outputs
    run_scenario(ApiClient(outputs["api_url"], auth_headers(outputs), refusal_status(outputs)))
    out = capsys.readouterr().out
    assert "✓ GET /items without Authorization" in out
    assert "✓ POST /items" in out
    assert "✓ ping" in out
