"""CPU and memory limits for one execution environment: Lambda's CPU share of a memory size, on this machine.

Lambda gives a function ``memory / 1769`` of one vCPU (1,769 MB = 1 vCPU). We cap a worker at that share of
one host core (above one core, at most the cores present) with the best method this host allows:

* CPU: ``cgroup-v2`` (cpu.max) → ``cgroup-v1`` (cpu.cfs_quota_us) → ``dutycycle`` (SIGSTOP/SIGCONT,
  unprivileged).
* Memory: ``cgroup-v2`` (memory.max) → ``cgroup-v1`` (memory.limit_in_bytes) → ``rss-check`` (unprivileged:
  the runtime polls the worker's peak resident memory (VmHWM) while it runs and checks it after each
  invocation, killing the worker when over the size; the kernel does not enforce it, so the kill comes up to
  one poll late).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import TypedDict

from emulator.limits.cgroups import Cgroup, CgroupError, probe
from emulator.limits.dutycycle import DutyCycleLimiter

MB_PER_VCPU = 1769
# The quota period. Within a period a capped worker runs at full speed until its quota is spent, so a request
# shorter than the quota is not slowed at all: a short period keeps the share smooth for few-ms requests.
# 1 ms is the smallest quota cgroups accept, hence a longer period at the smallest shares (128 MB: 13.8 ms).
_MIN_PERIOD_S = 0.010
_MIN_QUOTA_S = 0.001
# The one spelling of each limiter: every CLI (serve, tune, bench) offers exactly these choices.
CPU_LIMITERS = ("auto", "cgroup-v2", "cgroup-v1", "dutycycle", "none")
MEMORY_LIMITERS = ("auto", "cgroup-v2", "cgroup-v1", "rss-check")
_JOIN_FAILED_EXIT = 97

__all__ = [
    "CPU_LIMITERS",
    "MB_PER_VCPU",
    "MEMORY_LIMITERS",
    "CgroupError",
    "EnvironmentLimits",
    "LimitPlan",
    "cpu_share",
    "host_cores",
    "plan_limits",
]


def host_cores() -> int:
    """Cores this process may run on (affinity), which bound any share above one core."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_share(memory_mb: int) -> float:
    """Lambda's CPU for ``memory_mb``, in cores: 128 MB → 0.072, 1769 MB → 1.0."""
    return memory_mb / MB_PER_VCPU


def quota_period_s(cores: float) -> float:
    """The CPU quota period for a cap of ``cores``: 10 ms, longer where the quota would be under 1 ms."""
    return max(_MIN_PERIOD_S, _MIN_QUOTA_S / cores)


def _cgroup_version(method: str) -> int:
    return 2 if method == "cgroup-v2" else 1


def _choose(requested: str, controller: str, fallback: str) -> str:
    """The method to use: the first cgroup version that works for ``auto``; a forced cgroup must work."""
    if requested == "auto":
        for method in ("cgroup-v2", "cgroup-v1"):
            if probe(_cgroup_version(method), controller) is None:
                return method
        return fallback
    if requested.startswith("cgroup-"):
        reason = probe(_cgroup_version(requested), controller)
        if reason is not None:
            raise CgroupError(f"{requested} {controller} limit not possible here: {reason}")
    return requested


class LimitFacts(TypedDict):
    """How one runtime's environments were limited, as results files and the serve banner report it."""

    cpu_limiter: str
    cpu_share: float  # Lambda's: memory / 1769 MB, in cores
    cpu_cores_allowed: float | None  # what the limiter enforces; None: uncapped
    cpu_period_ms: float | None
    memory_limit: str
    memory_limit_mb: int
    host_cores: int


