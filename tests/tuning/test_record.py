"""The tuning record: the results file's schema by version, its checks naming the field, the picks kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.power_tuning_fake import realistic_output
from tests.support.results_files import write_sample
from tuning.record import ExecutionInput, Pick, Traffic, read_run

BASELINE = Path(__file__).parents[2] / "results" / "baseline" / "local.json"


TRAFFIC = {"requests": 40, "requestBytes": 910.5, "responseBytes": 702.0, "functionLogBytes": 850.0,
           "accessLogBytes": 512.0}  # fmt: skip


def test_measured_traffic_is_kept_and_read_back(tmp_path: Path) -> None:
    path = _rewrite(write_sample(tmp_path), lambda document: document.update(traffic=TRAFFIC))
    run = read_run(path)
    assert (run.traffic.requests, run.traffic.request_bytes, run.traffic.access_log_bytes) == (
        40,
        910.5,
        512.0,
    )
    assert run.to_json()["traffic"] == TRAFFIC
    assert read_run(write_sample(tmp_path / "none")).traffic is None  # files without it load as unmeasured


def _local(power: int, request: int | None, response: int, logs: int, access: int | None) -> dict:
    return {"power": power, "duration_ms": 12.0, "request_bytes": request, "response_bytes": response,
            "log_bytes": logs, "access_log_bytes": access}  # fmt: skip


def test_a_local_run_keeps_the_means_of_its_api_requests_sizes_as_its_traffic(tmp_path: Path) -> None:
    invocations = [
        _local(128, 100, 300, 1000, 400),
        _local(128, 200, 500, 1200, 420),
        _local(256, 300, 700, 1100, 410),
        _local(256, None, 9999, 9999, None),  # an event that was no API request: no request, no access line
    ]
    run = read_run(write_sample(tmp_path, invocations=invocations))
    assert run.traffic == Traffic(
        requests=3,
        request_bytes=200.0,
        response_bytes=500.0,
        function_log_bytes=1100.0,
        access_log_bytes=410.0,
    )
    assert run.invocations[0]["request_bytes"] == 100  # the records keep their own sizes


def test_runs_whose_records_carry_no_sizes_have_no_traffic(tmp_path: Path) -> None:
    aws = [{"power": 128, "duration_ms": 12.0, "billed_ms": 13, "init_ms": None}]  # REPORT lines: no sizes
    assert read_run(write_sample(tmp_path / "aws", source="aws", invocations=aws)).traffic is None
    no_requests = [_local(128, None, 1, 1, None)]
    assert read_run(write_sample(tmp_path / "direct", invocations=no_requests)).traffic is None


def test_an_old_results_file_without_sizes_still_loads_without_traffic(tmp_path: Path) -> None:
    document = json.loads(BASELINE.read_text())
    assert document["invocations"]
    assert not {"request_bytes", "log_bytes"} & set(document["invocations"][0])
    assert read_run(shutil.copy(BASELINE, tmp_path / "old.json")).traffic is None


def _rewrite(path: Path, change) -> Path:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


def test_a_version_1_file_loads_and_gets_its_picks_on_reading(tmp_path: Path) -> None:
    """The committed baseline predates recorded picks; its cost pick is the tool's own ``output.power``."""
    path = shutil.copy(BASELINE, tmp_path / "old.json")
    document = json.loads(Path(path).read_text())
    assert document["schema_version"] == 1
    assert "picks" not in document
    run = read_run(path)
    assert run.picks["cost"].power == document["output"]["power"]
    fastest = min(document["output"]["stats"], key=lambda stat: stat["averageDuration"])
    assert run.picks["speed"] == Pick(fastest["value"], fastest["averageDuration"], fastest["averagePrice"])


def test_picks_are_written_once_and_read_back_not_recomputed(tmp_path: Path) -> None:
    path = write_sample(tmp_path, output=realistic_output())
    assert set(json.loads(path.read_text())["picks"]) == {"cost", "speed", "balanced"}

    def planted(document: dict) -> None:  # a pick no arithmetic of these stats would give
        document["picks"]["cost"] = {"power": 4242, "duration": 1.0, "cost": 2.0}

    assert read_run(_rewrite(path, planted)).picks["cost"] == Pick(4242, 1.0, 2.0)


