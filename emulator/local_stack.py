"""The whole stack on one machine: moto endpoint, table, local Lambda runtime, telemetry and the API gateway.

``LocalStack`` starts them in dependency order, writes the stack outputs (the Pulumi stack's keys plus
``endpoint_url``) to ``.local/outputs.json`` so every tool finds it as it finds a deployed stack, and stops
them in reverse order — the outputs file goes too, so no tool is ever pointed at a stack that is gone.
"""

from __future__ import annotations

import errno
import json
import logging
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.names import ALIAS, DEFAULT_REGION, LOCAL_ACCOUNT_ID, LOCAL_FUNCTION_NAME, LOCAL_TABLE_NAME, STAGE
from api.spec import OPENAPI_PATH
from api.stack_outputs import LOCAL_OUTPUTS, remove_outputs_if_ours, url_answers, write_outputs
from emulator.cloudwatch_publisher import MeteredInvoker, Telemetry
from emulator.fault_proxy import FaultProxy
from emulator.faults import FaultMetrics, FaultPlan
from emulator.gateway import FrontDoor, GatewayHttpServer, LocalApiGateway, RouteTable
from emulator.moto_server import MotoServer, aws_env
from emulator.reload import FunctionWatcher
from emulator.throttling import TokenBucket
from settings.paths import FUNCTION_DIR
from settings.stack_files import StackConfig, read_stack_settings

logger = logging.getLogger(__name__)


class PortInUseError(RuntimeError):
    """The gateway's port is taken: the user must free it or choose another (``PORT=…``)."""


class StackAlreadyRunningError(RuntimeError):
    """Another local stack owns the outputs file and still answers: two stacks must not share it."""


class NotEmulatedError(ValueError):
    """The stack's settings ask for something the local stack cannot stand in for."""


@dataclass
class StackSettings:
    """What ``make serve`` can change; the rest is the named stack's settings (``--stack``), as `pulumi up`
    reads them."""

    host: str = "127.0.0.1"
    port: int = 3000  # 0 picks a free port (tests, demo)
    stack: StackConfig = field(default_factory=lambda: read_stack_settings(None))  # the project defaults
    memory_mb: int | None = None  # None → the stack's memorySize
    function_name: str = LOCAL_FUNCTION_NAME
    table_name: str = LOCAL_TABLE_NAME
    outputs_path: Path = LOCAL_OUTPUTS
    function_dir: Path = FUNCTION_DIR  # another package (bench/tutorial_function) to compare
    max_environments: int = 4
    init_cpu: str = "boost"
    cpu_limiter: str = "auto"
    throttling: bool = True  # the stack's stage rate and burst limits; off to measure the function
    timeout_s: float | None = None  # None → the stack's timeout
    faults: dict[str, float] = field(default_factory=dict)  # fault name → percent (emulator.faults.FAULTS)
    fault_seed: int | None = None  # None: a random seed, printed so the run can be repeated
    dynamodb_latency_ms: int = 0  # added to each of the function's DynamoDB requests
    reload: bool = False  # serve edits to the function's code without a restart (make serve; off to measure)
    state_dir: Path | None = None  # keep the tables there across restarts and crashes (None: memory only)
    api_key: str | None = None  # None: a new key each start; a restart on the same state may keep the old one


