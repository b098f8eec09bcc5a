"""Results files: name, content, atomic writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import api.files
from tests.support.power_tuning_fake import realistic_output
from tests.support.results_files import EXECUTION_INPUT
from tests.support.results_files import write_sample as _write
from tuning.record import SCHEMA_VERSION, read_run


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
    assert saved["schema_version"] == SCHEMA_VERSION
    assert read_run(path).to_json() == saved  # the record is what the file holds


def test_confidence_and_skipped_sit_beside_power_tunings_output(tmp_path: Path) -> None:
    confidence = [
        {"power": 128, "n": 10, "durationLow": 1.0, "durationHigh": 2.0, "costLow": 3e-9, "costHigh": 4e-9}
    ]
    skipped = [{"power": 3008, "cause": "Runtime.OutOfMemory"}]
    saved = json.loads(_write(tmp_path, confidence=confidence, skipped=skipped).read_text())
    assert saved["confidence"] == confidence
    assert saved["skipped"] == skipped
    assert saved["output"] == realistic_output()  # the tool's schema is untouched


def test_runs_in_the_same_second_do_not_overwrite_each_other(tmp_path: Path) -> None:
    first, second = _write(tmp_path, source="aws"), _write(tmp_path, source="aws")
    assert first != second
    assert second.name == "20261127T060504Z_aws_crud-fn-1~2.json"
    assert json.loads(second.read_text())["metadata"]["emulated"] is False


def test_a_failure_mid_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def written_then_fail(descriptor: int) -> None:  # the scratch file holds the text, the disk gives up
        raise OSError("disk full")

    monkeypatch.setattr(api.files.os, "fsync", written_then_fail)
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
        path = api.files.write_text_atomically(tmp_path / "outputs.json", "{}\n", private=True)
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
        read_run(path)
