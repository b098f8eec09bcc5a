"""The harness fails loudly where plain mock tests pass silently (aws-serverless.md §5, pitfalls 1 and 9)."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockResourceArgs

from tests.components import harness
from tests.components.harness import AwsMocks, ProgramRun, UnknownValueError, run_program


def _output_on(
    run: ProgramRun, *, known: bool, value: Any = None, resolved: bool = True
) -> pulumi.Output[Any]:
    """An Output bound to the run's loop: known or unknown, resolved or never resolving."""
    value_future: asyncio.Future[Any] = run.loop.create_future()
    known_future: asyncio.Future[bool] = run.loop.create_future()
    if resolved:
        value_future.set_result(value)
        known_future.set_result(known)
    return pulumi.Output(set(), value_future, known_future)


def test_an_unknown_value_fails_instead_of_skipping_the_check(prod: ProgramRun) -> None:
    unknown = _output_on(prod, known=False)
    seen: list[Any] = []
    unknown.apply(seen.append)  # the usual idiom: a check inside apply ...
    with pytest.raises(UnknownValueError):
        prod.resolve(unknown)
    assert seen == []  # ... which never ran: that is the silent pass the harness turns into a failure


def test_a_known_value_resolves(prod: ProgramRun) -> None:
    assert prod.resolve(_output_on(prod, known=True, value="x")) == "x"


def test_a_value_that_never_resolves_times_out(prod: ProgramRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "RESOLVE_TIMEOUT_S", 0.05)
    with pytest.raises(TimeoutError):
        prod.resolve(_output_on(prod, known=True, resolved=False))


def test_lookups_fail_when_nothing_or_too_much_matches(prod: ProgramRun) -> None:
    with pytest.raises(AssertionError, match="no aws:ec2/instance:Instance"):
        prod.all_of("aws:ec2/instance:Instance")
    with pytest.raises(AssertionError, match="expected one"):
        prod.one("aws:cloudwatch/metricAlarm:MetricAlarm")  # there are four
    with pytest.raises(AssertionError, match="stack output 'nope' missing"):
        prod.export("nope")
    with pytest.raises(AssertionError, match="unexpected"):
        prod.none_of("aws:lambda/function:Function")


class AliasWithoutInvokeArn(AwsMocks):
    """A careless mock: it does not compute the alias's invoke ARN, which the API body embeds."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == "aws:lambda/alias:Alias":
            state = {k: v for k, v in state.items() if k not in ("invokeArn", "arn")}
        return resource_id, state


def test_a_careless_mock_is_caught_in_inputs_and_outputs() -> None:
    # In a preview, what the mock leaves out is unknown: an `apply` check on the body would silently not run.
    run = run_program("prod", mocks_class=AliasWithoutInvokeArn, preview=True)
    try:
        unknown = {r.name: r.unknown_inputs for r in run.registrations if r.unknown_inputs}
        assert "body" in unknown["crud-api"]
        with pytest.raises(UnknownValueError):
            run.export("alias_arn")
    finally:
        run.close()


def test_an_unmocked_invoke_fails() -> None:
    with pytest.raises(AssertionError, match="unmocked invoke aws:index/getRegion"):
        AwsMocks("us-east-1").call(
            harness.MockCallArgs(token="aws:index/getRegion:getRegion", args={}, provider="")  # type: ignore[attr-defined]
        )
