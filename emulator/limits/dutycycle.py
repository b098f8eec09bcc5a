"""The unprivileged CPU cap: alternate SIGCONT and SIGSTOP so a process runs ``share`` of the wall time.

Works for any user who may signal the process (no cgroups needed). Like CFS bandwidth control, unused run
time is not saved up: an idle worker spends its on-windows blocked and gains nothing later. A late STOP (the
parent was busy holding the GIL, or the host is loaded) would hand out extra CPU, so each off-window is
stretched to match the on-window actually given, which keeps the long-run share right. Caveats: the share
is of wall time, so on a host that is already saturated the process gets less than its share; and only the
worker itself is stopped, not processes it starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

DEFAULT_PERIOD_S = 0.02


class DutyCycleLimiter:
    """Caps one process at ``share`` (0 < share < 1) of one core from ``start()`` until ``stop()``."""

    def __init__(self, pid: int, share: float, period_s: float = DEFAULT_PERIOD_S) -> None:
        if not 0 < share < 1:
            raise ValueError(f"a duty cycle needs 0 < share < 1, got {share}")
        self.pid = pid
        self.share = share
        self.period_s = period_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dutycycle-{pid}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the cycle and leave the process running (so it can be used or terminated)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._signal(signal.SIGCONT)

    def _run(self) -> None:
        on_s = self.share * self.period_s
        off_per_on = (1 - self.share) / self.share
        while not self._stopping.is_set():
            started = time.monotonic()
            if not self._signal(signal.SIGCONT):
                return
            if self._stopping.wait(on_s):
                return
            if not self._signal(signal.SIGSTOP):
                return
            given_s = time.monotonic() - started
            self._stopping.wait(given_s * off_per_on)

    def _signal(self, signum: int) -> bool:
        """Send ``signum``; False once the process is gone."""
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def __enter__(self) -> DutyCycleLimiter:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.stop()