def test_an_unknown_schema_version_is_refused_naming_it(tmp_path: Path) -> None:
    path = _rewrite(write_sample(tmp_path), lambda document: document.update(schema_version=9))
    with pytest.raises(ValueError, match=r"schema_version 9; this version of tuning reads 1, 2"):
        read_run(path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["input"].update(num="ten"), "input.num"),
        (lambda d: d["input"].update(powerValues=[64]), "input.powerValues"),
        (lambda d: d["input"].update(strategy="fast"), "input.strategy"),
        (lambda d: d["output"].update(power=-1), "output.power"),
        (lambda d: d["picks"]["speed"].update(power="big"), "picks.speed.power"),
        (lambda d: d.update(invocations=[{"power": 128, "duration_ms": None}]), "invocations[0].duration_ms"),
        (lambda d: d.update(invocations=[_local(128, -1, 1, 1, 1)]), "invocations[0].request_bytes"),
        (lambda d: d.update(invocations=[_local(128, 1, 1, "many", 1)]), "invocations[0].log_bytes"),
        (lambda d: d.update(traffic={**TRAFFIC, "requestBytes": -1}), "traffic.requestBytes"),
        (lambda d: d.update(traffic={**TRAFFIC, "requests": 2.5}), "traffic.requests"),
    ],
)
def test_a_bad_field_is_named_with_the_file(tmp_path: Path, change, field: str) -> None:
    path = _rewrite(write_sample(tmp_path), change)
    with pytest.raises(ValueError, match="field") as raised:
        read_run(path)
    assert str(raised.value).startswith(f"{path}: field {field} ")


def test_the_input_is_read_the_way_the_tool_reads_it() -> None:
    arn = "arn:aws:lambda:us-east-1:1:function:f"
    execution_input = ExecutionInput.from_json(
        {"lambdaARN": arn, "num": 5, "powerValues": "ALL", "onlyColdStarts": True, "discardTopBottom": 0.3}
    )
    assert execution_input.power_values[:2] == (128, 192)
    assert execution_input.power_values[-1] == 3008
    assert (execution_input.mode, execution_input.discard) == ("onlyColdStarts", 0.0)
    assert ExecutionInput.from_json({"lambdaARN": arn, "num": 5}).power_values == (
        128,
        256,
        512,
        1024,
        1536,
        3008,
    )


def test_the_trimmed_share_is_the_tools() -> None:
    arn = "arn:aws:lambda:us-east-1:1:function:f"
    assert ExecutionInput.from_json({"lambdaARN": arn, "num": 5}).discard == 0.2  # the tool's default
    assert ExecutionInput.from_json({"lambdaARN": arn, "num": 5, "discardTopBottom": 0.7}).discard == 0.4


def test_a_variant_for_other_sizes_says_them_in_its_json_and_keeps_the_rest() -> None:
    raw = {"lambdaARN": "arn:aws:lambda:eu-west-1:1:function:f", "num": 5, "powerValues": [128, 256, 512],
           "payload": {"a": 1}, "includeOutputResults": True}  # fmt: skip
    original = ExecutionInput.from_json(raw)
    rerun = original.with_values([128, 512], 20)
    assert (rerun.power_values, rerun.num, rerun.payload) == ((128, 512), 20, {"a": 1})
    assert rerun.to_json() == {**raw, "powerValues": [128, 512], "num": 20}
    assert original.to_json() == raw  # untouched
    assert (rerun.function_name, rerun.price_region) == ("f", "eu-west-1")


def test_an_input_to_run_is_refused_where_the_tool_would_fail_inside_the_run() -> None:
    weighted = [{"payload": {"a": 1}, "weight": 1}, {"payload": {"b": 1}, "weight": 9}]
    raw = {"lambdaARN": "arn:aws:lambda:us-east-1:1:function:f", "num": 5, "payload": weighted}
    with pytest.raises(ValueError, match=r"^Invalid payload weight \(num is too small\): raise num or give"):
        ExecutionInput.for_run(raw)
    assert ExecutionInput.for_run({**raw, "num": 10}).num == 10  # 1 × 10 / 10: one invocation for the first


def test_a_file_without_api_type_was_priced_as_rest(tmp_path: Path) -> None:
    path = _rewrite(write_sample(tmp_path), lambda document: document["metadata"].pop("api_type"))
    assert read_run(path).api_type == "rest"
    http = _rewrite(
        write_sample(tmp_path / "http"), lambda document: document["metadata"].update(api_type="http")
    )
    assert read_run(http).api_type == "http"
