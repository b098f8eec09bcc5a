"""The local Lambda runtime acts like Lambda: warm reuse, cold init, errors, timeouts, memory, logs."""

from __future__ import annotations

import contextlib
import dataclasses
import locale
import math
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from emulator.environment import INJECTED_INIT_ERROR_MODULE
from emulator.lambda_python import lambda_python
from emulator.limits import CgroupError
from emulator.limits.cgroups import parent_dir, remove_stale
from emulator.runtime import LambdaRuntime
from emulator.runtime_api import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, RequestTooLargeError
from tests.emulator.conftest import BASIC, PROBE
from tuning.engine.report_lines import parse_report_line

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
    # the client logs the error as one event: its lines joined by \r, as awslambdaric writes to stdout
    (logged,) = [line for line in failed.log_lines if line.startswith("[ERROR] ValueError: boom")]
    assert logged.split("\r")[1] == "Traceback (most recent call last):"
    assert "bootstrap.py" not in logged  # the trace starts in the function
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
    assert timed_out.timed_out
    assert not timed_out.out_of_memory
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


@pytest.mark.parametrize("memory_limiter", ["auto", "rss-check"])
def test_a_timed_out_invocation_reports_the_memory_it_used(make_runtime, memory_limiter, caplog):
    """Its Max Memory Used is measured at the timeout, not left at the peak before the invocation (a timed-out
    allocation once read "16 MB used", as if it had not started), and the memory limiter's own figures are
    logged: the cgroup's account, or the rss-check fallback's peak."""
    runtime = make_runtime(timeout_s=1.0, cpu_limiter="none", memory_limiter=memory_limiter)
    runtime.invoke({"action": "echo"})
    timed_out = runtime.invoke({"action": "sleep", "seconds": 30, "hold_mb": 100})

    assert timed_out.timed_out
    assert timed_out.max_memory_used_mb > 100
    assert f"Max Memory Used: {timed_out.max_memory_used_mb} MB\tStatus: timeout" in timed_out.report_line
    (logged,) = [
        record.getMessage() for record in caplog.records if "timed out; memory:" in record.getMessage()
    ]
    assert timed_out.log_stream in logged
    if runtime.emulation["memory_limit"] == "rss-check":
        peak_kb = int(re.search(r"peak_rss_kb=(\d+) \(rss-check\)$", logged).group(1))
        assert math.ceil(peak_kb / 1024) == timed_out.max_memory_used_mb
    else:
        usage = int(re.search(r" usage=(\d+) ", logged).group(1))
        assert usage > 100 * 1024 * 1024  # the allocation was resident, charged to its cgroup
        assert " oom_kill=0 " in logged


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
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {too_big.request_id} Error: Runtime exited with error: signal: killed",
    }
    assert too_big.out_of_memory
    assert not too_big.timed_out
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
                pytest.fail(f"environment {pid} outlived its runtime")
    finally:
        _remove_cgroups_of_dead_runs()  # the killed runtime could not remove its own (no later run here will)


# What the function sees: Lambda's variables (section 1 of the runtime's issue), nothing of this shell's.
LAMBDA_VARIABLES = {
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",  # set by the client for each invocation, from the trace header
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_RUNTIME_API",
    "TZ",
    "LANG",
    "PATH",
    "PYTHONPATH",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
}
EMULATOR_GUARDS = {
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
}  # keep ~/.aws out of the function's reach
FUNCTION_VARIABLES = {"TABLE_NAME": "items", "AWS_ENDPOINT_URL": "http://127.0.0.1:5999"}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}


def _locale_coercion() -> set[str]:
    """Python sets LC_CTYPE itself (PEP 538) where LANG's en_US.UTF-8 is not installed; Lambda has it."""
    try:
        with _restored_ctype():
            locale.setlocale(locale.LC_CTYPE, "en_US.UTF-8")
    except locale.Error:
        return {"LC_CTYPE"}
    return set()


@contextlib.contextmanager
def _restored_ctype():
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)


