"""The unprivileged CPU cap: SIGSTOP/SIGCONT a worker so it gets ``share`` of one core, like a CFS quota.

Works for any user who may signal the process (no cgroups needed). It mimics CFS bandwidth control rather
than a fixed on/off rhythm: in each period the worker may use ``share × period`` of *CPU time* (read from
/proc/<pid>/schedstat), so waiting on the network does not use up its quota, and it is stopped for the rest
of the period once the quota is spent. To check without overshooting, the limiter sleeps exactly the quota
left (a single thread cannot use more CPU than the wall time that passed), then looks again. An overshoot
(signals arrive late on a busy host) is paid back from the next periods, so the long-run share stays right;
unused quota is not saved up. Without schedstat, wall time stands in for CPU time (a plain duty cycle).

Between invocations the worker is frozen (stopped), as Lambda freezes an idle execution environment: the
runtime calls ``busy()`` when it sends an event and ``idle()`` when the result is back, so an idle worker
costs no wakeups.
Caveats: schedstat counts the worker's main thread; processes the function starts are not stopped.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

_MIN_SLICE_NS = 100_000  # quota left below this is not worth a CONT: stop for the rest of the period


class DutyCycleLimiter:
    """Caps process ``pid`` at ``share`` (0 < share < 1) of one core while busy; frozen while idle."""

    def __init__(self, pid: int, share: float, period_s: float) -> None:
        if not 0 < share < 1:
            raise ValueError(f"a duty cycle needs 0 < share < 1, got {share}")
        self.pid = pid
        self.share = share
        self.period_ns = int(period_s * 1e9)
        self._schedstat = Path(f"/proc/{pid}/schedstat")
        self._busy = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dutycycle-{pid}", daemon=True)
        self._started = False

    def start(self, *, busy: bool) -> None:
        """Begin limiting; ``busy=False`` freezes the worker until the first ``busy()``."""
        if busy:
            self._busy.set()
        self._started = True
        self._thread.start()

    def busy(self) -> None:
        self._busy.set()

    def idle(self) -> None:
        self._busy.clear()

    def stop(self) -> None:
        """End limiting and leave the process running (so it can be told to exit, or killed)."""
        self._stopping.set()
        self._busy.set()
        if self._started:
            self._thread.join()
        self._signal(signal.SIGCONT)

    def _run(self) -> None:
        allowance = 0
        while not self._stopping.is_set():
            if not self._busy.is_set():
                if not self._signal(signal.SIGSTOP):
                    return
                self._busy.wait()
                allowance = 0
                continue
            allowance = min(allowance + int(self.share * self.period_ns), int(self.share * self.period_ns))
            used = self._run_period(allowance)
            if used is None:
                return
            allowance -= used

    def _run_period(self, allowance: int) -> int | None:
        """Let the worker run until it has used ``allowance`` ns of CPU, then stop it until the period ends;
        returns the CPU it used (None once it is gone or we are stopping)."""
        period_end = time.monotonic_ns() + self.period_ns
        started_cpu, started_wall = self._cpu_ns(), time.monotonic_ns()

        def used() -> int:
            cpu = self._cpu_ns()
            if cpu is None or started_cpu is None:  # no CPU accounting: all the wall time it was allowed
                return time.monotonic_ns() - started_wall
            return cpu - started_cpu

        running = allowance > _MIN_SLICE_NS and self._busy.is_set()
        if not self._signal(signal.SIGCONT if running else signal.SIGSTOP):
            return None
        while running and (left_in_period := period_end - time.monotonic_ns()) > 0:
            left_in_quota = allowance - used()
            if left_in_quota <= _MIN_SLICE_NS or not self._busy.is_set():
                break
            if self._stopping.wait(min(left_in_quota, left_in_period) / 1e9):
                return None
        if running and not self._signal(signal.SIGSTOP):
            return None
        spent = used() if running else 0
        if not self._busy.is_set():
            return spent  # idle now: the caller freezes the worker; a new invocation starts a fresh period
        if self._stopping.wait(max(0, period_end - time.monotonic_ns()) / 1e9):
            return None
        return spent

    def _cpu_ns(self) -> int | None:
        """CPU time the worker has used so far (ns), None where /proc/<pid>/schedstat is missing."""
        try:
            return int(self._schedstat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _signal(self, signum: int) -> bool:
        """Send ``signum``; False once the process is gone."""
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            return False
        return True
