"""A local Lambda runtime: a pool of execution environments of one function at one memory size.

Each environment (``emulator.environment``) is the function's process under Lambda's runtime interface
client, with the memory size's CPU share (``memory / 1769`` of a core) and memory limit. The pool is the
platform's scheduling, as Lambda does it: an idle warm environment is reused, else a new one starts (a cold
start) up to ``max_environments``; an environment that timed out, crashed or overran its memory is
discarded, as is one whose init failed (the next invocation starts afresh); a reload (the function's code
changed) retires environments of the old code once their current invocation ends. Each invocation comes
back as an ``Invocation`` with Lambda's START / END / REPORT lines (``emulator.invocations``). Used by the
local power-tuning runner (one runtime per memory size) and the local API gateway.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

from api.names import DEFAULT_REGION, HANDLER
from emulator.environment import Environment, Faults, FunctionConfig, check_init_cpu
from emulator.invocations import Invocation, invocation
from emulator.lambda_python import LambdaPython, lambda_python
from emulator.limits import CgroupError, host_cores, plan_limits
from emulator.runtime_api import MAX_REQUEST_BYTES, RequestTooLargeError
from settings.paths import FUNCTION_DIR


def check_function_dir(function_dir: Path, handler: str = HANDLER) -> None:
    """ValueError unless ``function_dir`` holds ``handler``'s module, the one check of a function folder for
    the runtime, ``serve``, ``chaos`` and the local tuning run alike."""
    module_file = handler.rpartition(".")[0].replace(".", "/") + ".py"
    if not Path(function_dir).is_dir():
        raise ValueError(f"{str(function_dir)!r} does not exist or is not a directory")
    if not (Path(function_dir) / module_file).is_file():
        raise ValueError(
            f"{str(function_dir)!r} holds no {module_file} (no handler module for {handler!r}): the runtime "
            "loads the handler from the function folder, as Lambda does"
        )


# An uncapped ("boost") init takes a whole core. Lambda inits each environment on its own hardware; here
# parallel cold starts would share the host's cores and each would measure the others' load, so at most one
# boost init per core runs at a time (the wait for a slot is not part of Init Duration).
_init_slots = threading.Semaphore(host_cores())


class LambdaRuntime:
    """A pool of execution environments of one function at one memory size; thread-safe; a context manager.

    ``invoke`` reuses an idle warm environment, else starts one (a cold start) while fewer than
    ``max_environments`` exist, else waits for one to become idle.
    """

    def __init__(
        self,
        *,
        function_name: str,
        memory_mb: int,
        environment: dict[str, str],
        function_dir: Path = FUNCTION_DIR,
        handler: str = HANDLER,
        timeout_s: float = 30.0,
        init_cpu: str = "boost",
        cpu_limiter: str = "auto",
        max_environments: int = 4,
        memory_limiter: str = "auto",
        python: LambdaPython | None = None,
        faults: Faults | None = None,
    ) -> None:
        check_init_cpu(init_cpu)
        if timeout_s <= 0 or max_environments < 1:
            raise ValueError("timeout_s must be > 0 and max_environments ≥ 1")
        check_function_dir(function_dir, handler)
        self.max_environments = max_environments
        region = environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.function = FunctionConfig(
            function_name=function_name,
            memory_mb=memory_mb,
            environment=dict(environment),
            function_dir=Path(function_dir).resolve(),
            handler=handler,
            timeout_s=timeout_s,
            init_cpu=init_cpu,
            plan=plan_limits(memory_mb, cpu_limiter, memory_limiter),
            python=python or lambda_python(),
            faults=faults,
            region=region,
        )
        self._label: str | None = None  # the runtime the environments reported
        self._idle: list[Environment] = []
        self._all: set[Environment] = set()
        self._slots_used = 0
        self._changed = threading.Condition()
        self._closed = False
        self.generation = 0  # +1 per reload: the function's code changed on disk

    @property
    def memory_mb(self) -> int:
        return self.function.memory_mb

    @property
    def python(self) -> LambdaPython:
        return self.function.python

    @property
    def label(self) -> str:
        """The runtime the function runs on, as its environments report it (``python3.13 · awslambdaric
        4.2.2``); before the first environment started, as the runtime's interpreter reported it."""
        return self._label or self.python.label

    @property
    def emulation(self) -> dict[str, Any]:
        """How this runtime emulates Lambda: limiter, CPU share, memory limit method, init CPU, runtime."""
        return {
            **self.function.plan.describe(),
            "init_cpu": self.function.init_cpu,
            "memory_mb": self.memory_mb,
            "runtime": self.label,
        }

    def invoke(self, event: Any) -> Invocation:
        """Run ``event`` (any JSON value) in a warm environment if one is idle, else in a new one (cold).

        TypeError for an event JSON cannot hold and RequestTooLargeError over Lambda's 6 MB, both before any
        environment is used, as the Invoke API refuses them."""
        body = json.dumps(event).encode()
        if len(body) >= MAX_REQUEST_BYTES:
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation "
                f"(the event is {len(body)} bytes)"
            )
        request_id = str(uuid.uuid4())
        environment = self._acquire()
        cold = environment is None
        init_ms, init_lines, outcome = None, [], None
        try:
            if environment is None:
                environment = Environment(self.function, self.generation)
                self._track(environment)
                with _init_slots if self.function.init_cpu == "boost" else contextlib.nullcontext():
                    init_ms, init = environment.start()
                major, minor = self.python.python_version.split(".")[:2]
                init_lines = [f"INIT_START Runtime Version: python:{major}.{minor}.local", *init.log_lines]
                if init.error is not None:
                    outcome = init  # the invocation fails with the init error, as Lambda's does
                elif environment.label is not None:
                    self._label = environment.label
            if outcome is None:
                outcome = environment.run(request_id, body)
        except BaseException:
            self._discard(environment)
            raise
        if outcome.healthy:
            self._release(environment)
        else:
            self._discard(environment)
        return invocation(
            request_id, outcome, self.memory_mb, init_ms, init_lines, cold, environment.log_stream
        )

    def _acquire(self) -> Environment | None:
        """An idle environment, or None with a slot reserved for a new one."""
        with self._changed:
            while True:
                if self._closed:
                    raise RuntimeError(
                        f"the runtime of {self.function.function_name} ({self.memory_mb} MB) is closed"
                    )
                if self._idle:
                    return self._idle.pop()
                if self._slots_used < self.max_environments:
                    self._slots_used += 1
                    return None
                self._changed.wait()

    def _track(self, environment: Environment) -> None:
        with self._changed:
            self._all.add(environment)

    def process_ids(self) -> list[int]:
        """The processes of its execution environments (the client each runs), as they are now."""
        with self._changed:
            return [e.process.pid for e in self._all if e.process is not None and e.process.poll() is None]

    def reload(self) -> None:
        """The function's code changed: the next invocations start new environments (cold, with the new
        code). Idle ones go now; busy ones finish their invocation first (see ``_release``)."""
        with self._changed:
            self.generation += 1
            retired, self._idle = self._idle, []
        for environment in retired:
            self._discard(environment)

    def _release(self, environment: Environment) -> None:
        with self._changed:
            if self._closed:
                environment.close()
                return
            if environment.generation == self.generation:
                self._idle.append(environment)
                self._changed.notify()
                return
        self._discard(environment)  # it ran older code: retired after its invocation, never mid-request

    def _discard(self, environment: Environment | None) -> None:
        """Give up an environment (or a reserved slot that never got one) and free its slot."""
        try:
            if environment is not None:
                environment.close()
        finally:
            with self._changed:
                self._all.discard(environment)  # type: ignore[arg-type]
                self._slots_used -= 1
                self._changed.notify()

    def close(self) -> None:
        """Stop every environment (busy ones too: their invocations fail) and remove their cgroups."""
        with self._changed:
            self._closed = True
            environments = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._changed.notify_all()
        errors = []
        for environment in environments:
            try:
                environment.close()
            except CgroupError as exc:
                errors.append(str(exc))
        if errors:
            raise CgroupError("; ".join(errors))

    def __enter__(self) -> LambdaRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
