"""Runs the real Pulumi program (__main__.py) under strict mocks and hands tests plain, resolved values.

Strict means the harness refuses the ways mock tests pass without checking anything:
- a value that is unknown (a mock that did not compute it, an id left None) raises instead of skipping an
  `apply`; the program's exports and every resource's inputs are checked for unknowns;
- a value that never resolves raises after RESOLVE_TIMEOUT_S instead of hanging or being skipped;
- lookups of resources fail when nothing (or more than one thing) matches, so a loop over an empty
  selection cannot pass vacuously;
- an invoke the mocks do not know raises (an unmocked invoke would otherwise quietly return {}).
Checks are written as plain asserts on resolved values, never inside `apply`, so a check cannot be skipped.

Config comes from Pulumi.yaml's defaults overlaid with Pulumi.<stack>.yaml, flattened to strings exactly like
the engine passes them (numbers and booleans as text, arrays and objects as compact JSON, keys
`<project>:<key>`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import runpy
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.output import Unknown, contains_unknowns
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks, _sync_await
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.stack import wait_for_rpcs

from settings.stack_files import engine_string

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROGRAM = PROJECT_DIR / "__main__.py"
PROJECT = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
ACCOUNT_ID = "123456789012"
RESOLVE_TIMEOUT_S = 10.0


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def contract_spec() -> dict[str, Any]:
    """api/openapi.yaml as a fresh dict, read independently of the code under test."""
    return yaml.safe_load((PROJECT_DIR / "api" / "openapi.yaml").read_text(encoding="utf-8"))


def contract_operations(spec: Mapping[str, Any] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of the contract (``spec``, else api/openapi.yaml read afresh)."""
    spec = contract_spec() if spec is None else spec
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items() if m in HTTP_METHODS]
    assert ops, "api/openapi.yaml declares no operation"
    return ops


class UnknownValueError(AssertionError):
    """A value a test wanted to check is unknown, so the check could not run."""


