"""The GitHub workflows: every action pinned by commit, no credentials left in the checkout, and the gate's
baseline read from the base branch, so a pull request cannot rewrite what it is judged by."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.e2e.served_stack import PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
_PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+(?:\.\d+)*$")


def _steps(path: Path) -> list[dict]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_tag_named(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        assert _PINNED.match(line), f"{path.name}: pin by full commit SHA with '# vX.Y.Z': {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_credentials(path: Path) -> None:
    checkouts = [step for step in _steps(path) if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, step


def test_the_gate_reads_its_baseline_from_the_base_branch() -> None:
    steps = _steps(PROJECT_ROOT / ".github" / "workflows" / "tuning-gate.yml")
    base = [s for s in steps if s.get("with", {}).get("ref") == "${{ github.base_ref }}"]
    assert len(base) == 1
    path = base[0]["with"]["path"]
    (compare,) = [s["run"] for s in steps if "tuning compare" in s.get("run", "")]
    assert compare.split()[4] == f"{path}/results/baseline/local.json"
