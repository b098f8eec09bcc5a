"""``python -m analysis lab`` (make lab): usage errors exit 2 before anything is written; JupyterLab opens a
copy of the notebook carrying the report's sources, served on loopback only."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from analysis import html_report as report
from analysis import lab
from tests.analysis import aws_data
from tests.analysis.conftest import report_args


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(aws_data.outputs(None)))
    return path


def test_bad_parameters_exit_2_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report_dir = tmp_path / "reports"
    assert lab.run(report_args(since="last week", report_dir=report_dir)) == report.EXIT_USAGE
    assert "analysis lab:" in capsys.readouterr().err
    assert not report_dir.exists()


def test_the_copy_carries_the_sources_with_absolute_paths(outputs_file: Path, tmp_path: Path) -> None:
    before = report.NOTEBOOK.read_bytes()
    parameters = report.notebook_parameters(
        report_args(outputs=outputs_file, report_dir=tmp_path / "reports")
    )
    copy = lab.prepare(parameters)
    assert copy == tmp_path / "reports" / lab.LAB_NAME
    (injected,) = [
        cell
        for cell in nbformat.read(copy, as_version=4).cells
        if "injected-parameters" in cell.metadata.get("tags", [])
    ]
    assert f'outputs_path = "{outputs_file}"' in injected.source
    assert f'results_dir = "{Path("results").resolve()}"' in injected.source  # the kernel runs in reports/
    assert report.NOTEBOOK.read_bytes() == before  # the committed notebook is never touched


def _get_when_listening(url: str) -> bytes:
    """GET ``url``; Jupyter logs its address a moment before it accepts connections."""
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                return answer.read()
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError):
                raise
            time.sleep(0.1)
    raise AssertionError(f"nothing listens at {url}")


@pytest.mark.slow
def test_jupyterlab_serves_the_copy_on_loopback(outputs_file: Path, tmp_path: Path) -> None:
    # Outside the project, so no one's lab copy is overwritten; JupyterLab's root is the copy's folder.
    copy = lab.prepare(report.notebook_parameters(report_args(outputs=outputs_file, report_dir=tmp_path)))
    command = lab.command(copy)
    command[-1:-1] = ["--no-browser", "--ServerApp.port=0"]  # a free port; no browser in tests
    server = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert server.stderr is not None
        url = ""
        for line in server.stderr:  # Jupyter logs its address with the token once it listens
            if match := re.search(r"(http://[^/\s]+)/lab\?token=(\w+)", line):
                url, token = match.groups()
                break
        assert url.startswith("http://127.0.0.1:"), f"JupyterLab did not start on loopback: {url!r}"
        contents = f"{url}/api/contents/{lab.LAB_NAME}?content=0&token={token}"
        assert json.loads(_get_when_listening(contents))["type"] == "notebook"
    finally:
        server.terminate()
        server.wait(timeout=30)
