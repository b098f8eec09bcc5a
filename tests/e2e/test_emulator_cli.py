"""``python -m emulator``: bad flags are one-line usage errors, a part that cannot start is one line too,
and Ctrl-C during the demo stops it cleanly (each step may clean up before the stack goes)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from emulator import __main__ as cli
from emulator.local_stack import LocalStack
from programs import demo


@pytest.fixture
def restored_signal_handlers() -> Iterator[None]:
    """``serve`` installs SIGINT/SIGTERM handlers; give pytest its own back afterwards."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "abc"], "argument --port: 'abc' is not a TCP port"),
        (["serve", "--port", "70000"], "argument --port: '70000' is not a TCP port"),
        (["serve", "--memory", "1e3"], "argument --memory: '1e3' is not a memory size"),
        (["serve", "--max-environments", "0"], "argument --max-environments: '0' is not a number"),
        (["serve", "--function-dir", "tests"], "argument --function-dir: 'tests' holds no app.py"),
        (["serve", "--fault", "disk-full=5"], "argument --fault: unknown fault 'disk-full'; choose one of"),
        (
            ["serve", "--fault", "dynamodb-error=200"],
            "argument --fault: fault dynamodb-error: give a percentage",
        ),
        (["serve", "--fault", "dynamodb-error"], "argument --fault: fault dynamodb-error: give a percentage"),
        (["serve", "--fault-seed", "-1"], "argument --fault-seed: '-1' is not a seed"),
        (
            ["serve", "--dynamodb-latency-ms", "fast"],
            "argument --dynamodb-latency-ms: 'fast' is not a latency",
        ),
        (["serve", "--stack", "nope"], "error: no stack file Pulumi.nope.yaml"),
        (["demo", "--power-values", "64"], "argument --power-values: Power values must be integers"),
        (["demo", "--power-values", "128,x"], "argument --power-values:"),
        (["demo", "--num", "2"], "argument --num: must be an integer of at least 5, got '2'"),
    ],
)
def test_bad_flags_are_one_usage_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main = (
        demo.main if argv[0] == "demo" else cli.main
    )  # the demo is its own program: python -m programs.demo
    with pytest.raises(SystemExit) as exited:
        main(argv[1:] if argv[0] == "demo" else argv)
    assert exited.value.code == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, error_lines
    assert message in error_lines[0]


def test_a_part_that_cannot_start_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restored_signal_handlers: None
) -> None:
    def moto_fails(self: LocalStack) -> dict:
        raise RuntimeError("moto server did not start on 127.0.0.1:0: Permission denied")

    monkeypatch.setattr(LocalStack, "start", moto_fails)
    assert cli.main(["serve", "--port", "0", "--quiet"]) == 1
    reason = "moto server did not start on 127.0.0.1:0: Permission denied"
    assert capsys.readouterr().err == f"error: the local stack could not start: {reason}\n"


def _interrupt_when(ready: Path) -> threading.Thread:
    """SIGINT to this process (only) once the step has started: the demo is interrupted mid-step."""

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        main = threading.main_thread().ident
        assert main is not None
        signal.pthread_kill(main, signal.SIGINT)  # the main thread waits in waitpid: interrupt it there

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    return thread


STEP = """
import pathlib, signal, sys, time
done = pathlib.Path(sys.argv[1])
def clean_up(*_):
    done.write_text("cleaned up")
    sys.exit(0)
signal.signal(signal.SIGINT, {handler})
pathlib.Path(sys.argv[2]).touch()
time.sleep(60)
"""


def test_ctrl_c_during_a_step_lets_the_step_clean_up(tmp_path: Path) -> None:
    done, ready = tmp_path / "done", tmp_path / "ready"
    command = [sys.executable, "-c", STEP.format(handler="clean_up"), str(done), str(ready)]
    _interrupt_when(ready)
    with pytest.raises(KeyboardInterrupt):
        demo._run_step("a step", command, grace_s=0.5)
    assert done.read_text() == "cleaned up"  # SIGINT reached it, not subprocess.run's SIGKILL


def test_a_step_that_ignores_ctrl_c_is_killed(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    command = [sys.executable, "-c", STEP.format(handler="signal.SIG_IGN"), str(tmp_path / "x"), str(ready)]
    before = {child.pid for child in psutil.Process().children()}
    _interrupt_when(ready)
    with pytest.raises(KeyboardInterrupt):
        demo._run_step("a step", command, grace_s=0.3)
    assert [child for child in psutil.Process().children() if child.pid not in before] == []


def test_ctrl_c_stops_the_demo_with_one_line_exit_130_and_no_process_left(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(client: demo.ApiClient) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "DEMO_OUTPUTS", tmp_path / "outputs.json")
    monkeypatch.setattr(demo, "run_scenario", interrupted)
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    args = argparse.Namespace(power_values="128", num=5, skip_tuning=True, stack=None)
    assert demo.run(args) == 130
    err = capsys.readouterr().err
    assert "demo interrupted; the local stack is stopped and no process is left behind" in err
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(
        [child for child in psutil.Process().children(recursive=True) if child.pid not in before], timeout=5
    )
    assert alive == []
    assert not (tmp_path / "outputs.json").exists()
