"""One run end to end through the library: the results file holds exactly the record the runner returned."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

import tuning.run
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
