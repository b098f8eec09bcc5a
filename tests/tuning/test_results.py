"""Results files: name, content, atomic writes, and the tidy DataFrames the notebook builds on."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import tuning.files
import tuning.results as results
from tests.support.power_tuning_fake import realistic_output
from tuning.results import invocations_frame, load_results, results_frame, write_results

STARTED = datetime(2026, 11, 27, 6, 5, 4, tzinfo=UTC)
ENDED = datetime(2026, 11, 27, 6, 7, 0, tzinfo=UTC)
EXECUTION_INPUT = {"lambdaARN": "arn:aws:lambda:us-east-1:1:function:f", "num": 10, "strategy": "speed"}


def _write(
    tmp_path: Path,
    source: str = "local",
    output: dict | None = None,
    started: datetime = STARTED,
    execution_input: dict | None = None,
    **extra,
) -> Path:
    return write_results(
        source=source,
        function_name="crud fn/1",
        region="us-east-1",
        architecture="arm64",
        started=started,
        ended=ENDED,
        execution_input=execution_input or EXECUTION_INPUT,
        output=output or realistic_output(),
        results_dir=tmp_path,
        **extra,
    )


def test_file_name_and_content(tmp_path: Path) -> None:
    invocations = [{"power": 128, "duration_ms": 5.0, "billed_ms": 5, "init_ms": None, "error": None}]
    path = _write(tmp_path, invocations=invocations, emulation={"limiter": "dutycycle"})
    assert path.name == "20261127T060504Z_local_crud-fn-1.json"
    saved = json.loads(path.read_text())
    assert saved["metadata"]["source"] == "local"
    assert saved["metadata"]["emulated"] is True
    assert saved["metadata"]["started"] == "2026-11-27T06:05:04Z"
    assert saved["input"] == EXECUTION_INPUT
    assert saved["output"] == realistic_output()
    assert saved["invocations"] == invocations
    assert saved["emulation"] == {"limiter": "dutycycle"}
    assert load_results(path) == saved


def test_runs_in_the_same_second_do_not_overwrite_each_other(tmp_path: Path) -> None:
    first, second = _write(tmp_path, source="aws"), _write(tmp_path, source="aws")
    assert first != second
    assert second.name == "20261127T060504Z_aws_crud-fn-1~2.json"
    assert json.loads(second.read_text())["metadata"]["emulated"] is False


def test_a_failure_mid_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def written_then_fail(descriptor: int) -> None:  # the scratch file holds the text, the disk gives up
        raise OSError("disk full")

    monkeypatch.setattr(tuning.files.os, "fsync", written_then_fail)
    with pytest.raises(OSError, match="disk full"):
        _write(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_results_files_get_the_umasks_mode_like_any_file(tmp_path: Path, umask: int, mode: int) -> None:
    """Results are shared, not secret: not mkstemp's 0600 but what open() would give under the umask."""
    previous = os.umask(umask)
    try:
        path = _write(tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_private_file_stays_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """The local stack's outputs hold its API key: written atomically like results, but never shared."""
    previous = os.umask(0o002)
    try:
        path = tuning.files.write_text_atomically(tmp_path / "outputs.json", "{}\n", private=True)
    finally:
        os.umask(previous)
    assert (stat.S_IMODE(path.stat().st_mode), path.read_text()) == (0o600, "{}\n")
    assert list(tmp_path.iterdir()) == [path]


def test_unknown_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        _write(tmp_path, source="gcp")


def test_not_a_results_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"power": 128}')
    with pytest.raises(ValueError, match="not a tuning results file"):
        load_results(path)


def test_results_frame_has_one_row_per_run_and_power(tmp_path: Path) -> None:
    _write(tmp_path, source="aws")
    _write(tmp_path, source="local", output=realistic_output(include_stats=False))
    frame = results_frame(tmp_path)
    assert len(frame) == 12
    assert list(frame.columns) == results.POWER_COLUMNS
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
    assert list(frame.columns) == results.INVOCATION_COLUMNS
    assert list(frame["cold"]) == [True, False]
    assert frame["run"].iloc[0] == "20261127T060504Z_local_crud-fn-1"


def test_empty_directory_gives_empty_frames(tmp_path: Path) -> None:
    assert results_frame(tmp_path).empty
    assert invocations_frame(tmp_path).empty


def test_results_frame_keeps_each_runs_balanced_weight(tmp_path: Path) -> None:
    """The notebook recomputes the balanced pick from a run's rows: it needs the weight that run used."""
    from tuning.executions import COLUMNS, combine_runs
    from tuning.recommend import decide

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
