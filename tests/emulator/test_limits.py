"""CPU and memory limits: each method (cgroup v2, cgroup v1, unprivileged duty cycle) really caps the CPU."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.limits import CgroupError, LimitPlan, cpu_share, plan_limits, quota_period_s
from emulator.limits.cgroups import NAME_PREFIX, Cgroup, parent_dir, probe, remove_stale
from emulator.limits.dutycycle import DutyCycleLimiter
from tests.emulator.conftest import HEAVY_INIT

LOOP = {"action": "loop", "iterations": 600_000}  # ~20 ms of CPU on the dev VM at full speed


def _cgroup_version(method: str) -> int:
    return 2 if method == "cgroup-v2" else 1


def _require(method: str) -> None:
    """Skip cgroup methods this host or user cannot use (the duty cycle always works)."""
    if method.startswith("cgroup"):
        reason = probe(_cgroup_version(method), "cpu")
        if reason is not None:
            pytest.skip(f"{method} not usable here: {reason}")


def _warm_ratio(slow, fast, event, runs: int = 5) -> float:
    """Median warm duration of ``slow`` over ``fast``'s, invocations interleaved so load drift hits both."""
    slow.invoke(event)  # the cold ones
    fast.invoke(event)
    pairs = [(slow.invoke(event).duration_ms, fast.invoke(event).duration_ms) for _ in range(runs)]
    return statistics.median(s for s, _ in pairs) / statistics.median(f for _, f in pairs)


def test_lambdas_cpu_share_of_a_memory_size():
    assert cpu_share(1769) == 1.0
    assert cpu_share(128) == pytest.approx(0.0724, abs=1e-4)
    assert cpu_share(3538) == 2.0


def test_the_quota_period_keeps_the_quota_at_least_one_ms():
    assert quota_period_s(cpu_share(1024)) == 0.010
    assert quota_period_s(cpu_share(128)) * cpu_share(128) == pytest.approx(0.001)


def test_plan_rejects_unknown_methods_and_caps_above_one_core_by_the_host():
    with pytest.raises(ValueError, match="cpu_limiter"):
        plan_limits(128, cpu_limiter="cgroup3")
    with pytest.raises(ValueError, match="memory_limiter"):
        plan_limits(128, memory_limiter="ulimit")
    assert plan_limits(128, cpu_limiter="dutycycle").cores_allowed == pytest.approx(128 / 1769)
    assert (
        plan_limits(3008, cpu_limiter="dutycycle").cores_allowed is None
    )  # a duty cycle cannot give > 1 core
    assert plan_limits(10240, cpu_limiter="none").cores_allowed is None


def test_a_forced_cgroup_that_is_not_available_says_why(monkeypatch):
    monkeypatch.setattr("emulator.limits.probe", lambda version, controller: "no permission (test)")
    with pytest.raises(CgroupError, match="no permission"):
        plan_limits(128, cpu_limiter="cgroup-v2")
    assert plan_limits(128).cpu_method == "dutycycle"  # auto falls back to the unprivileged method
    assert plan_limits(128).memory_method == "rss-check"


def test_each_limiter_has_one_spelling(monkeypatch):
    monkeypatch.setattr("emulator.limits.probe", lambda version, controller: None)
    assert plan_limits(128, cpu_limiter="cgroup-v1").cpu_method == "cgroup-v1"
    assert plan_limits(128, cpu_limiter="cgroup-v2", memory_limiter="cgroup-v2").memory_method == "cgroup-v2"
    for other_spelling in ("cgroup1", "cgroup2", "rss"):
        with pytest.raises(ValueError, match="must be one of"):
            plan_limits(128, cpu_limiter=other_spelling, memory_limiter=other_spelling)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dutycycle", "cgroup-v1", "cgroup-v2"])
