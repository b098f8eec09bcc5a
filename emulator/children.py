"""Child processes the CLIs run in the foreground (tuning, the report, locust), and Ctrl-C.

The terminal sends Ctrl-C to the whole process group, so the child usually has it already and is cleaning up
(stopping workers, writing its reports). ``subprocess.run`` would SIGKILL it 0.25 s later, in the middle of
that; these helpers wait for it instead.
"""

from __future__ import annotations

import signal
import subprocess

GRACE_S = 15.0  # how long a child may take to finish after Ctrl-C before it is nudged again


def let_child_stop(process: subprocess.Popen, grace_s: float = GRACE_S) -> int:
    """After Ctrl-C: let the child finish by itself; SIGINT it if it was not told (the signal went to this
    process alone); SIGKILL it if it still hangs. Returns its exit code."""
    for nudge in (None, signal.SIGINT, signal.SIGKILL):
        if nudge is not None:
            process.send_signal(nudge)
        try:
            return process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()
