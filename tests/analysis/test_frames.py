"""The tidy DataFrames the notebook builds on: one row per (run, power), one per invocation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import frames
from analysis.frames import invocations_frame, results_frame
from tests.support.power_tuning_fake import realistic_output
from tests.support.results_files import ENDED, EXECUTION_INPUT
from tests.support.results_files import write_sample as _write
from tuning.record import Traffic


def test_results_frame_has_one_row_per_run_and_power(tmp_path: Path) -> None:
    _write(tmp_path, source="aws")
    _write(tmp_path, source="local", output=realistic_output(include_stats=False))
    frame = results_frame(tmp_path)
    assert len(frame) == 12
    assert list(frame.columns) == frames.POWER_COLUMNS
    aws = frame[frame["source"] == "aws"]
    assert list(aws["power"]) == [128, 256, 512, 1024, 1536, 3008]
    assert list(aws["average_duration_ms"]) == [s["averageDuration"] for s in realistic_output()["stats"]]
    assert set(aws["stats_from"]) == {"stats"}
    assert aws["is_optimum"].sum() == 1
    assert aws.loc[aws["is_optimum"], "power"].item() == realistic_output()["power"]
    local = frame[frame["source"] == "local"]
    assert set(local["stats_from"]) == {"visualization"}  # recovered from the URL when stats are missing
    assert local["average_duration_ms"].to_numpy() == pytest.approx(
        aws["average_duration_ms"].to_numpy(), rel=1e-6
    )
    assert set(frame["strategy"]) == {"speed"}
    assert str(frame["started"].dt.tz) == "UTC"


def test_invocations_frame(tmp_path: Path) -> None:
    record = {
        "power": 256,
        "duration_ms": 7.5,
        "billed_ms": 8,
        "init_ms": 150.0,
        "max_memory_used_mb": 60,
        "error": None,
        "cold": True,
    }
    _write(tmp_path, invocations=[record, {**record, "cold": False, "init_ms": None}])
    _write(tmp_path, source="aws")
    frame = invocations_frame(tmp_path)
    assert list(frame.columns) == frames.INVOCATION_COLUMNS
    assert list(frame["cold"]) == [True, False]
    assert frame["run"].iloc[0] == "20261127T060504Z_local_crud-fn-1"


def test_empty_directory_gives_empty_frames(tmp_path: Path) -> None:
    assert results_frame(tmp_path).empty
    assert invocations_frame(tmp_path).empty


def test_results_frame_keeps_each_runs_balanced_weight(tmp_path: Path) -> None:
    """The notebook recomputes the balanced pick from a run's rows: it needs the weight that run used."""
    from analysis.executions import COLUMNS, combine_runs
    from analysis.recommend import decide

    _write(tmp_path, source="local")  # no balancedWeight in the input: the tool's 0.5
    speed_only = {**EXECUTION_INPUT, "strategy": "balanced", "balancedWeight": 0.0}
    later = _write(tmp_path, started=ENDED, execution_input=speed_only)
    frame = results_frame(tmp_path)
    weights = frame.groupby("run")["balanced_weight"].unique()
    assert list(weights[later.stem]) == [0.0]
    assert list(weights["20261127T060504Z_local_crud-fn-1"]) == [0.5]
    runs = combine_runs(pd.DataFrame(columns=COLUMNS), frame)
    picks = decide(runs, outputs={"architecture": "arm64"}, stack=None, mix={"get": 1}, requests_per_month=1)
    by_strategy = dict(zip(picks.picks["strategy"], picks.picks["memory_mb"], strict=True))
    assert by_strategy["balanced"] == by_strategy["speed"] == 3008  # weight 0 ≡ speed, as in the tool


def test_results_frame_carries_each_sizes_interval_and_skipped_frame_the_causes(tmp_path: Path) -> None:
    confidence = [
        {"power": 256, "n": 12, "durationLow": 1.5, "durationHigh": 2.5, "costLow": 3e-9, "costHigh": 4e-9}
    ]
    skipped = [{"power": 64, "cause": "Task timed out after 10.00 seconds"}]
    _write(tmp_path, confidence=confidence, skipped=skipped)
    frame = results_frame(tmp_path).set_index("power")
    assert frame.loc[
        256, ["n", "duration_low_ms", "duration_high_ms", "cost_low_usd", "cost_high_usd"]
    ].tolist() == [
        12,
        1.5,
        2.5,
        3e-9,
        4e-9,
    ]
    assert frame.loc[128, ["n", "duration_low_ms"]].isna().all()  # no confidence entry: no interval
    [row] = frames.skipped_frame(tmp_path).to_dict(orient="records")
    assert (row["power"], row["cause"], row["source"]) == (64, "Task timed out after 10.00 seconds", "local")


def test_results_frame_carries_the_front_door_and_the_traffic_each_run_measured(tmp_path: Path) -> None:
    traffic = Traffic(
        requests=40,
        request_bytes=120.0,
        response_bytes=300.0,
        function_log_bytes=900.0,
        access_log_bytes=350.0,
    )
    _write(tmp_path, source="local", traffic=traffic, extra={"api_type": "http"})
    older = _write(tmp_path, source="aws")
    document = json.loads(older.read_text())
    del document["metadata"]["api_type"]  # written before either was recorded
    older.write_text(json.dumps(document))
    frame = results_frame(tmp_path)
    local, aws = frame[frame["source"] == "local"].iloc[0], frame[frame["source"] == "aws"].iloc[0]
    assert local["api_type"] == "http"
    assert aws["api_type"] == "rest"  # what such a file was priced as
    assert [local[column] for column in frames.TRAFFIC_COLUMNS] == [120.0, 300.0, 900.0, 350.0]
    assert aws[list(frames.TRAFFIC_COLUMNS)].isna().all()