def test_cpu_work_takes_proportionally_longer_at_a_smaller_share(make_runtime, method):
    """128 MB (0.072 core) against 442 MB (0.25 core): 3.5× as long. Both shares are small, so other load on
    the shared machine (which would slow a full core) leaves them alone."""
    _require(method)
    small = make_runtime(memory_mb=128, cpu_limiter=method)
    quarter = make_runtime(memory_mb=442, cpu_limiter=method)

    ratio = _warm_ratio(small, quarter, LOOP)

    assert small.emulation["cpu_limiter"] == method
    assert 1.8 < ratio < 7.0, f"expected ≈3.5× as long at 128 MB as at 442 MB, measured {ratio:.2f}×"


@pytest.mark.slow
def test_without_a_cap_the_same_work_is_not_slowed(make_runtime):
    """The control for the test above: the slowdown comes from the limiter, not from the memory size."""
    small = make_runtime(memory_mb=128, cpu_limiter="none")
    quarter = make_runtime(memory_mb=442, cpu_limiter="none")

    ratio = _warm_ratio(small, quarter, LOOP)

    assert ratio < 1.8


def test_duty_cycle_freezes_an_idle_worker_and_meters_a_busy_one():
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    limiter = DutyCycleLimiter(child.pid, share=0.2, period_s=0.02)
    try:
        limiter.start(busy=False)
        time.sleep(0.2)
        assert _state(child.pid) == "T"  # stopped, like a frozen Lambda environment
        frozen_cpu = _cpu_seconds(child.pid)
        time.sleep(0.3)
        assert _cpu_seconds(child.pid) - frozen_cpu < 0.02

        limiter.busy()
        started_cpu, started = _cpu_seconds(child.pid), time.monotonic()
        time.sleep(1.0)
        share = (_cpu_seconds(child.pid) - started_cpu) / (time.monotonic() - started)
        assert 0.08 < share < 0.4, f"expected ≈0.2 of a core, measured {share:.2f}"
    finally:
        limiter.stop()
        child.kill()
        child.wait()


def test_duty_cycle_share_must_be_below_one_core():
    with pytest.raises(ValueError, match="share"):
        DutyCycleLimiter(os.getpid(), share=1.0, period_s=0.02)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dutycycle", "cgroup-v1"])
def test_boost_runs_init_uncapped_and_capped_does_not(make_runtime, method):
    _require(method)
    settings = {"memory_mb": 128, "function_dir": HEAVY_INIT, "cpu_limiter": method}
    boosted = make_runtime(init_cpu="boost", **settings).invoke({})
    capped = make_runtime(init_cpu="capped", **settings).invoke({})

    assert boosted.error is None
    assert capped.error is None
    assert capped.init_ms > 2 * boosted.init_ms, (capped.init_ms, boosted.init_ms)


@pytest.mark.parametrize("method", ["cgroup-v1", "cgroup-v2"])
def test_cgroups_hold_the_worker_with_its_limits_and_are_removed_on_close(make_runtime, method):
    _require(method)
    runtime = make_runtime(memory_mb=512, cpu_limiter=method, memory_limiter=method)
    assert runtime.invoke({"action": "echo"}).error is None
    (environment,) = runtime._all
    cgroups = environment.limits.cgroups
    assert cgroups, "no cgroup was created"
    pid = str(environment.process.pid)

    for cgroup in cgroups:
        assert pid in cgroup.procs_file.read_text().split()
    cpu = next(
        c for c in cgroups if (c.path / ("cpu.max" if c.version == 2 else "cpu.cfs_quota_us")).exists()
    )
    if cpu.version == 2:
        quota, period = (int(v) for v in (cpu.path / "cpu.max").read_text().split())
    else:
        quota = int((cpu.path / "cpu.cfs_quota_us").read_text())
        period = int((cpu.path / "cpu.cfs_period_us").read_text())
    assert quota / period == pytest.approx(512 / 1769, rel=0.01)
    memory = environment.limits.memory_cgroup
    limit_file = "memory.max" if memory.version == 2 else "memory.limit_in_bytes"
    assert int((memory.path / limit_file).read_text()) == 512 * 1024 * 1024

    runtime.close()
    assert not any(cgroup.path.exists() for cgroup in cgroups)