def _qualified(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def stack_file_config(stack: str = "prod") -> dict[str, Any]:
    """The typed values of Pulumi.<stack>.yaml, keys qualified (what a test expects to see deployed); none
    for a stack without a file, as a new stack is before its first `pulumi config set`."""
    path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    stack_file = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
    return {_qualified(k): v for k, v in (stack_file.get("config") or {}).items()}


def engine_config(stack: str = "prod", overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Pulumi.yaml defaults, then the stack file, then `overrides` (short or qualified keys), as strings."""
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    merged: dict[str, Any] = {
        _qualified(key): spec["default"]
        for key, spec in (project.get("config") or {}).items()
        if "default" in spec
    }
    merged.update(stack_file_config(stack))
    merged.update({_qualified(k): v for k, v in (overrides or {}).items()})
    return {key: engine_string(value) for key, value in merged.items()}


def _short_id(name: str, length: int = 10) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


class AwsMocks(Mocks):
    """Computes what AWS would return for the resource types the program uses (ARNs, URLs, ids, versions)."""

    def __init__(self, region: str) -> None:
        self.region = region

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{ACCOUNT_ID}:{resource}"

    def _invoke_arn(self, lambda_arn: str) -> str:
        return f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{lambda_arn}/invocations"

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        typ, name = args.typ, args.name
        if not args.custom:  # component resources
            return f"{name}-id", inputs
        state: dict[str, Any] = dict(inputs)
        physical = inputs.get("name") or f"{name}-{_short_id(name, 7)}"  # what the provider's autonaming does
        resource_id = physical
        if typ == "aws:dynamodb/table:Table":
            state.update(name=physical, arn=self._arn("dynamodb", f"table/{physical}"))
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            state.update(name=physical, arn=self._arn("logs", f"log-group:{physical}"))
        elif typ == "aws:iam/role:Role":
            state.update(name=physical, arn=self._arn("iam", f"role/{physical}", region=False))
        elif typ == "aws:iam/rolePolicy:RolePolicy":
            resource_id = f"{inputs['role']}:{physical}"
            state.update(name=physical)
        elif typ == "aws:lambda/function:Function":
            arn = self._arn("lambda", f"function:{physical}")
            state.update(
                name=physical,
                arn=arn,
                invokeArn=self._invoke_arn(arn),
                version="1",
                qualifiedArn=f"{arn}:1",
                qualifiedInvokeArn=self._invoke_arn(f"{arn}:1"),
            )
        elif typ == "aws:lambda/alias:Alias":
            arn = self._arn("lambda", f"function:{inputs['functionName']}:{inputs['name']}")
            state.update(arn=arn, invokeArn=self._invoke_arn(arn))
            resource_id = arn
        elif typ == "aws:apigateway/restApi:RestApi":
            resource_id = _short_id(name)
            state.update(
                executionArn=self._arn("execute-api", resource_id),
                rootResourceId=_short_id(name + "/", 6),
                arn=f"arn:aws:apigateway:{self.region}::/restapis/{resource_id}",
            )
        elif typ == "aws:apigateway/stage:Stage":
            api, stage = inputs["restApi"], inputs["stageName"]
            resource_id = f"ags-{api}-{stage}"
            state.update(
                invokeUrl=f"https://{api}.execute-api.{self.region}.amazonaws.com/{stage}",
                executionArn=self._arn("execute-api", f"{api}/{stage}"),
                arn=f"arn:aws:apigateway:{self.region}::/restapis/{api}/stages/{stage}",
            )
        elif typ == "aws:apigatewayv2/api:Api":
            resource_id = _short_id(name)
            state.update(
                executionArn=self._arn("execute-api", resource_id),
                apiEndpoint=f"https://{resource_id}.execute-api.{self.region}.amazonaws.com",
                arn=f"arn:aws:apigateway:{self.region}::/apis/{resource_id}",
            )
        elif typ == "aws:apigatewayv2/stage:Stage":
            api, stage = inputs["apiId"], inputs["name"]
            resource_id = stage  # AWS names a v2 stage by its name within the API
            state.update(
                # a named stage's URL ends in the stage; only $default serves at the root
                invokeUrl=f"https://{api}.execute-api.{self.region}.amazonaws.com/{stage}",
                executionArn=self._arn("execute-api", f"{api}/{stage}"),
                arn=f"arn:aws:apigateway:{self.region}::/apis/{api}/stages/{stage}",
            )
        elif typ == "aws:apigateway/apiKey:ApiKey":
            resource_id = _short_id(name)
            state.update(value=f"mock-api-key-{_short_id(name, 30)}", name=physical)
        elif typ == "aws:serverlessrepository/cloudFormationStack:CloudFormationStack":
            resource_id = self._arn(
                "cloudformation", f"stack/serverlessrepo-{physical}/{_short_id(name, 12)}"
            )
            state.update(
                outputs={
                    "StateMachineARN": self._arn(
                        "states", f"stateMachine:powerTuningStateMachine-{_short_id(name, 12)}"
                    )
                }
            )
        elif typ == "random:index/randomBytes:RandomBytes":
            length = int(inputs["length"])
            data = (hashlib.sha256(name.encode()).digest() * (length // 32 + 1))[:length]  # stable per name
            state.update(base64=base64.b64encode(data).decode(), hex=data.hex())
        elif typ == "aws:sns/topic:Topic":
            state.update(name=physical, arn=self._arn("sns", physical))
            resource_id = state["arn"]
        else:
            resource_id = _short_id(name)
            state.setdefault("arn", self._arn(typ.split(":")[1].split("/")[0], f"{name}"))
        return resource_id, state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        raise AssertionError(f"unmocked invoke {args.token}: it would silently return {{}} under mocks")


@dataclass
class Registration:
    """One resource the program registered: its inputs as sent, its mocked state, and its options."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]  # secrets unwrapped; their names are in secret_inputs
    state: dict[str, Any]  # likewise; secret_outputs names the secret ones
    secret_inputs: set[str]
    secret_outputs: set[str]
    parent: str
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    unknown_inputs: list[str]


def _unknown_paths(value: Any, path: str = "") -> list[str]:
    if isinstance(value, Unknown):
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unknown_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, f"{path}[{i}]")]
    return []


def _unwrap_secrets(properties: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Top-level properties with secrets unwrapped, and the names of the secret ones (the SDK marks a whole
    property secret when any value inside it is)."""
    secret = {key for key, value in properties.items() if rpc.is_rpc_secret(value)}
    return {key: rpc.unwrap_rpc_secret(value) for key, value in properties.items()}, secret


class StrictMonitor(MockMonitor):
    """A MockMonitor that also keeps each registration's options and notices unknown inputs."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.registered_outputs: dict[str, dict[str, Any]] = {}  # urn -> what register_outputs passed
        self._lock = threading.Lock()

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        with self._lock:
            self.registered_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    def _with_secret_outputs(self, request: Any, response: Any) -> Any:
        """What the engine does with ``additional_secret_outputs`` and the mock monitor does not: the named
        outputs come back secret, so a secret handed on to another resource arrives there as a secret."""
        urn, resource_id, state = self.resources[response.urn]
        state = {
            key: rpc.wrap_rpc_secret(value) if key in request.additionalSecretOutputs else value
            for key, value in state.items()
        }
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=resource_id, object=_sync_await(rpc.serialize_properties(state, {}))
        )

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        if request.additionalSecretOutputs:
            response = self._with_secret_outputs(request, response)
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs, secret_inputs = _unwrap_secrets(rpc.deserialize_properties(request.object))
        state, secret_outputs = _unwrap_secrets(self.resources[urn].state)
        with self._lock:
            self.registrations.append(
                Registration(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    custom=request.custom,
                    inputs=inputs,
                    state=state,
                    secret_inputs=secret_inputs,
                    secret_outputs=secret_outputs,
                    parent=request.parent,
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    dependencies=list(request.dependencies),
                    unknown_inputs=_unknown_paths(raw),
                )
            )
        return response


