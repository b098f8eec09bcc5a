"""Fixtures of the notebook tests: one seeded emulator and one notebook execution shared by a whole module."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis import html_report as report
from emulator.moto_server import MotoServer, aws_env
from tests.analysis import aws_data


@pytest.fixture(scope="module")
def seeded(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A reset server holding AWS-shaped data (see aws_data), this process's boto3 pointed at it."""
    moto_server.reset()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in aws_env(moto_server.endpoint_url).items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield aws_data.seed_all(tmp_path_factory.mktemp("seeded"))


def report_args(**overrides: Any) -> argparse.Namespace:
    """Parsed ``python -m analysis report`` flags, as H3's CLI would hand them over."""
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    argv: list[str] = []
    for flag, value in overrides.items():
        argv += [f"--{flag.replace('_', '-')}", str(value)]
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def executed_report(seeded: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``analysis report`` run once over the seeded data: exit code, report dir and the notebook's summary."""
    report_dir = tmp_path_factory.mktemp("reports")
    code = report.run(
        report_args(
            outputs=seeded["outputs_path"],
            results_dir=seeded["results_dir"],
            report_dir=report_dir,
            since="1d",
            requests_per_month=10_000_000,
        )
    )
    summary_path = Path(report_dir) / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return {"code": code, "report_dir": Path(report_dir), "summary": summary, **seeded}