def test_cgroups_left_by_a_killed_run_are_removed():
    if probe(1, "cpu") is not None:
        pytest.skip(f"cgroup v1 cpu not usable here: {probe(1, 'cpu')}")
    parent = parent_dir(1, "cpu")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = parent / f"{NAME_PREFIX}-{dead.pid}-0"
    ours = Cgroup.create(1, "cpu")  # named with our (live) PID: must survive
    try:
        stale.mkdir()
        remove_stale(parent)
        assert not stale.exists()
        assert ours.path.exists()
    finally:
        ours.remove()
        if stale.exists():
            stale.rmdir()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _cpu_seconds(pid: int) -> float:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


@pytest.fixture
def fake_cgroup2(tmp_path, monkeypatch):
    """A directory standing in for a delegated cgroup v2 subtree (cpu and memory offered, cpu enabled)."""
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("cpu\n")
    monkeypatch.setattr("emulator.limits.cgroups._mounts", lambda: [(str(tmp_path), "cgroup2", {"rw"})])
    monkeypatch.setattr("emulator.limits.cgroups._own_paths", lambda: {"": "/"})
    return tmp_path


def test_cgroup_v2_writes_one_directory_with_cpu_max_and_memory_max(fake_cgroup2):
    """The v2 file protocol, where this machine has no v2 controllers to try it on."""
    plan = LimitPlan(
        memory_mb=512, cpu_method="cgroup-v2", memory_method="cgroup-v2", cores_allowed=512 / 1769
    )
    limits = plan.new_environment(cap_from_start=False)
    (cgroup,) = limits.cgroups
    try:
        assert cgroup.path.parent == fake_cgroup2
        assert (fake_cgroup2 / "cgroup.subtree_control").read_text() == "+memory"  # cpu was enabled already
        assert (cgroup.path / "memory.max").read_text() == str(512 * 1024 * 1024)
        assert (cgroup.path / "cpu.max").read_text() == "max 10000"  # boost: uncapped during init
        limits.cap_cpu()
        assert (cgroup.path / "cpu.max").read_text() == f"{round(512 / 1769 * 10000)} 10000"
        assert f"echo $$ > {cgroup.procs_file}" in " ".join(limits.wrap(["python"]))
    finally:
        for child in cgroup.path.iterdir():  # the kernel would drop these files with the directory
            child.unlink()
        limits.close()
    assert not cgroup.path.exists()


def test_cgroup_v2_without_the_memory_controller_is_unavailable(fake_cgroup2):
    (fake_cgroup2 / "cgroup.controllers").write_text("cpu pids\n")
    with pytest.raises(CgroupError, match="no memory controller"):
        Cgroup.create(2, "cpu", "memory")


@pytest.mark.parametrize(
    ("version", "files", "expected"),
    [
        (
            1,
            {
                "memory.usage_in_bytes": "1000\n",
                "memory.max_usage_in_bytes": "2000\n",
                "memory.failcnt": "3\n",
                "memory.oom_control": "oom_kill_disable 0\nunder_oom 1\noom_kill 0\n",
                "memory.stat": "cache 40\nrss 960\nmapped_file 0\n",
            },
            "usage=1000 peak=2000 failcnt=3 oom_kill_disable=0 under_oom=1 oom_kill=0 cache=40 rss=960",
        ),
        (
            2,
            {
                "memory.current": "1000\n",
                "memory.peak": "2000\n",
                "memory.events": "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n",
                "memory.stat": "anon 960\nfile 40\nkernel 8\n",
            },
            "usage=1000 peak=2000 low=0 high=0 max=5 oom=1 oom_kill=1 file=40 anon=960",
        ),
    ],
)
def test_memory_figures_read_the_controllers_own_account(
    tmp_path: Path, version: int, files: dict[str, str], expected: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert Cgroup(tmp_path, version).memory_figures() == expected
