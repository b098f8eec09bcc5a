"""Per-environment cgroups, so the kernel caps a worker's CPU and memory the way Lambda's sandbox does.

We create our cgroups *under the cgroup this process already lives in* (read from /proc/self/cgroup): the
host's own accounting of this process keeps covering its workers, and nothing outside our subtree is touched.
Directory names carry our PID, so cgroups left behind by a killed run can be recognised and removed later.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import re
import time
from pathlib import Path

NAME_PREFIX = "serverless-crud-env"
_STALE_NAME = re.compile(rf"{NAME_PREFIX}-(\d+)-\d+")
_RMDIR_ATTEMPTS = 100
_counter = itertools.count()


class CgroupError(RuntimeError):
    """This host or user cannot create the cgroup we need (not mounted, no controller, no permission)."""


def _own_paths() -> dict[str, str]:
    """Controller (or "" for the v2 hierarchy) → this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fstype, options) of every cgroup/cgroup2 mount."""
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            _, point, fstype, options, *_ = line.split()
            if fstype in ("cgroup", "cgroup2"):
                mounts.append((point, fstype, set(options.split(","))))
    return mounts


def parent_dir(version: int, controller: str) -> Path:
    """Our own cgroup directory for ``controller`` in hierarchy v1 or v2; CgroupError when there is none."""
    own = _own_paths()
    for point, fstype, options in _mounts():
        if version == 1 and fstype == "cgroup" and controller in options and controller in own:
            return Path(point) / own[controller].lstrip("/")
        if version == 2 and fstype == "cgroup2" and "" in own:
            parent = Path(point) / own[""].lstrip("/")
            controllers = _read(parent / "cgroup.controllers").split()
            if controller not in controllers:
                raise CgroupError(f"cgroup v2 at {parent} offers no {controller} controller")
            return parent
    raise CgroupError(f"no cgroup v{version} hierarchy with the {controller} controller is mounted")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


class Cgroup:
    """One cgroup directory this process created; ``remove()`` deletes it once its tasks are gone."""

    def __init__(self, path: Path, version: int) -> None:
        self.path = path
        self.version = version

    @classmethod
    def create(cls, version: int, *controllers: str) -> Cgroup:
        """A new cgroup under ours with ``controllers`` (v1: one hierarchy; v2: all in one directory)."""
        parent = parent_dir(version, controllers[0])
        remove_stale(parent)
        if version == 2:
            for controller in controllers:
                parent_dir(2, controller)  # offered to us at all?
                _enable_v2_controller(parent, controller)
        path = parent / f"{NAME_PREFIX}-{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
        except OSError as exc:
            raise CgroupError(f"cannot create {path}: {exc.strerror}") from exc
        return cls(path, version)

    @property
    def procs_file(self) -> Path:
        """Writing a PID here moves that process into this cgroup (same file name in v1 and v2)."""
        return self.path / "cgroup.procs"

    def _write(self, name: str, value: str) -> None:
        try:
            (self.path / name).write_text(value)
        except OSError as exc:
            raise CgroupError(f"cannot write {value!r} to {self.path / name}: {exc.strerror}") from exc

    def set_cpu(self, cores: float | None, period_us: int) -> None:
        """Allow ``cores`` CPUs' worth of time per period (CFS bandwidth control); None lifts the cap."""
        quota = "max" if cores is None else str(max(1000, round(cores * period_us)))
        if self.version == 2:
            self._write("cpu.max", f"{quota} {period_us}")
        else:
            self._write("cpu.cfs_period_us", str(period_us))
            self._write("cpu.cfs_quota_us", "-1" if quota == "max" else quota)

    def set_memory(self, limit_bytes: int) -> None:
        """Hard memory limit with no swap to escape to: exceeding it gets the worker OOM-killed, as Lambda."""
        if self.version == 2:
            self._write("memory.max", str(limit_bytes))
            if (self.path / "memory.swap.max").exists():
                self._write("memory.swap.max", "0")
        else:
            self._write("memory.limit_in_bytes", str(limit_bytes))
            if (self.path / "memory.memsw.limit_in_bytes").exists():
                self._write("memory.memsw.limit_in_bytes", str(limit_bytes))

    def oom_kills(self) -> int:
        """How many processes the kernel OOM-killed in this cgroup (memory controller only)."""
        source = "memory.events" if self.version == 2 else "memory.oom_control"
        for line in _read(self.path / source).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def memory_figures(self) -> str:
        """The memory controller's own account, for a worker that timed out: usage, peak, limit hits, OOM
        state and how much of the usage is page cache (reclaimable, so the kernel may reclaim instead of
        OOM-killing)."""
        if self.version == 2:
            usage = {"usage": "memory.current", "peak": "memory.peak"}
            events, file_key, anon_key = "memory.events", "file", "anon"
        else:
            usage = {
                "usage": "memory.usage_in_bytes",
                "peak": "memory.max_usage_in_bytes",
                "failcnt": "memory.failcnt",
            }
            events, file_key, anon_key = "memory.oom_control", "cache", "rss"
        figures = [
            f"{name}={_read(self.path / file).strip()}"
            for name, file in usage.items()
            if (self.path / file).exists()
        ]
        figures += [line.replace(" ", "=") for line in _read(self.path / events).splitlines()]
        stat = dict(line.split(" ", 1) for line in _read(self.path / "memory.stat").splitlines())
        figures += [f"{key}={stat[key]}" for key in (file_key, anon_key) if key in stat]
        return " ".join(figures)

    def remove(self) -> None:
        """rmdir once the (already killed) tasks have left; one still busy after ~2 s is left and reported."""
        for _ in range(_RMDIR_ATTEMPTS):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    raise
                time.sleep(0.02)
        raise CgroupError(f"{self.path} still has tasks; remove it by hand with rmdir")


def _enable_v2_controller(parent: Path, controller: str) -> None:
    """v2 delegates a controller to children only when the parent lists it in cgroup.subtree_control."""
    if controller in _read(parent / "cgroup.subtree_control").split():
        return
    try:
        (parent / "cgroup.subtree_control").write_text(f"+{controller}")
    except OSError as exc:
        # EBUSY: the parent holds processes itself (v2's no-internal-processes rule); EACCES: not delegated.
        raise CgroupError(f"cannot enable {controller} for children of {parent}: {exc.strerror}") from exc


def remove_stale(parent: Path) -> None:
    """Delete empty cgroups that earlier, killed runs of ours left under ``parent`` (their PID is gone)."""
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            match = _STALE_NAME.fullmatch(child.name)
            if match and not _pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):
                    child.rmdir()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def probe(version: int, controller: str) -> str | None:
    """None when we may create a ``controller`` cgroup in hierarchy v``version`` and limit it, else why."""
    try:
        cgroup = Cgroup.create(version, controller)
    except CgroupError as exc:
        return str(exc)
    try:
        if controller == "cpu":
            cgroup.set_cpu(0.5, 100_000)
        else:
            cgroup.set_memory(256 * 1024 * 1024)
    except CgroupError as exc:
        return str(exc)
    finally:
        with contextlib.suppress(OSError, CgroupError):
            cgroup.remove()
    return None