class LocalStack:
    """Start with ``start()`` (or ``with``); ``outputs`` then describes it; ``stop()`` frees every port."""

    def __init__(
        self,
        settings: StackSettings,
        *,
        on_request: Callable[[str, str, int, float], None] | None = None,
        on_reload: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_reload = on_reload
        self._watcher: FunctionWatcher | None = None
        stack = settings.stack.settings
        self.memory_mb = settings.memory_mb or stack.memory_size
        self.architecture = stack.architecture  # a label: the emulator runs the host's instruction set
        self.cors_origin = stack.cors_allow_origin
        self.front_door = FrontDoor(stack.api_type, stack.auth_mode)
        if self.front_door.auth_mode == "iam" and not self.front_door.http:
            raise NotEmulatedError(
                f"{settings.stack.source} sets authMode iam, which the local gateway cannot check on REST "
                f"(SigV4 needs AWS's signing keys): serve another stack, or without --stack (api_key)"
            )
        self.auth_mode = self.front_door.auth_mode
        self.timeout_s = settings.timeout_s or float(stack.timeout)
        self.throttle = self._stage_throttle()  # the stage's rate and burst limits; None = unlimited
        # With authMode none the key only marks the outputs file as this stack's (remove_outputs_if_ours).
        # As API Gateway makes them: 40 letters and digits (token_urlsafe's could start with "-", which a
        # command line then reads as an option, e.g. `make load API_KEY=-…`).
        self.api_key = settings.api_key or "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(40)
        )
        self.outputs: dict[str, Any] = {}
        self.faults = FaultPlan(settings.faults, settings.fault_seed)
        self._on_request = on_request
        self._moto: MotoServer | None = None
        self._fault_proxy: FaultProxy | None = None
        self._fault_metrics: FaultMetrics | None = None
        self._runtime: Any = None
        self._telemetry: Telemetry | None = None
        self._server: GatewayHttpServer | None = None
        self._serving: threading.Thread | None = None

    def start(self) -> dict[str, Any]:
        """Bring everything up, failing fast (before anything else starts) when the port is taken."""
        _refuse_if_other_stack_owns(self.settings.outputs_path)
        caveat = self.front_door.caveat()
        if caveat is not None:
            logger.warning("local HTTP API: %s", caveat)
        routes = RouteTable.from_openapi(OPENAPI_PATH)
        gateway = LocalApiGateway(
            routes,
            api_key=self.api_key,
            invoke=self._not_ready,
            cors_origin=self.cors_origin,
            throttle=self.throttle,
            front_door=self.front_door,
        )
        try:
            self._server = GatewayHttpServer(
                (self.settings.host, self.settings.port), gateway, self._on_request
            )
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {self.settings.port} on {self.settings.host} is already in use; stop what is "
                    f"using it or choose another port (PORT=3001 make serve)"
                ) from None
            raise
        try:
            self._start_backends(gateway)
        except BaseException:
            self.stop()
            raise
        return self.outputs

    def _start_backends(self, gateway: LocalApiGateway) -> None:
        # boto3 and the runtime load only once the ports are taken: usage errors and a taken port answer
        # at once (README: import costs). The moto child boots meanwhile.
        self._moto = MotoServer(self.settings.host, state_dir=self.settings.state_dir)
        self._moto.spawn()
        import boto3

        from emulator.runtime import LambdaRuntime
        from emulator.table_setup import create_table

        assert self._server is not None
        endpoint = self._moto.wait_ready()
        credentials = aws_env(endpoint)  # moto's fake credentials, never the user's
        session = boto3.session.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            region_name=DEFAULT_REGION,
        )
        create_table(session.client("dynamodb", endpoint_url=endpoint), self.settings.table_name)
        function_endpoint = endpoint
        if self.faults.active or self.settings.dynamodb_latency_ms:
            # The function alone is pointed at the faults; the outputs (every other tool) keep moto itself.
            self._fault_proxy = FaultProxy(
                endpoint, self.faults, latency_ms=self.settings.dynamodb_latency_ms
            )
            function_endpoint = self._fault_proxy.start()
            self._fault_metrics = FaultMetrics(
                self.faults, session.client("cloudwatch", endpoint_url=endpoint)
            ).start()
        self._telemetry = Telemetry(
            function_name=self.settings.function_name,
            logs_client=session.client("logs", endpoint_url=endpoint),
            cloudwatch_client=session.client("cloudwatch", endpoint_url=endpoint),
            alias=ALIAS,
        ).start()
        self._runtime = LambdaRuntime(
            function_name=self.settings.function_name,
            memory_mb=self.memory_mb,
            environment=self._function_environment(function_endpoint),
            function_dir=self.settings.function_dir,
            init_cpu=self.settings.init_cpu,
            cpu_limiter=self.settings.cpu_limiter,
            max_environments=self.settings.max_environments,
            timeout_s=self.timeout_s,
            faults=self.faults if self.faults.active else None,
        )
        gateway.invoke = MeteredInvoker(self._runtime.invoke, self._telemetry)
        if self.settings.reload:
            self._watcher = FunctionWatcher(self.settings.function_dir, self._function_changed).start()
        self._serving = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2})
        self._serving.start()
        self.outputs = self._describe(endpoint, self._server.server_address[1])
        write_outputs(self.settings.outputs_path, self.outputs)

    def _function_changed(self, file_name: str) -> None:
        self._runtime.reload()
        if self._on_reload is not None:
            self._on_reload(file_name)

    def _stage_throttle(self) -> TokenBucket | None:
        if not self.settings.throttling:
            return None
        stack = self.settings.stack.settings
        return TokenBucket(float(stack.throttle_rate_limit), stack.throttle_burst_limit)

    def _function_environment(self, endpoint: str) -> dict[str, str]:
        """What the Pulumi component gives the function (with a cursor key made at start), on the emulator."""
        from emulator.table_setup import function_environment

        environment = function_environment(endpoint, self.settings.table_name)
        if self.cors_origin is not None:
            environment["CORS_ALLOW_ORIGIN"] = self.cors_origin
        return environment

    @staticmethod
    def _not_ready(event: dict[str, Any]) -> Any:
        raise RuntimeError("the local Lambda runtime is not started yet")

    def _describe(self, endpoint: str, port: int) -> dict[str, Any]:
        name = self.settings.function_name
        function_arn = f"arn:aws:lambda:{DEFAULT_REGION}:{LOCAL_ACCOUNT_ID}:function:{name}"
        return {
            "api_url": f"http://{self.settings.host}:{port}/{STAGE}",
            "api_key": self.api_key,  # also what marks the outputs file as this stack's (see stop)
            "api_type": self.front_door.api_type,
            "auth_mode": self.auth_mode,
            "function_name": name,
            "function_arn": function_arn,
            "alias_arn": f"{function_arn}:{ALIAS}",
            "table_name": self.settings.table_name,
            "log_group_name": f"/aws/lambda/{name}",
            "state_machine_arn": None,
            "region": DEFAULT_REGION,
            "memory_size": self.memory_mb,
            "architecture": self.architecture,
            "endpoint_url": endpoint,
        }

    def process_ids(self) -> list[int]:
        """Its processes: the moto server and the execution environments (their own children aside)."""
        moto = [self._moto.pid] if self._moto is not None and self._moto.pid is not None else []
        return moto + (self._runtime.process_ids() if self._runtime is not None else [])

    @property
    def emulation(self) -> dict[str, Any]:
        """How the runtime emulates Lambda's CPU and memory here (limiter, CPU share), for the banner."""
        return dict(self._runtime.emulation) if self._runtime is not None else {}

    def flush_telemetry(self, timeout_s: float = 30.0) -> bool:
        """Store every log line and metric so far (the function's, and the injected faults' counts)."""
        if self._fault_metrics is not None:
            self._fault_metrics.publish()
        return self._telemetry.flush(timeout_s) if self._telemetry is not None else True

    def stop(self) -> None:
        """Stop in reverse order; safe to call twice and after a failed start."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._server is not None:
            if self._serving is not None:
                self._server.shutdown()
                self._serving.join(timeout=10)
            self._server.server_close()
            self._server = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        if self._telemetry is not None:
            self._telemetry.close()
            self._telemetry = None
        if self._fault_proxy is not None:
            self._fault_proxy.stop()
            self._fault_proxy = None
        if self._fault_metrics is not None:
            self._fault_metrics.close()  # publishes the last counts while moto still answers
            self._fault_metrics = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self.outputs:
            remove_outputs_if_ours(self.settings.outputs_path, self.api_key)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _refuse_if_other_stack_owns(path: Path) -> None:
    """A stale file (its stack died) is simply replaced; a live stack's file is not taken over."""
    try:
        api_url = json.loads(path.read_text(encoding="utf-8")).get("api_url", "")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(api_url, str) and url_answers(api_url, timeout_s=0.5):
        raise StackAlreadyRunningError(
            f"another local stack is running at {api_url} (see {path}); stop it first, or give this one "
            f"its own outputs file (--outputs)"
        )
