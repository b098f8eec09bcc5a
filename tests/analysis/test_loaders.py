"""The notebook's data loaders on their own: time windows, CloudWatch per alias, REPORT lines, executions."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest

from analysis import cloudwatch, executions, logs, recommend, sources
from tests.analysis import aws_data
from tests.support.power_tuning_fake import create_fake_power_tuning, realistic_output
from tuning.engine.visualization import encode_url

NOW = datetime(2026, 11, 27, 12, 34, 56, tzinfo=UTC)


# --- since and windows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1.5h", NOW - timedelta(minutes=90)),
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T08:00:00+02:00", datetime(2026, 11, 20, 6, tzinfo=UTC)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),  # naive means UTC
    ],
)
def test_parse_since(since: str, expected: datetime) -> None:
    assert cloudwatch.parse_since(since, now=NOW) == expected


@pytest.mark.parametrize("since", ["", "7", "7y", "last week", "-3d"])
def test_parse_since_rejects_with_the_accepted_forms(since: str) -> None:
    with pytest.raises(ValueError, match="span like 7d"):
        cloudwatch.parse_since(since, now=NOW)


def test_window_without_period_is_one_minute_aligned_bucket() -> None:
    start = datetime.now(UTC).replace(second=30, microsecond=0) - timedelta(hours=3)
    window = cloudwatch.aligned_window(start, start + timedelta(hours=3))
    assert window.start == start.replace(second=0)
    assert window.buckets == 1
    assert window.period % 60 == 0
    assert window.end >= start + timedelta(hours=3)


def test_window_with_period_sits_on_the_period_grid() -> None:
    start = datetime.now(UTC).replace(minute=7, second=0, microsecond=0) - timedelta(hours=5)
    window = cloudwatch.aligned_window(start, start + timedelta(hours=2), period=3600)
    assert window.start == start.replace(minute=0)
    assert window.end == start.replace(minute=0) + timedelta(hours=3)  # 07 past → ceil to the next hour
    assert window.buckets == 3


def test_old_windows_use_periods_cloudwatch_still_keeps() -> None:
    start = datetime.now(UTC) - timedelta(days=20)  # 1-minute data is gone after 15 days
    assert cloudwatch.aligned_window(start, start + timedelta(minutes=7), period=60).period == 300
    assert cloudwatch.aligned_window(start, start + timedelta(minutes=7)).period % 300 == 0


# --- CloudWatch --------------------------------------------------------------------------------------------


def test_metrics_per_alias_match_dimension_sets_exactly(moto_endpoint: str) -> None:
    now = datetime.now(UTC)
    aws_data.seed_metrics(now)
    window = cloudwatch.aligned_window(now - timedelta(hours=1), now)
    metrics = cloudwatch.fetch_lambda_metrics(aws_data.FUNCTION, window, aliases=["live", "never-invoked"])
    assert set(metrics.columns) == set(cloudwatch.COLUMNS)
    assert set(metrics["alias"]) == {"(function)", "RAM128", "RAM1024", "live"}
    durations = metrics[(metrics["metric"] == "Duration") & (metrics["alias"] == "RAM1024")]
    assert dict(zip(durations["stat"], durations["value"], strict=True)) == {
        "Average": 565.0,  # 520 … 610
        "p50": 560.0,
        "p90": 600.0,
        "p99": 610.0,
    }
    total = metrics[(metrics["metric"] == "Duration") & (metrics["alias"] == "(function)")]
    assert total.set_index("stat").loc["p50", "value"] == 610.0  # of the 20 values of both aliases


def test_no_metrics_is_an_empty_frame(moto_endpoint: str) -> None:
    now = datetime.now(UTC)
    metrics = cloudwatch.fetch_lambda_metrics(
        "absent", cloudwatch.aligned_window(now - timedelta(hours=1), now)
    )
    assert metrics.empty
    assert list(metrics.columns) == cloudwatch.COLUMNS
    assert cloudwatch.metrics_summary(metrics).empty


def test_summary_weights_the_average_by_invocations_across_buckets() -> None:
    rows = [
        # bucket 1: 3 invocations averaging 100 ms; bucket 2: 1 invocation of 500 ms
        ("2026-11-27T10:00Z", "Invocations", "Sum", 3.0),
        ("2026-11-27T10:00Z", "Duration", "Average", 100.0),
        ("2026-11-27T10:00Z", "ConcurrentExecutions", "Maximum", 2.0),
        ("2026-11-27T11:00Z", "Invocations", "Sum", 1.0),
        ("2026-11-27T11:00Z", "Duration", "Average", 500.0),
        ("2026-11-27T11:00Z", "ConcurrentExecutions", "Maximum", 4.0),
    ]
    frame = pd.DataFrame(
        [
            {
                "timestamp": pd.Timestamp(t),
                "resource": "f:RAM128",
                "alias": "RAM128",
                "metric": m,
                "stat": s,
                "value": v,
            }
            for t, m, s, v in rows
        ]
    )
    summary = cloudwatch.metrics_summary(frame)
    assert summary.loc["RAM128", "Invocations Sum"] == 4
    assert summary.loc["RAM128", "Duration Average"] == pytest.approx(200.0)  # (300 + 500) / 4, not 300
    assert summary.loc["RAM128", "ConcurrentExecutions Maximum"] == 4


# --- REPORT lines ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "version"),
    [
        ("2026/11/27/[$LATEST]0123abcd", "$LATEST"),
        ("2026/11/27/[12]0123abcd", "12"),
        ("2026/11/27/my-stream", None),
        ("local-gateway", None),
    ],
)
def test_stream_version(stream: str, version: str | None) -> None:
    assert logs.stream_version(stream) == version


def test_report_lines_text_and_json_formats(moto_endpoint: str) -> None:
    now = datetime.now(UTC)
    seeded = aws_data.seed_report_lines(now)
    client = boto3.client("logs")
    stream = f"{now:%Y/%m/%d}/[$LATEST]json"
    client.create_log_stream(logGroupName=aws_data.LOG_GROUP, logStreamName=stream)
    record = {
        "requestId": "j",
        "metrics": {"durationMs": 12.5, "billedDurationMs": 13, "memorySizeMB": 256, "maxMemoryUsedMB": 80},
    }
    at = int((now - timedelta(minutes=5)).timestamp() * 1000)
    client.put_log_events(
        logGroupName=aws_data.LOG_GROUP,
        logStreamName=stream,
        logEvents=[
            {
                "timestamp": at,
                "message": json.dumps({"type": "platform.start", "record": {"requestId": "j"}}),
            },
            {"timestamp": at + 1, "message": json.dumps({"type": "platform.report", "record": record})},
        ],
    )
    lines = logs.fetch_report_lines(aws_data.LOG_GROUP, now - timedelta(hours=1), now)
    assert len(lines) == seeded + 1  # START/END lines and platform.start are not invocations
    json_line = lines[lines["version"] == "$LATEST"].iloc[0]
    assert (json_line["memory_mb"], json_line["duration_ms"], json_line["cold"]) == (256, 12.5, False)
    cold = lines[lines["cold"]]
    assert sorted(cold["memory_mb"]) == [128, 1024]  # the first invocation of each stream
    assert lines["timestamp"].is_monotonic_increasing


def test_report_lines_outside_the_window_or_group_are_not_read(moto_endpoint: str) -> None:
    now = datetime.now(UTC)
    aws_data.seed_report_lines(now)
    assert logs.fetch_report_lines(aws_data.LOG_GROUP, now - timedelta(minutes=1), now).empty
    assert len(logs.fetch_report_lines(aws_data.LOG_GROUP, "1h")) == 2 * 5
    missing = logs.fetch_report_lines("/aws/lambda/absent", now - timedelta(days=1), now)
    assert missing.empty
    assert list(missing.columns) == logs.COLUMNS


def test_report_lines_stop_at_max_lines(moto_endpoint: str) -> None:
    now = datetime.now(UTC)
    aws_data.seed_report_lines(now)
    assert len(logs.fetch_report_lines(aws_data.LOG_GROUP, now - timedelta(hours=1), max_lines=3)) == 3


def test_each_run_keeps_its_own_invocations_and_other_traffic_is_live_traffic() -> None:
    """A run's REPORT lines (a published version, one of its sizes, inside its window) are the run's; the
    $LATEST line and the line outside every window are live traffic; a run's own records are never
    replaced by other traffic at the same size."""
    at = pd.Timestamp("2026-11-27T10:01Z")

    def line(version: str, minutes: int, duration: float) -> dict:
        return {
            "source": "REPORT lines",
            "timestamp": at + pd.Timedelta(minutes=minutes),
            "version": version,
            "memory_mb": 1024,
            "duration_ms": duration,
            "cold": False,
        }

    report_lines = pd.DataFrame([line("7", 0, 10.0), line("$LATEST", 0, 386.0), line("7", 60, 20.0)]).reindex(
        columns=logs.COLUMNS
    )
    runs = pd.DataFrame(
        [
            {
                "run": "aws-run",
                "started": pd.Timestamp("2026-11-27T10:00Z"),
                "ended": pd.Timestamp("2026-11-27T10:05Z"),
                "power": 1024,
            }
        ]
    )
    local = pd.DataFrame(
        [
            {
                "run": "20261127T000000Z_local_fn",
                "power": 1024,
                "duration_ms": 99.0,
                "init_ms": 5.0,
                "cold": True,
            }
        ]
    )
    merged = logs.invocations_for_charts(report_lines, local, runs)
    by_run = merged.groupby(merged["run"].fillna("none"))["duration_ms"].apply(sorted).to_dict()
    assert by_run == {"aws-run": [10.0], "20261127T000000Z_local_fn": [99.0], "none": [20.0, 386.0]}
    assert set(merged.loc[merged["run"].isna(), "source"]) == {"live traffic"}
    assert merged.loc[merged["run"] == "20261127T000000Z_local_fn", "source"].tolist() == [
        "local runs (emulated)"
    ]
    assert merged["run"].isna().sum() == 2
    # the live alias serving version 7 at the run's size: its lines in the window are traffic, not the run's
    served = logs.invocations_for_charts(report_lines, local, runs, live_versions=frozenset({"7"}))
    assert "aws-run" not in set(served["run"].dropna())
    assert sorted(served.loc[served["run"].isna(), "duration_ms"]) == [10.0, 20.0, 386.0]
    assert None in merged["run"].tolist()  # null in summary.json, not NaN


# --- executions --------------------------------------------------------------------------------------------


def _event(kind: str, **details: object) -> dict:
    return {"type": kind, **details}


def test_failure_cause_prefers_the_error_power_tuning_caught() -> None:
    caught = {
        "Error": "Lambda.Unknown",
        "Cause": json.dumps({"errorType": "X", "errorMessage": "out of memory"}),
    }
    history = [
        _event("ExecutionStarted", executionStartedEventDetails={"input": "{}"}),
        _event("MapStateFailed"),
        _event(
            "PassStateEntered",
            stateEnteredEventDetails={"name": "CleanUpOnError", "input": json.dumps({"error": caught})},
        ),
        _event("ExecutionSucceeded", executionSucceededEventDetails={"output": "{}"}),
    ]
    assert executions.failure_cause(history) == "Lambda.Unknown: out of memory"


def test_failure_cause_of_a_failed_execution_and_of_an_empty_history() -> None:
    history = [
        _event("ExecutionFailed", executionFailedEventDetails={"error": "States.Timeout", "cause": ""})
    ]
    assert executions.failure_cause(history) == "States.Timeout"
    assert executions.failure_cause([]) == "no error recorded in the execution history"


def _description(status: str, output: dict | None, **extra: object) -> dict:
    started = datetime(2026, 11, 27, 10, tzinfo=UTC)
    return {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:pt:run-1",
        "name": "run-1",
        "status": status,
        "startDate": started,
        "stopDate": started + timedelta(minutes=1),
        "input": json.dumps(
            {"lambdaARN": aws_data.FUNCTION_ARN, "strategy": "balanced", "balancedWeight": 0.3}
        ),
        "output": None if output is None else json.dumps(output),
        **extra,
    }


def test_rows_from_stats() -> None:
    output = realistic_output((128, 512), 10)
    rows = executions.execution_rows(_description("SUCCEEDED", output), None, "arm64")
    assert [(r["power"], r["stats_from"], r["is_optimum"]) for r in rows] == [
        (128, "stats", output["power"] == 128),
        (512, "stats", output["power"] == 512),
    ]
    first = rows[0]
    assert (first["function_name"], first["region"], first["architecture"]) == (
        "crud-fn",
        "us-east-1",
        "arm64",
    )
    assert (first["strategy"], first["balanced_weight"], first["status"]) == ("balanced", 0.3, "succeeded")
    assert first["average_duration_ms"] == output["stats"][0]["averageDuration"]


def test_rows_from_the_visualization_url_when_stats_are_missing() -> None:
    stats = [
        {"value": 512, "averageDuration": 100.5, "averagePrice": 2.0e-6},
        {"value": 128, "averageDuration": 400.25, "averagePrice": 1.5e-6},
    ]
    output = {
        "power": 128,
        "cost": 1.5e-6,
        "duration": 400.25,
        "stateMachine": {"visualization": encode_url(stats)},
    }
    rows = executions.execution_rows(_description("SUCCEEDED", output), None, None)
    assert [(r["power"], r["average_duration_ms"], r["stats_from"]) for r in rows] == [
        (128, 400.25, "visualization"),
        (512, 100.5, "visualization"),
    ]


def test_undecodable_visualization_url_is_said_not_raised() -> None:
    output = {"power": 128, "stateMachine": {"visualization": "https://lambda-power-tuning.show/#garbage"}}
    (row,) = executions.execution_rows(_description("SUCCEEDED", output), None, None)
    assert row["status"] == "succeeded"
    assert "visualization URL" in row["cause"]


def test_succeeded_with_empty_output_is_failed_with_the_history_cause() -> None:
    history = [_event("TaskFailed", taskFailedEventDetails={"error": "Lambda.Unknown", "cause": "boom"})]
    (row,) = executions.execution_rows(_description("SUCCEEDED", {}), history, None)
    assert row["status"] == "failed"
    assert row["cause"] == "SUCCEEDED with output {} — Lambda.Unknown: boom"


@pytest.mark.parametrize(("status", "expected"), [("RUNNING", "running"), ("TIMED_OUT", "failed")])
def test_running_and_timed_out(status: str, expected: str) -> None:
    (row,) = executions.execution_rows(_description(status, None), [], None)
    assert row["status"] == expected


def test_load_executions_since(moto_endpoint: str) -> None:
    sfn = boto3.client("stepfunctions")
    arn = create_fake_power_tuning(sfn, boto3.client("iam"), "success", name="pt")
    started = sfn.start_execution(
        stateMachineArn=arn,
        name="only",
        input=json.dumps({"lambdaARN": aws_data.FUNCTION_ARN, "powerValues": list(aws_data.POWER_VALUES)}),
    )
    aws_data.wait_for(sfn, started["executionArn"])
    found = executions.load_executions(arn, datetime.now(UTC) - timedelta(hours=1), architecture="x86_64")
    assert set(found["run"]) == {"only"}
    assert len(found) == len(aws_data.POWER_VALUES)
    assert executions.load_executions(arn, datetime.now(UTC) + timedelta(minutes=1)).empty
    assert set(executions.load_executions(arn, "1h")["run"]) == {"only"}  # spans work as in the notebook


def test_combine_runs_prefers_the_results_file_of_a_saved_execution() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:pt:saved"
    started = pd.Timestamp("2026-11-27T10:00Z")
    execution_rows = pd.DataFrame(
        [
            {"run": "saved", "execution_arn": arn, "power": 128, "status": "succeeded", "started": started},
            {
                "run": "other",
                "balanced_weight": 0.3,
                "execution_arn": arn + "2",
                "power": 128,
                "status": "succeeded",
                "started": started,
            },
        ]
    )
    results_rows = pd.DataFrame(
        [{"run": "20261127T100000Z_aws_fn", "execution_arn": arn, "power": 128, "started": started}]
    )
    combined = executions.combine_runs(execution_rows.reindex(columns=executions.COLUMNS), results_rows)
    assert sorted(combined["run"]) == ["20261127T100000Z_aws_fn", "other"]
    assert set(combined["status"]) == {"succeeded"}
    assert set(combined["balanced_weight"]) == {0.3, 0.5}


# --- sources: results-only reports -------------------------------------------------------------------------


def test_without_outputs_the_report_reads_results_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `make tune-local` with no local stack: no stack outputs, yet the results name the function."""
    monkeypatch.chdir(tmp_path)  # no .local/outputs.json here
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # would fail loudly if AWS were called
    results_dir = tmp_path / "results"
    aws_data.write_local_results(results_dir, datetime.now(UTC) - timedelta(hours=1))
    context = sources.load_context(None, None, "7d", results_dir)
    assert context.read_aws is False
    assert context.outputs == {
        "function_name": aws_data.FUNCTION,
        "region": "us-east-1",
        "architecture": "arm64",
    }
    assert "results files only" in context.describe()
    runs = sources.tuning_runs(context, results_dir)
    assert runs.frame["run"].nunique() == 1
    [run] = set(runs.frame["run"])
    assert runs.notes == [f"Run `{run}` skipped 64 MB: {aws_data.SKIPPED_CAUSE}"]
    assert len(sources.invocations(context, results_dir).frame) == 10 * len(aws_data.POWER_VALUES)
    assert sources.lambda_metrics(context).notes == ["No stack outputs: CloudWatch metrics not read."]
    decision = recommend.decide(
        runs.frame, outputs=context.outputs, stack=None, mix={"get": 1}, requests_per_month=1
    )
    assert decision.picks["monthly_saving"].isna().all()
    assert "without the stack's memory size" in decision.sentences[1]