@dataclass(frozen=True)
class LimitPlan:
    """How every environment of one runtime is limited; decided once, recorded in the results."""

    memory_mb: int
    cpu_method: str
    memory_method: str
    cores_allowed: float | None  # None: no cap (share ≥ 1 core with the duty cycle, or cpu_method "none")

    @property
    def period_s(self) -> float | None:
        return None if self.cores_allowed is None else quota_period_s(self.cores_allowed)

    def describe(self) -> LimitFacts:
        return {
            "cpu_limiter": self.cpu_method,
            "cpu_share": round(cpu_share(self.memory_mb), 4),
            "cpu_cores_allowed": None if self.cores_allowed is None else round(self.cores_allowed, 4),
            "cpu_period_ms": None if self.period_s is None else round(self.period_s * 1000, 2),
            "memory_limit": self.memory_method,
            "memory_limit_mb": self.memory_mb,
            "host_cores": host_cores(),
        }

    def new_environment(self, *, cap_from_start: bool) -> EnvironmentLimits:
        return EnvironmentLimits(self, cap_from_start=cap_from_start)


def plan_limits(memory_mb: int, cpu_limiter: str = "auto", memory_limiter: str = "auto") -> LimitPlan:
    """Pick the methods for ``memory_mb``; ValueError for unknown names, CgroupError for a forced cgroup."""
    if cpu_limiter not in CPU_LIMITERS:
        raise ValueError(f"cpu_limiter must be one of {', '.join(CPU_LIMITERS)}; got {cpu_limiter!r}")
    if memory_limiter not in MEMORY_LIMITERS:
        raise ValueError(
            f"memory_limiter must be one of {', '.join(MEMORY_LIMITERS)}; got {memory_limiter!r}"
        )
    if memory_mb < 1:
        raise ValueError(f"memory_mb must be positive, got {memory_mb}")
    cores = min(cpu_share(memory_mb), host_cores())
    cpu_method = _choose(cpu_limiter, "cpu", "dutycycle")
    # A duty cycle stops the whole process, so it cannot grant more than one core: a single-threaded handler
    # cannot use more anyway, so ≥ 1 core is simply left uncapped.
    uncapped = cpu_method == "none" or (cpu_method == "dutycycle" and cores >= 1)
    return LimitPlan(
        memory_mb=memory_mb,
        cpu_method=cpu_method,
        memory_method=_choose(memory_limiter, "memory", "rss-check"),
        cores_allowed=None if uncapped else cores,
    )


