"""Edits served without a restart: the watcher sees a changed file, and the runtime then starts new
environments with the new code while a busy old one finishes its invocation."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from emulator.reload import FunctionWatcher, first_change, snapshot
from tests.emulator.conftest import BASIC

pytestmark = pytest.mark.slow


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "function"
    shutil.copytree(BASIC, folder)
    return folder


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_change_is_an_added_removed_or_rewritten_python_file(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    before = snapshot(folder)
    assert first_change(before, snapshot(folder)) is None
    (folder / "helper.py").write_text("X = 1\n")
    added = snapshot(folder)
    assert first_change(before, added) == folder / "helper.py"
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "cache.py").write_text("")  # caches are not the function's code
    (folder / "notes.txt").write_text("not Python")
    assert first_change(added, snapshot(folder)) is None
    (folder / "helper.py").write_text("X = 22\n")  # same second, other size
    assert first_change(added, snapshot(folder)) == folder / "helper.py"
    (folder / "helper.py").unlink()
    assert first_change(added, snapshot(folder)) == folder / "helper.py"


def test_the_watcher_calls_back_once_per_change_and_not_while_nothing_changes(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    changes: list[str] = []
    watcher = FunctionWatcher(folder, changes.append, interval_s=0.05).start()
    try:
        time.sleep(0.3)
        assert changes == []
        _rewrite(folder / "app.py", "init: module loaded", "init: module loaded (v2)")
        deadline = time.monotonic() + 5
        while not changes and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert changes == ["app.py"]
    finally:
        watcher.stop()


def test_after_a_reload_the_next_invocation_is_a_cold_start_of_the_new_code(make_runtime, tmp_path) -> None:
    folder = _copy(tmp_path)
    runtime = make_runtime(function_dir=folder)
    assert runtime.invoke({"action": "echo"}).cold
    assert not runtime.invoke({"action": "echo"}).cold
    _rewrite(folder / "app.py", "init: module loaded", "init: module loaded (v2)")
    runtime.reload()
    fresh = runtime.invoke({"action": "echo"})
    assert fresh.cold
    assert fresh.init_ms is not None
    assert "init: module loaded (v2)" in "\n".join(fresh.log_lines)
    assert "Init Duration" in fresh.report_line


def test_a_busy_environment_of_the_old_code_finishes_its_invocation(make_runtime, tmp_path) -> None:
    folder = _copy(tmp_path)
    runtime = make_runtime(function_dir=folder)
    runtime.invoke({"action": "echo"})
    results = []
    busy = threading.Thread(
        target=lambda: results.append(runtime.invoke({"action": "sleep", "seconds": 1.0}))
    )
    busy.start()
    time.sleep(0.3)
    runtime.reload()
    busy.join()
    (old,) = results
    assert old.error is None
    assert not old.timed_out
    assert runtime.invoke({"action": "echo"}).cold  # the old environment was retired, not reused


def test_a_syntax_error_fails_the_init_and_the_next_good_edit_serves(make_runtime, tmp_path) -> None:
    folder = _copy(tmp_path)
    runtime = make_runtime(function_dir=folder)
    good = (folder / "app.py").read_text()
    (folder / "app.py").write_text(good + "\ndef broken(:\n")
    runtime.reload()
    failed = runtime.invoke({"action": "echo"})
    assert failed.error["errorType"] == "Runtime.UserCodeSyntaxError"
    (folder / "app.py").write_text(good)
    runtime.reload()
    assert runtime.invoke({"action": "echo"}).error is None
