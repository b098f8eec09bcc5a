"""One run end to end through the library: the results file holds exactly the record the runner returned."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

import tuning.run
from settings.stack_files import StackConfig, read_stack_settings
from tests.support.power_tuning_fake import fake_stack_outputs, queue_lambda_results, realistic_output
from tuning.engine.pricing import PRICES_AS_OF
from tuning.payloads import seed_events
from tuning.record import TuningRun
from tuning.run import run_and_save, run_request
from tuning.runners.request import Finished
from tuning.runners.rounds import Sampling


def test_the_aws_runner_returns_the_record_the_results_file_holds(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = boto3.client("lambda"), boto3.client("stepfunctions"), boto3.client("iam")
    outputs = fake_stack_outputs(moto_endpoint, *clients, power_values=[128, 256, 512])
    queue_lambda_results(moto_endpoint, [{"statusCode": 200, "body": "{}"}] * len(seed_events()))
    real_run_aws, returned = tuning.run.run_aws, []

    def spy(*args, **kwargs) -> Finished:
        returned.append(real_run_aws(*args, **kwargs))
        return returned[-1]

    monkeypatch.setattr(tuning.run, "run_aws", spy)
    request = run_request(
        "aws",
        outputs,
        power_values=[128, 256, 512],
        sampling=Sampling(5),
        mix={"get": 3, "create": 2},
        stack="prod",
        results_dir=tmp_path,
        poll_interval_s=0.05,
    )
    saved = run_and_save(request, outputs)

    [finished] = returned
    assert isinstance(finished.run, TuningRun)
    assert json.loads(saved.path.read_text()) == finished.run.to_json()
    assert saved.run is finished.run
    metadata = finished.run.metadata
    assert finished.run.output == realistic_output([128, 256, 512])
    assert (metadata["source"], metadata["stack"], metadata["mix"]) == (
        "aws",
        "prod",
        {"get": 3, "create": 2},
    )
    assert (metadata["api_type"], metadata["prices_as_of"]) == ("rest", PRICES_AS_OF)  # no api_type: REST
    assert metadata["sampling"] == {
        "num": 5,
        "rounds": [{"powerValues": [128, 256, 512], "num": 5}],
        "unsettled": [],
    }
    [execution] = metadata["executions"]
    assert execution["executionArn"] == metadata["execution_arn"]


@pytest.mark.parametrize(("api_type", "version"), [("http", "2.0"), ("rest", None)])
def test_without_outputs_the_events_follow_the_projects_front_door(
    monkeypatch: pytest.MonkeyPatch, api_type: str, version: str | None
) -> None:
    """A private local function (no stack outputs) is priced as the project's apiType, so its events are
    that front door's too: payload 2.0 behind an HTTP API, REST's 1.0 (no ``version`` key) otherwise."""
    project = read_stack_settings(None)
    chosen = StackConfig(replace(project.settings, api_type=api_type, auth_mode="iam"), project.source)
    monkeypatch.setattr("tuning.runners.request.read_stack_settings", lambda _stack: chosen)
    request = run_request("local", None, power_values=[128], sampling=Sampling(5), mix={"get": 1})
    [entry] = request.execution_input.payload
    assert entry["payload"].get("version") == version