class EnvironmentLimits:
    """The limits of one worker process: its cgroups or its duty-cycle thread, and their cleanup.

    Use: ``wrap(command)`` → start the process → ``attach(pid)`` → (after init, for init_cpu "boost")
    ``cap_cpu()`` → … → kill the process → ``close()``.
    """

    def __init__(self, plan: LimitPlan, *, cap_from_start: bool) -> None:
        self.plan = plan
        self._cap_from_start = cap_from_start
        self._cgroups: list[Cgroup] = []
        self._cpu_cgroup: Cgroup | None = None
        self.memory_cgroup: Cgroup | None = None
        self._limiter: DutyCycleLimiter | None = None
        try:
            self._create_cgroups()
        except BaseException:
            self.close()
            raise

    def _create_cgroups(self) -> None:
        plan = self.plan
        cap_cpu = plan.cpu_method.startswith("cgroup") and plan.cores_allowed is not None
        limit_memory = plan.memory_method.startswith("cgroup")
        if cap_cpu and limit_memory and plan.cpu_method == plan.memory_method == "cgroup-v2":
            self._cpu_cgroup = self.memory_cgroup = self._new_cgroup(
                "cgroup-v2", "cpu", "memory"
            )  # one directory
        else:
            if cap_cpu:
                self._cpu_cgroup = self._new_cgroup(plan.cpu_method, "cpu")
            if limit_memory:
                self.memory_cgroup = self._new_cgroup(plan.memory_method, "memory")
        if self._cpu_cgroup is not None and plan.cores_allowed is not None:
            self._cpu_cgroup.set_cpu(plan.cores_allowed if self._cap_from_start else None, self._period_us)
        if self.memory_cgroup is not None:
            self.memory_cgroup.set_memory(plan.memory_mb * 1024 * 1024)

    @property
    def _period_us(self) -> int:
        return round((self.plan.period_s or _MIN_PERIOD_S) * 1e6)

    def _new_cgroup(self, method: str, *controllers: str) -> Cgroup:
        cgroup = Cgroup.create(_cgroup_version(method), *controllers)
        self._cgroups.append(cgroup)
        return cgroup

    def wrap(self, command: list[str]) -> list[str]:
        """Prefix ``command`` so the process enters its cgroups itself, before exec: limited from its first
        instruction, with no race and no code run between fork and exec in this (threaded) parent."""
        if not self._cgroups:
            return command
        joins = " && ".join(f"echo $$ > {shlex.quote(str(c.procs_file))}" for c in self._cgroups)
        # The shell exports PWD, which the process would inherit: Lambda's environment has none.
        script = f'{{ {joins}; }} 2>/dev/null || exit {_JOIN_FAILED_EXIT}; unset PWD; exec "$@"'
        return ["/bin/sh", "-c", script, "lambda-environment", *command]

    @staticmethod
    def describe_exit(returncode: int | None) -> str | None:
        """Why the process ended before starting, when it was the cgroup join in ``wrap`` that failed."""
        if returncode == _JOIN_FAILED_EXIT:
            return "the worker could not join its cgroups"
        return None

    def attach(self, pid: int) -> None:
        """Called right after the process starts; the duty cycle starts now when init is capped too."""
        plan = self.plan
        if plan.cpu_method == "dutycycle" and plan.cores_allowed is not None and plan.period_s is not None:
            self._limiter = DutyCycleLimiter(pid, plan.cores_allowed, plan.period_s)
            if self._cap_from_start:
                self._limiter.start(busy=True)

    def cap_cpu(self) -> None:
        """Init is over: apply the CPU cap now (init_cpu "boost"); the duty cycle freezes the idle worker."""
        if self._limiter is not None:
            if self._cap_from_start:
                self._limiter.idle()
            else:
                self._limiter.start(busy=False)
        elif self._cpu_cgroup is not None and not self._cap_from_start:
            self._cpu_cgroup.set_cpu(self.plan.cores_allowed, self._period_us)

    def busy(self) -> None:
        """An invocation is being sent: the duty cycle thaws the worker and meters its quota."""
        if self._limiter is not None:
            self._limiter.busy()

    def idle(self) -> None:
        """The invocation is over: the duty cycle freezes the worker, as Lambda freezes idle environments."""
        if self._limiter is not None:
            self._limiter.idle()

    @property
    def cgroups(self) -> list[Cgroup]:
        """The cgroups this worker joins (empty without cgroup limits)."""
        return list(self._cgroups)

    def oom_killed(self) -> bool:
        return self.memory_cgroup is not None and self.memory_cgroup.oom_kills() > 0

    def memory_figures(self, peak_rss_kb: int) -> str:
        """How much memory the worker holds, as its memory cgroup counts it, else (rss-check, or no memory
        limit) its peak resident size."""
        if self.memory_cgroup is not None:
            return self.memory_cgroup.memory_figures()
        return f"peak_rss_kb={peak_rss_kb} ({self.plan.memory_method})"

    def detach(self) -> None:
        """Stop signalling the worker: call before killing it, so no signal can reach a recycled PID."""
        if self._limiter is not None:
            self._limiter.stop()
            self._limiter = None

    def close(self) -> None:
        """Stop the duty cycle and remove the cgroups (call after the process has been killed and reaped)."""
        self.detach()
        errors = []
        for cgroup in self._cgroups:
            try:
                cgroup.remove()
            except (OSError, CgroupError) as exc:
                errors.append(str(exc))
        self._cgroups.clear()
        if errors:
            raise CgroupError("; ".join(errors))
