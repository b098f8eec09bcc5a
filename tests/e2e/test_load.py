"""``make load``: bounded settings, the summary arithmetic, and a short real run against the local stack."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from emulator.local_stack import LocalStack
from programs import load
from programs.steps import read_steps
from tests.e2e.served_stack import ServedStack


@pytest.mark.parametrize(("text", "seconds"), [("30", 30), ("30s", 30), ("2m", 120), ("1m30s", 90)])
def test_durations(text: str, seconds: int) -> None:
    assert load.parse_duration(text) == seconds


@pytest.mark.parametrize(
    "argv",
    [
        ["--users", "0"],
        ["--users", "201"],
        ["--users", "ten"],
        ["--duration", "0s"],
        ["--duration", "31m"],
        ["--duration", "soon"],
        ["--mix", "get=70,fetch=30"],
        ["--user-rate", "-1"],
        ["--user-rate", "fast"],
        ["--url", "https://example.invalid/prod"],  # a remote URL needs its API key
        ["--profile", "ramp"],
        ["--profile", "step", "--step-users", "0"],
        ["--profile", "step", "--step-time", "1m", "--duration", "30s"],
        ["--profile", "step", "--p99-ms", "0"],
        ["--profile", "step", "--max-errors", "101"],
        ["--profile", "step", "--max-requests", "0"],
    ],
)
def test_bad_settings_exit_2_before_any_load(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert load.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_outputs_pointing_off_loopback_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"api_url": "https://abc.execute-api.us-east-1.amazonaws.com/prod", "api_key": "k"})
    )
    assert load.main(["--outputs", str(outputs), "--duration", "1s"]) == 2
    assert "not loopback" in capsys.readouterr().err


@pytest.mark.parametrize("content", ['{"api_url": ', "[]", '{"api_url": "http://127.0.0.1:1/prod"}'])
def test_an_unreadable_outputs_file_is_a_usage_error(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(content)  # what a crash mid-write or a hand edit can leave
    assert load.main(["--outputs", str(outputs), "--duration", "1s"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {outputs} is not a local stack's outputs (")


def test_summary_percentiles_come_from_the_histogram(tmp_path: Path) -> None:
    stats = tmp_path / "load.json"
    stats.write_text(
        json.dumps(
            [
                {
                    "name": "GET /items",
                    "num_requests": 10,
                    "num_failures": 1,
                    "response_times": {"10": 9, "100": 1},
                },
                {"name": "POST /items", "num_requests": 10, "num_failures": 0, "response_times": {"20": 10}},
            ]
        )
    )
    lines = load.summarize(stats, duration_s=5)
    assert lines[1].split() == ["GET", "/items", "10", "2.0", "10.0%", "10", "10", "100"]
    assert lines[2].split() == ["POST", "/items", "10", "2.0", "0.0%", "20", "20", "20"]
    assert lines[3].split() == ["total", "20", "4.0", "5.0%", "20", "20", "100"]  # 9×10, 10×20, 1×100 ms


@pytest.mark.slow
def _warm(served_stack: ServedStack, environments: int) -> None:
    """Start as many execution environments as the run will use, so a 3 s run measures warm requests: on a
    loaded machine two cold starts alone can take most of it (seen at load 5-8 on 2 cores)."""
    request = urllib.request.Request(
        served_stack.outputs["api_url"] + "/items?limit=1",
        headers={"x-api-key": served_stack.outputs["api_key"]},
    )

    def get() -> None:
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200

    threads = [threading.Thread(target=get) for _ in range(environments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_short_run_against_the_local_stack(served_stack: ServedStack, tmp_path: Path) -> None:
    _warm(served_stack, environments=2)
    argv = [
        "--url", served_stack.outputs["api_url"], "--api-key", served_stack.outputs["api_key"],
        "--users", "2", "--duration", "3s", "--mix", "get=1,create=1,list=1,replace=1,patch=1,delete=1",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    assert load.main(argv) == 0  # locust exits non-zero when any request failed
    entries = json.loads((tmp_path / "load.json").read_text())
    assert {entry["name"] for entry in entries} >= {"GET /items/{id}", "GET /items", "POST /items"}
    assert all(entry["num_failures"] == 0 for entry in entries)
    assert (tmp_path / "report.html").stat().st_size > 0
    assert (tmp_path / "load_stats.csv").exists()


@pytest.mark.slow
def test_ctrl_c_ends_the_run_early_and_still_reports(
    served_stack: ServedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As a terminal does, Ctrl-C reaches locust and this process together: locust stops its users and writes
    its reports, and the summary covers the run so far."""
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def ctrl_c_once_locust_reports() -> None:
        deadline = time.monotonic() + 60
        while not (tmp_path / "load_stats_history.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "locust" in child.cmdline():
                    child.send_signal(signal.SIGINT)
        signal.pthread_kill(main_thread, signal.SIGINT)

    threading.Thread(target=ctrl_c_once_locust_reports, daemon=True).start()
    argv = [
        "--url", served_stack.outputs["api_url"], "--api-key", served_stack.outputs["api_key"],
        "--users", "2", "--duration", "60s", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    assert load.main(argv) == 130
    captured = capsys.readouterr()
    assert "interrupted: the reports cover the run until Ctrl-C" in captured.err
    assert "total" in captured.out
    assert (tmp_path / "report.html").stat().st_size > 0
    assert sum(entry["num_requests"] for entry in json.loads((tmp_path / "load.json").read_text())) > 0


@pytest.mark.slow
def test_a_short_step_run_completes_and_reports_its_steps_and_knee(
    served_stack: ServedStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--url", served_stack.outputs["api_url"], "--api-key", served_stack.outputs["api_key"],
        "--profile", "step", "--users", "4", "--step-users", "2", "--step-time", "3s", "--duration", "6s",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    assert load.main(argv) == 0
    steps = read_steps(tmp_path / "steps.jsonl")
    assert [step.users for step in steps] in ([2], [2, 4])  # a slow first step ends the run after it
    out = capsys.readouterr().out
    assert "\nknee: " in out
    assert "\nstopped: " in out


def test_a_short_run_against_the_local_http_api(http_api_stack: LocalStack, tmp_path: Path) -> None:
    argv = [
        "--outputs", str(http_api_stack.settings.outputs_path),
        "--users", "1", "--duration", "2s", "--mix", "get=1,create=1,list=1",
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    assert load.main(argv) == 0  # locust exits non-zero when any request failed (a 401/403 would)
    entries = json.loads((tmp_path / "load.json").read_text())
    assert {entry["name"] for entry in entries} >= {"GET /items/{id}", "POST /items"}
    assert sum(entry["num_requests"] for entry in entries) > 0
    assert all(entry["num_failures"] == 0 for entry in entries)