def test_with_nothing_at_all_every_source_says_so_in_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone: no stack outputs and no results yet. Sentences, not `None` or an empty cell."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # would fail loudly if AWS were called
    context = sources.load_context(None, None, "7d", tmp_path / "results")
    assert context.describe().startswith("Nothing to analyse yet: no stack outputs and no readable results")
    assert "None" not in context.describe()
    invocations = sources.invocations(context, tmp_path / "results")
    assert invocations.frame.empty
    assert invocations.notes == [
        f"No invocation records: no results file in `{tmp_path / 'results'}` holds any."
    ]
    assert "No invocation records" in invocations._repr_html_()


def test_local_stack_outputs_point_clients_at_their_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """``.local/outputs.json`` carries ``endpoint_url``: the report reads that emulator, never real AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKING")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    local = sources.aws_client({"endpoint_url": "http://127.0.0.1:4566", "region": "eu-west-1"}, "logs")
    assert local.meta.endpoint_url == "http://127.0.0.1:4566"
    assert local.meta.region_name == "eu-west-1"
    assert local._request_signer._credentials.access_key == "testing"
    deployed = sources.aws_client({"region": "eu-west-1"}, "logs")
    assert deployed.meta.endpoint_url == "https://logs.eu-west-1.amazonaws.com"


def test_per_memory_summary() -> None:
    invocations = pd.DataFrame(
        {
            "source": ["REPORT lines"] * 3 + ["local runs (emulated)"],
            "memory_mb": [128, 128, 128, 256],
            "duration_ms": [30.0, 10.0, 20.0, 5.0],
            "init_ms": [100.0, None, None, None],
            "max_memory_used_mb": [50, 60, 55, 70],
            "cold": [True, False, False, False],
        }
    )
    summary = logs.per_memory_summary(invocations.assign(run=["r1", "r1", None, "r2"]))
    row = summary.loc[("r1", 128)]
    assert (row["invocations"], row["cold"], row["p50 ms"], row["max ms"]) == (2, 1, 10.0, 30.0)
    assert (row["median init ms"], row["peak memory MB"], row["source"]) == (100.0, 60, "REPORT lines")
    # a line of other traffic at the same size is its own row, never merged into the run's
    assert summary.loc[("live traffic", 128), "invocations"] == 1
    assert summary.loc[("r2", 256), "source"] == "local runs (emulated)"
    assert logs.per_memory_summary(invocations.iloc[0:0]).empty


def test_notes_render_commands_as_code_and_escape_the_rest() -> None:
    html = sources.notes_html(["Apply: `pulumi config set memorySize 256` <now> & `pulumi up`"])
    assert html == (
        "<ul><li>Apply: <code>pulumi config set memorySize 256</code> &lt;now&gt; &amp; "
        "<code>pulumi up</code></li></ul>"
    )
    assert sources.notes_html([]) == ""


def test_a_corrupt_results_file_costs_a_sentence_not_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    results_dir = tmp_path / "results"
    aws_data.write_local_results(results_dir, datetime.now(UTC) - timedelta(hours=1))
    (results_dir / "20991231T000000Z_local_broken.json").write_text("{not json")
    context = sources.load_context(None, None, "7d", results_dir)
    assert context.outputs["function_name"] == aws_data.FUNCTION  # from the newest file that loads
    runs = sources.tuning_runs(context, results_dir)
    assert runs.frame["run"].nunique() == 1
    assert len(runs.notes) == 2  # the broken file, and the size the readable run skipped
    assert runs.notes[0].startswith("Skipped results file")
    assert "20991231T000000Z_local_broken.json" in runs.notes[0]
    assert runs.notes[1].endswith(f"skipped 64 MB: {aws_data.SKIPPED_CAUSE}")


def test_run_summary_one_row_per_run_newest_first() -> None:
    started = pd.Timestamp("2026-11-27T10:00Z")
    runs = pd.DataFrame(
        [
            {"run": "a", "started": started, "status": "succeeded", "power": 512, "optimum_power": 256.0},
            {"run": "a", "started": started, "status": "succeeded", "power": 256, "optimum_power": 256.0},
            {
                "run": "b",
                "started": started + pd.Timedelta(hours=1),
                "status": "failed",
                "cause": "FAILED — x",
            },
        ]
    ).reindex(columns=executions.COLUMNS)
    summary = executions.run_summary(runs)
    assert summary.index.tolist() == ["b", "a"]
    assert summary.loc["a", "memory sizes"] == "256, 512"
    assert summary.loc["a", "optimum MB"] == 256
    assert summary.loc["b", "cause"] == "FAILED — x"
    assert summary.loc["b", "memory sizes"] == ""


def test_per_memory_percentiles_are_measured_values_like_the_cli_table() -> None:
    """p50/p90 by nearest rank, as in the CLI table and CloudWatch: 1..10 ms → 5 and 9, not 5.5 and 9.1."""
    invocations = pd.DataFrame(
        {
            "source": ["local runs (emulated)"] * 10,
            "memory_mb": [128] * 10,
            "duration_ms": [float(ms) for ms in (7, 1, 10, 3, 5, 2, 9, 4, 8, 6)],
            "init_ms": [None] * 10,
            "max_memory_used_mb": [50] * 10,
            "cold": [False] * 10,
        }
    )
    row = logs.per_memory_summary(invocations).loc[("live traffic", 128)]
    assert (row["p50 ms"], row["p90 ms"]) == (5.0, 9.0)


def _function_with_live_alias(version_count: int, live: str) -> None:
    """The seeded function in moto with ``version_count`` published versions and alias ``live`` on one."""
    iam = boto3.client("iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    client = boto3.client("lambda")
    client.create_function(
        FunctionName=aws_data.FUNCTION, Runtime="python3.13", Role=role, Handler="app.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )  # fmt: skip
    for index in range(version_count):
        client.update_function_configuration(FunctionName=aws_data.FUNCTION, Description=f"v{index}")
        client.publish_version(FunctionName=aws_data.FUNCTION)
    client.create_alias(FunctionName=aws_data.FUNCTION, Name="live", FunctionVersion=live)


@pytest.mark.parametrize(("live", "owned_by_run"), [("1", {1024}), ("2", {128})])
def test_the_live_alias_versions_lines_are_live_traffic_inside_a_runs_window(
    moto_endpoint: str, tmp_path: Path, live: str, owned_by_run: set[int]
) -> None:
    """Version 1 (128 MB) and version 2 (1024 MB) log inside a run's window at both sizes: the version the
    live alias serves is never the run's, the other one is."""
    now = datetime.now(UTC)
    aws_data.seed_report_lines(now)
    _function_with_live_alias(2, live)
    runs = pd.DataFrame(
        [
            {"run": "aws-run", "started": pd.Timestamp(now - timedelta(hours=1)), "ended": pd.Timestamp(now),
             "power": power}
            for power in (128, 1024)
        ]
    )  # fmt: skip
    context = sources.Context(aws_data.outputs(None), now - timedelta(hours=1), now, "test")
    frame = sources.invocations(context, tmp_path / "results", runs).frame
    assert set(frame.loc[frame["run"] == "aws-run", "memory_mb"]) == owned_by_run
    live_memory = {"1": 128, "2": 1024}[live]
    assert set(frame.loc[frame["run"].isna(), "memory_mb"]) == {live_memory}