def test_the_probe_sees_lambdas_python_environment_and_context(make_runtime, monkeypatch):
    monkeypatch.setenv("DEVELOPERS_OWN", "must not leak")
    monkeypatch.setenv("AWS_PROFILE", "developer")
    runtime = make_runtime(
        function_name="probe",
        memory_mb=256,
        timeout_s=7,
        function_dir=PROBE,
        environment={**FUNCTION_VARIABLES, **CREDENTIALS, "AWS_REGION": "eu-west-1"},
    )
    invocation = runtime.invoke({})
    seen = invocation.payload
    environ = seen["environ"]

    assert invocation.error is None
    assert seen["version"].startswith(runtime.python.python_version + " ")
    if not runtime.python.interpreter.fallback:
        assert seen["version"].startswith("3.13.")
    assert set(environ) - _locale_coercion() == LAMBDA_VARIABLES | EMULATOR_GUARDS | set(FUNCTION_VARIABLES)
    assert {key: environ[key] for key in FUNCTION_VARIABLES} == FUNCTION_VARIABLES
    assert {key: environ[key] for key in CREDENTIALS} == CREDENTIALS  # as Lambda passes the role's
    assert environ["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert environ["_HANDLER"] == "app.lambda_handler"
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "probe"
    assert environ["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert environ["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert environ["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/probe"
    assert environ["AWS_LAMBDA_LOG_STREAM_NAME"] == invocation.log_stream
    assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", environ["AWS_LAMBDA_RUNTIME_API"])
    assert (environ["TZ"], environ["LANG"]) == (":UTC", "en_US.UTF-8")
    assert Path(environ["LAMBDA_TASK_ROOT"]) == Path(seen["cwd"]) == Path(seen["path"][0]) == PROBE.resolve()
    assert environ["PYTHONPATH"] == environ["LAMBDA_RUNTIME_DIR"]
    assert (Path(environ["LAMBDA_RUNTIME_DIR"]) / "awslambdaric").is_dir()  # where the client lives
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", environ["_X_AMZN_TRACE_ID"]
    )
    repo = Path(__file__).resolve().parents[2]
    assert not any(Path(p) in (repo, repo / "emulator") for p in seen["path"])
    context = seen["context"]
    assert context["aws_request_id"] == invocation.request_id
    assert context["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:probe"
    assert (context["function_name"], context["function_version"]) == ("probe", "$LATEST")
    assert context["memory_limit_in_mb"] == "256"  # a string, as Lambda's Python runtime gives it
    assert (context["log_group_name"], context["log_stream_name"]) == (
        "/aws/lambda/probe",
        invocation.log_stream,
    )
    assert 0 < context["remaining_ms"] <= 7000


def test_the_runtime_is_labelled_by_what_its_environments_report(make_runtime):
    prepared = lambda_python()
    # a runtime told the wrong client version: the label must still come from the environment that ran
    runtime = make_runtime(python=dataclasses.replace(prepared, awslambdaric="0.0.0"))
    assert runtime.label.endswith(
        "awslambdaric 0.0.0" + (" (fallback)" if prepared.interpreter.fallback else "")
    )
    runtime.invoke({"action": "echo"})

    version = ".".join(prepared.python_version.split(".")[:2])
    expected = f"python{version} · awslambdaric 4.2.2"  # the pin in emulator/lambda-runtime/requirements.txt
    if prepared.interpreter.fallback:
        expected += " (fallback)"
    assert runtime.label == expected
    assert runtime.emulation["runtime"] == expected


def test_logging_records_reach_the_log_in_lambdas_text_format(make_runtime):
    invocation = make_runtime().invoke({"action": "log"})

    (record,) = [line for line in invocation.log_lines if line.startswith("[INFO]")]
    level, timestamp, request_id, message = record.split("\t")
    assert level == "[INFO]"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timestamp)
    assert request_id == invocation.request_id
    assert message == "a record from logging"
    assert invocation.log_lines.index(record) > invocation.log_lines.index("handling log")  # in order


def test_a_response_over_six_megabytes_is_lambdas_error_and_a_fresh_environment(make_runtime):
    runtime = make_runtime()
    too_big = runtime.invoke({"action": "big", "bytes": MAX_RESPONSE_BYTES})
    fits = runtime.invoke({"action": "big", "bytes": 1000})

    assert too_big.error == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    }
    assert "Error Type: Function.ResponseSizeTooLarge" in too_big.report_line
    assert fits.error is None
    assert fits.cold  # the client exits when its post is refused, as in Lambda


def test_an_event_over_six_megabytes_is_refused_before_any_environment(make_runtime):
    runtime = make_runtime()
    with pytest.raises(RequestTooLargeError, match=f"Request must be smaller than {MAX_REQUEST_BYTES} bytes"):
        runtime.invoke("x" * (MAX_REQUEST_BYTES - 2))  # with its quotes, exactly the limit
    assert runtime.invoke({"action": "echo"}).cold


class ScriptedFaults:
    """Fires each named fault on the listed calls (1-based) and counts every ask."""

    def __init__(self, **on_calls: list[int]) -> None:
        self.on_calls = on_calls
        self.asked: dict[str, int] = {}

    def fire(self, name: str) -> bool:
        self.asked[name] = self.asked.get(name, 0) + 1
        return self.asked[name] in self.on_calls.get(name, [])


def test_the_crash_fault_kills_the_environment_mid_request(make_runtime):
    faults = ScriptedFaults(**{"lambda-crash": [2]})
    runtime = make_runtime(faults=faults)
    runtime.invoke({"action": "echo"})
    crashed = runtime.invoke({"action": "echo"})
    after = runtime.invoke({"action": "echo"})

    assert crashed.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {crashed.request_id} Error: Runtime exited with error: signal: killed",
    }
    assert not crashed.out_of_memory
    assert crashed.log_lines[-3] == crashed.error["errorMessage"]  # logged before END and REPORT
    assert after.cold  # the crashed environment was discarded
    assert faults.asked["lambda-crash"] == 3  # asked once per invocation


def test_the_init_error_fault_fails_init_and_the_next_request_retries(make_runtime):
    faults = ScriptedFaults(**{"lambda-init-error": [1]})
    runtime = make_runtime(faults=faults)
    failed = runtime.invoke({"action": "echo"})
    retried = runtime.invoke({"action": "echo"})

    assert failed.error["errorType"] == "Runtime.ImportModuleError"
    assert INJECTED_INIT_ERROR_MODULE in failed.error["errorMessage"]
    assert failed.cold
    assert retried.cold
    assert retried.error is None
    assert faults.asked["lambda-init-error"] == 2  # once per new environment


def test_no_fault_object_means_no_fault(make_runtime):
    runtime = make_runtime(faults=ScriptedFaults())
    assert all(runtime.invoke({"action": "echo"}).error is None for _ in range(3))


class LateCrash(ScriptedFaults):
    """Decides to crash only after the function has answered (its result already queued): the crash must
    still win, as a killed Lambda environment's answer never reaches the caller."""

    def fire(self, name: str) -> bool:
        crash = super().fire(name)
        if crash:
            time.sleep(0.5)  # an echo answers in milliseconds
        return crash


def test_a_crash_after_the_answer_was_posted_still_fails_the_invocation(make_runtime):
    runtime = make_runtime(faults=LateCrash(**{"lambda-crash": [1]}))
    crashed = runtime.invoke({"action": "echo"})
    assert crashed.error is not None
    assert crashed.error["errorType"] == "Runtime.ExitError"
