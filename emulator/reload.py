"""Edits served without a restart: a watcher of the function folder's Python files.

Polls each ``*.py`` file's modification time and size once a second (a stat per file per second, nothing
else while nothing changes) and calls back with the first changed file's name; the local stack then has its
runtime start new environments, as a new deployment would (``LambdaRuntime.reload``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

POLL_INTERVAL_S = 1.0

Snapshot = dict[Path, tuple[int, int]]


def snapshot(folder: Path) -> Snapshot:
    """Every Python file below ``folder`` (bytecode caches aside) with its mtime (ns) and size."""
    found: Snapshot = {}
    for path in folder.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between the listing and the stat: the next poll sees it gone
            continue
        found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def first_change(before: Snapshot, after: Snapshot) -> Path | None:
    """A file that was added, removed or rewritten between two snapshots (sorted, so the answer is stable)."""
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    return changed[0] if changed else None


class FunctionWatcher:
    """Calls ``on_change(relative file name)`` from its own thread when the folder's Python code changes."""

    def __init__(
        self, folder: Path, on_change: Callable[[str], None], interval_s: float = POLL_INTERVAL_S
    ) -> None:
        self.folder = Path(folder)
        self.on_change = on_change
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> FunctionWatcher:
        seen = snapshot(self.folder)  # taken now: an edit right after start is a change
        self._thread = threading.Thread(target=self._run, args=(seen,), daemon=True, name="function-watcher")
        self._thread.start()
        return self

    def _run(self, seen: Snapshot) -> None:
        while not self._stop.wait(self.interval_s):
            now = snapshot(self.folder)
            changed = first_change(seen, now)
            seen = now
            if changed is not None:
                self.on_change(str(changed.relative_to(self.folder)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