async def _settle(output: pulumi.Output[Any]) -> tuple[bool, Any, bool]:
    return await output.is_known(), await output.future(with_unknowns=True), await output.is_secret()


@dataclass
class ProgramRun:
    """The result of one program run: registrations and exports, with strict accessors."""

    loop: asyncio.AbstractEventLoop
    monitor: StrictMonitor
    config: dict[str, str]
    exports: dict[str, Any] = field(default_factory=dict)

    @property
    def registrations(self) -> list[Registration]:
        return list(self.monitor.registrations)

    def settle(self, value: Any) -> tuple[Any, bool]:
        """(value, is secret); UnknownValueError if unknown, TimeoutError if it never resolves."""
        if not isinstance(value, pulumi.Output):
            if contains_unknowns(value):
                raise UnknownValueError("value is unknown: a check on it would never run")
            return value, False
        output = value
        try:
            known, resolved, secret = self.loop.run_until_complete(
                asyncio.wait_for(_settle(output), RESOLVE_TIMEOUT_S)
            )
        except TimeoutError:
            raise TimeoutError(f"value did not resolve within {RESOLVE_TIMEOUT_S} s") from None
        if not known or contains_unknowns(resolved):
            raise UnknownValueError("value is unknown: a check on it would never run")
        return resolved, secret

    def resolve(self, value: Any) -> Any:
        """The value of an Output (or plain value), failing loudly when it is unknown or never resolves."""
        return self.settle(value)[0]

    def export(self, name: str) -> Any:
        """A resolved stack output; fails if the program did not export it."""
        assert name in self.exports, f"stack output {name!r} missing; exported: {sorted(self.exports)}"
        return self.resolve(self.exports[name])

    def all_of(self, type_: str) -> list[Registration]:
        """Every registration of a type; fails when there is none (no vacuous loops)."""
        found = [r for r in self.registrations if r.type == type_]
        assert found, f"no {type_} registered"
        return found

    def one(self, type_: str, name_suffix: str = "") -> Registration:
        """The single registration of a type whose name ends with `name_suffix`."""
        found = [r for r in self.registrations if r.type == type_ and r.name.endswith(name_suffix)]
        assert len(found) == 1, f"expected one {type_} named *{name_suffix}, found {[r.name for r in found]}"
        return found[0]

    def close(self) -> None:
        """Release the run's event loop (its outputs cannot be resolved afterwards)."""
        _close_loop(self.loop)

    def api_body(self) -> dict[str, Any]:
        """The REST API body as deployed (the program serialises it to JSON)."""
        return json.loads(self.one("aws:apigateway/restApi:RestApi").inputs["body"])

    def none_of(self, type_: str) -> None:
        """Assert the program registered no resource of this type."""
        names = [r.name for r in self.registrations if r.type == type_]
        assert not names, f"unexpected {type_}: {names}"


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close a run's loop and its executor threads (each holds an event loop the Pulumi SDK made for it)."""
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    # Leave asyncio as a fresh interpreter has it (no loop set, none refused), for whatever test runs next.
    asyncio.set_event_loop_policy(None)


def run_program(
    stack: str = "prod",
    overrides: Mapping[str, Any] | None = None,
    mocks_class: type[AwsMocks] = AwsMocks,
    preview: bool = False,
) -> ProgramRun:
    """Run __main__.py once, as `pulumi up` would (preview=False), and wait for every registration."""
    config = engine_config(stack, overrides)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = StrictMonitor(mocks_class(region=config.get("aws:region", "us-east-1")))
    reset_options()  # forget the root stack of a previous run
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config)
    run = ProgramRun(loop=loop, monitor=monitor, config=config)
    try:
        runpy.run_path(str(PROGRAM), run_name="__main__")
        loop.run_until_complete(asyncio.wait_for(wait_for_rpcs(), RESOLVE_TIMEOUT_S))
    except BaseException:
        with contextlib.suppress(Exception):  # let the RPCs already queued finish before the loop goes away
            loop.run_until_complete(asyncio.wait_for(wait_for_rpcs(), RESOLVE_TIMEOUT_S))
        _close_loop(loop)
        raise
    root = get_root_resource()
    run.exports = dict(root.outputs) if root is not None else {}
    return run
