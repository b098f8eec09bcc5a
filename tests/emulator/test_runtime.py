"""The local Lambda runtime acts like Lambda: warm reuse, cold init, errors, timeouts, memory, logs."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from emulator.limits import CgroupError
from emulator.limits.cgroups import parent_dir, remove_stale
from emulator.runtime import LambdaRuntime
from tests.emulator.conftest import BASIC
from tuning.engine.reports import parse_report_line

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_cold_then_warm_in_the_same_environment(make_runtime):
    runtime = make_runtime(memory_mb=512, environment={"TABLE_NAME": "items", "AWS_REGION": "eu-west-1"})
    first = runtime.invoke({"action": "echo", "n": 1})
    second = runtime.invoke({"action": "echo", "n": 2})

    assert first.error is None
    assert first.payload["event"] == {"action": "echo", "n": 1}
    assert first.cold
    assert first.init_ms is not None
    assert first.init_ms > 0
    assert not second.cold
    assert second.init_ms is None
    assert second.payload["invocations"] == 2  # module state survived: same process
    assert UUID.fullmatch(first.request_id)
    assert first.request_id != second.request_id
    assert first.payload["request_id"] == first.request_id


def test_the_function_sees_lambdas_context_environment_and_path(make_runtime):
    runtime = make_runtime(memory_mb=256, environment={"TABLE_NAME": "items"}, timeout_s=7)
    payload = runtime.invoke({"action": "echo"}).payload

    assert payload["table"] == "items"
    assert payload["function_name"] == "test-fn"
    assert payload["memory"] == "256"  # a string, as Lambda's Python runtime gives it
    assert payload["env_memory"] == "256"
    assert 0 < payload["remaining_ms"] <= 7000
    assert Path(payload["sys_path"][0]) == BASIC.resolve()
    repo = Path(__file__).resolve().parents[2]
    assert not any(Path(p) in (repo, repo / "emulator") for p in payload["sys_path"])  # only its own dir
    assert Path(payload["cwd"]) == BASIC.resolve()


def test_log_lines_frame_the_functions_output_like_cloudwatch(make_runtime):
    runtime = make_runtime()
    cold = runtime.invoke({"action": "echo"})
    warm = runtime.invoke({"action": "echo"})

    assert cold.log_lines[0].startswith("INIT_START Runtime Version: python:")
    assert cold.log_lines[1:] == [
        "init: module loaded",
        f"START RequestId: {cold.request_id} Version: $LATEST",
        "handling echo",
        f"END RequestId: {cold.request_id}",
        cold.report_line,
    ]
    assert warm.log_lines == [
        f"START RequestId: {warm.request_id} Version: $LATEST",
        "handling echo",
        f"END RequestId: {warm.request_id}",
        warm.report_line,
    ]
    assert cold.log_stream == warm.log_stream
    assert "[$LATEST]" in cold.log_stream


def test_report_line_is_lambdas_text_format(make_runtime):
    runtime = make_runtime(memory_mb=384)
    cold = runtime.invoke({"action": "loop", "iterations": 20_000})
    warm = runtime.invoke({"action": "echo"})

    assert re.fullmatch(
        r"REPORT RequestId: \S+\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 384 MB"
        r"\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms",
        cold.report_line,
    )
    parsed = parse_report_line(cold.report_line)
    assert parsed is not None
    assert parsed["duration_ms"] == pytest.approx(cold.duration_ms, abs=0.005)
    assert parsed["billed_ms"] == cold.billed_ms
    assert cold.billed_ms >= cold.duration_ms > cold.billed_ms - 1  # whole ms, rounded up
    assert parsed["init_ms"] == pytest.approx(cold.init_ms, abs=0.005)
    assert parsed["memory_mb"] == 384
    assert parsed["max_memory_used_mb"] == cold.max_memory_used_mb > 5
    warm_parsed = parse_report_line(warm.report_line)
    assert warm_parsed is not None
    assert warm_parsed["init_ms"] is None
    assert "Init Duration" not in warm.report_line


def test_handler_exception_is_the_invocations_error_and_the_environment_lives_on(make_runtime):
    runtime = make_runtime()
    failed = runtime.invoke({"action": "raise"})
    after = runtime.invoke({"action": "echo"})

    assert failed.error == {"errorType": "ValueError", "errorMessage": "boom"}
    assert failed.payload["errorType"] == "ValueError"
    assert failed.payload["requestId"] == failed.request_id
    assert any('raise ValueError("boom")' in frame for frame in failed.payload["stackTrace"])
    assert "[ERROR] ValueError: boom" in failed.log_lines
    assert not any("worker.py" in line for line in failed.log_lines)  # the trace starts in the function
    assert not after.cold
    assert after.payload["invocations"] == 2


def test_unserialisable_result_is_a_marshal_error(make_runtime):
    invocation = make_runtime().invoke({"action": "unserialisable"})

    assert invocation.error["errorType"] == "Runtime.MarshalError"
    assert "not JSON serializable" in invocation.error["errorMessage"]


def test_timeout_fails_the_invocation_and_discards_the_environment(make_runtime):
    runtime = make_runtime(timeout_s=1.0)
    runtime.invoke({"action": "echo"})
    timed_out = runtime.invoke({"action": "sleep", "seconds": 30})
    after = runtime.invoke({"action": "echo"})

    assert timed_out.error["errorType"] == "Sandbox.Timedout"
    assert timed_out.error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert timed_out.duration_ms == 1000.0
    assert timed_out.billed_ms == 1000
    assert "Status: timeout" in timed_out.report_line
    assert any(
        line.endswith(f"{timed_out.request_id} Task timed out after 1.00 seconds")
        for line in timed_out.log_lines
    )
    assert "handling sleep" in timed_out.log_lines  # what the function printed before is kept
    assert after.cold
    assert after.payload["invocations"] == 1


def test_process_exit_is_a_runtime_exit_error(make_runtime):
    runtime = make_runtime()
    exited = runtime.invoke({"action": "exit"})

    assert exited.error["errorType"] == "Runtime.ExitError"
    assert exited.error["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert runtime.invoke({"action": "echo"}).cold


@pytest.mark.slow
@pytest.mark.parametrize("memory_limiter", ["auto", "rss-check"])
def test_exceeding_the_memory_size_kills_the_environment_like_lambda(make_runtime, memory_limiter):
    runtime = make_runtime(memory_mb=128, cpu_limiter="none", memory_limiter=memory_limiter)
    fits = runtime.invoke({"action": "allocate", "mb": 16})
    too_big = runtime.invoke({"action": "allocate", "mb": 400})
    after = runtime.invoke({"action": "echo"})

    assert fits.error is None
    assert fits.max_memory_used_mb < 128
    assert too_big.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {too_big.request_id} Error: Runtime exited with error: signal: killed",
    }
    assert too_big.report_line.endswith(
        "Max Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
    )
    assert after.cold
    assert runtime.emulation["memory_limit"] == (
        "rss-check" if memory_limiter == "rss-check" else "cgroup-v1"
    )


@pytest.mark.parametrize(
    ("source", "error_type", "message"),
    [
        (
            "import not_a_module\n",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named",
        ),
        ("def lambda_handler(:\n", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ("x = 1\n", "Runtime.HandlerNotFound", "Handler 'lambda_handler' missing on module 'app'"),
        ("raise KeyError('TABLE_NAME')\n", "KeyError", "'TABLE_NAME'"),
    ],
)
def test_init_failures_are_reported_with_lambdas_error_types(
    make_runtime, tmp_path, source, error_type, message
):
    (tmp_path / "app.py").write_text(source)
    runtime = make_runtime(function_dir=tmp_path)
    failed = runtime.invoke({})

    assert failed.error["errorType"] == error_type
    assert failed.error["errorMessage"].startswith(message)
    assert failed.cold
    assert failed.init_ms is not None
    assert f"Error Type: {error_type}" in failed.report_line
    assert runtime.invoke({}).cold  # a failed init leaves no environment behind


def test_bad_arguments_are_rejected_before_anything_starts(tmp_path):
    with pytest.raises(ValueError, match="init_cpu"):
        LambdaRuntime(function_name="f", memory_mb=128, environment={}, function_dir=BASIC, init_cpu="turbo")
    with pytest.raises(ValueError, match="cpu_limiter"):
        LambdaRuntime(
            function_name="f", memory_mb=128, environment={}, function_dir=BASIC, cpu_limiter="magic"
        )
    with pytest.raises(ValueError, match="no handler module"):
        LambdaRuntime(function_name="f", memory_mb=128, environment={}, function_dir=tmp_path)


def test_an_event_that_is_not_json_is_refused_without_using_an_environment(make_runtime):
    runtime = make_runtime()
    with pytest.raises(TypeError):
        runtime.invoke({"when": object()})
    assert runtime.invoke({"action": "echo"}).cold


def test_concurrent_invocations_share_at_most_max_environments(make_runtime):
    runtime = make_runtime(max_environments=2)
    results = []
    lock = threading.Lock()

    def call() -> None:
        invocation = runtime.invoke({"action": "sleep", "seconds": 0.2})
        with lock:
            results.append(invocation)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 6
    assert all(r.error is None for r in results)
    assert sum(r.cold for r in results) == 2
    assert len({r.log_stream for r in results}) == 2


def test_close_ends_every_environment(make_runtime):
    runtime = make_runtime()
    invocation = runtime.invoke({"action": "echo"})
    assert invocation.error is None
    workers = [environment.process.pid for environment in runtime._all]
    runtime.close()

    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    with pytest.raises(RuntimeError, match="closed"):
        runtime.invoke({})


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _remove_cgroups_of_dead_runs() -> None:
    for version, controller in ((1, "cpu"), (1, "memory"), (2, "cpu")):
        with contextlib.suppress(CgroupError):
            remove_stale(parent_dir(version, controller))


@pytest.mark.slow
@pytest.mark.parametrize("cpu_limiter", ["dutycycle", "auto"])
def test_environments_die_with_the_runtimes_process(tmp_path, cpu_limiter):
    """A killed runtime (kill -9, no cleanup) must not leave workers behind, even frozen ones."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from emulator.runtime import LambdaRuntime
        runtime = LambdaRuntime(function_name="f", memory_mb=128, environment={{}},
                                function_dir=Path({str(BASIC)!r}), cpu_limiter={cpu_limiter!r})
        runtime.invoke({{"action": "echo"}})
        print(*[e.process.pid for e in runtime._all], flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    pids = [int(pid) for pid in done.stdout.split()]
    try:
        assert pids, done.stderr
        for pid in pids:
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                    break
                threading.Event().wait(0.05)
            else:
                os.kill(pid, 9)
                pytest.fail(f"worker {pid} outlived its runtime")
    finally:
        _remove_cgroups_of_dead_runs()  # the killed runtime could not remove its own (no later run here will)
