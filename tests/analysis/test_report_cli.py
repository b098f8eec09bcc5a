"""``python -m analysis report``: usage errors exit 2 before a kernel starts; a failing notebook keeps the
previous report and leaves no scratch files."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from analysis import html_report as report
from tests.analysis import aws_data
from tests.analysis.conftest import report_args


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(aws_data.outputs(None)))
    return path


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"since": "last week"}, "span like 7d"),
        ({"since": "99999999w"}, "give a shorter span"),
        ({"since": "9" * 400 + "d"}, "give a shorter span"),
        ({"mix": "get=70,fetch=30"}, "Unknown operation 'fetch'"),
        ({"mix": "get=seventy"}, "Bad mix entry"),
        ({"requests_per_month": 0}, "must be positive"),
    ],
)
def test_bad_parameters_exit_2_and_write_nothing(
    flags: dict, message: str, outputs_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_dir = tmp_path / "reports"
    assert report.run(report_args(outputs=outputs_file, report_dir=report_dir, **flags)) == report.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not report_dir.exists()


def test_unreadable_or_missing_outputs_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.run(report_args(outputs=tmp_path / "absent.json")) == report.EXIT_USAGE
    assert "Cannot read stack outputs" in capsys.readouterr().err
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps({"function_name": "f"}))
    assert report.run(report_args(outputs=incomplete)) == report.EXIT_USAGE
    assert "lack" in capsys.readouterr().err


@pytest.mark.slow
def test_failing_notebook_keeps_the_previous_report(
    outputs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.ipynb"
    notebook = new_notebook(cells=[new_code_cell("raise RuntimeError('boom')")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, broken)
    monkeypatch.setattr(report, "NOTEBOOK", broken)
    report_dir = tmp_path / "reports"
    report_dir.mkdir()
    (report_dir / report.HTML_NAME).write_text("previous report")
    code = report.run(report_args(outputs=outputs_file, report_dir=report_dir))
    assert code == 1
    assert "RuntimeError: boom" in capsys.readouterr().err
    assert (report_dir / report.HTML_NAME).read_text() == "previous report"
    assert sorted(p.name for p in report_dir.iterdir()) == [report.HTML_NAME]


def _local_stack_file(directory: Path, endpoint_url: str) -> None:
    (directory / ".local").mkdir()
    outputs = {**aws_data.outputs(None), "endpoint_url": endpoint_url}
    (directory / ".local" / "outputs.json").write_text(json.dumps(outputs))


def test_report_reads_the_running_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    monkeypatch.chdir(tmp_path)
    _local_stack_file(tmp_path, moto_endpoint)  # its emulator answers
    parameters = report.notebook_parameters(report_args())
    assert parameters["outputs_path"] == str((tmp_path / ".local" / "outputs.json").resolve())


def test_report_ignores_an_outputs_file_left_by_a_dead_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as closed:  # free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    _local_stack_file(tmp_path, f"http://127.0.0.1:{port}")
    parameters = report.notebook_parameters(report_args())
    assert parameters["outputs_path"] is None  # results files alone, not a dead endpoint
    assert "no longer runs; ignoring it" in capsys.readouterr().err
