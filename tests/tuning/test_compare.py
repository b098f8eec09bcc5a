"""`python -m tuning compare`: the regression gate on synthetic runs whose difference is known (a size 20%
slower, or pure noise), and every bad input with its message and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.results_files import EXECUTION_INPUT, write_sample
from tuning.cli import main
from tuning.engine.analyzer import build_output

POWERS = (128, 1024)
CENTRES = {128: 200.0, 256: 100.0, 1024: 40.0}  # ms
SPREAD = 0.05  # standard deviation as a share of the centre


def _records(
    rng: np.random.Generator, slower: dict[int, float], n: int, powers: tuple[int, ...], spread: float
) -> list[dict]:
    records = []
    for power in powers:
        centre = CENTRES[power] * slower.get(power, 1.0)
        for duration in rng.normal(centre, centre * spread, n):
            records.append(
                {"power": power, "duration_ms": float(duration), "billed_ms": float(np.ceil(duration))}
            )
    return records


def _run(
    directory: Path,
    seed: int,
    *,
    slower: dict[int, float] | None = None,
    n: int = 20,
    powers: tuple[int, ...] = POWERS,
    spread: float = SPREAD,
    execution_input: dict | None = None,
    **metadata,
) -> Path:
    records = _records(np.random.default_rng(seed), slower or {}, n, powers, spread)
    output = build_output(
        [(p, [(r["duration_ms"], r["billed_ms"]) for r in records if r["power"] == p]) for p in powers],
        architecture="arm64",
    )
    directory.mkdir(parents=True, exist_ok=True)
    return write_sample(
        directory, output=output, invocations=records, execution_input=execution_input, **metadata
    )


def _compare(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = main(["compare", *map(str, argv)])
    return code, capsys.readouterr().out


def test_a_size_20_percent_slower_fails_the_gate_and_names_the_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _run(tmp_path / "base", 1)
    new = _run(tmp_path / "new", 2, slower={1024: 1.2})
    code, out = _compare(capsys, base, new)
    assert code == 1
    [row_128] = [line for line in out.splitlines() if line.lstrip().startswith("128 ")]
    [row_1024] = [line for line in out.splitlines() if line.lstrip().startswith("1024 ")]
    assert row_128.endswith("within noise")
    assert row_1024.endswith("REGRESSED (slower)")
    assert "FAILED: significantly worse by more than 10% at 1024 MB (+" in out


def test_the_gate_flags_a_real_regression_nearly_always_and_noise_almost_never(tmp_path: Path) -> None:
    """Over 40 seeded pairs: 20% slower at 1024 MB is caught in at least 38; equal runs fail at most 2."""
    from tuning.compare import compare_files

    caught = false_alarms = 0
    for seed in range(40):
        base = _run(tmp_path / f"b{seed}", 100 + seed)
        slower = _run(tmp_path / f"s{seed}", 200 + seed, slower={1024: 1.2})
        same = _run(tmp_path / f"n{seed}", 300 + seed)
        caught += compare_files(base, slower, metric="duration", max_regression=10, powers=None)[0] == 1
        false_alarms += compare_files(base, same, metric="duration", max_regression=10, powers=None)[0] == 1
    assert caught >= 38
    assert false_alarms <= 2


def test_pure_noise_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _compare(capsys, _run(tmp_path / "a", 3), _run(tmp_path / "b", 4))
    assert code == 0
    assert "PASSED: no size got significantly worse by more than 10%" in out


def test_a_regression_within_the_allowed_percentage_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = _run(tmp_path / "a", 1), _run(tmp_path / "b", 2, slower={1024: 1.2})
    code, out = _compare(capsys, base, new, "--max-regression", "30")
    assert code == 0
    assert "slower, within 30%" in out


def test_power_limits_the_gate_to_the_given_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, new = _run(tmp_path / "a", 1), _run(tmp_path / "b", 2, slower={1024: 1.2})
    code, out = _compare(capsys, base, new, "--power", "128")
    assert code == 0
    assert " 1024 " not in out


def test_an_improvement_is_reported_and_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, new = _run(tmp_path / "a", 1), _run(tmp_path / "b", 2, slower={128: 0.7, 1024: 0.7})
    code, out = _compare(capsys, base, new)
    assert code == 0
    assert out.count(" faster") == 2


def test_the_cost_metric_gates_on_the_price_per_invocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, new = _run(tmp_path / "a", 1), _run(tmp_path / "b", 2, slower={128: 1.3})
    code, out = _compare(capsys, base, new, "--metric", "cost")
    assert code == 1
    assert "REGRESSED (dearer)" in out
    assert "base $/invocation" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"function_name": "other-fn"}, "different functions: BASE has function_name 'crud fn/1', NEW has"),
        ({"architecture": "x86_64"}, "different architectures: BASE has architecture 'arm64', NEW has"),
        ({"source": "aws"}, "one run is local (emulated), the other on AWS"),
        (
            {"execution_input": {**EXECUTION_INPUT, "onlyColdStarts": True}},
            "different trimming: BASE drops 0.2 at each end, NEW 0",
        ),
    ],
)
def test_runs_that_measure_different_things_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict, message: str
) -> None:
    base = _run(tmp_path / "a", 1)
    if "function_name" in change or "architecture" in change:  # write_sample fixes these two: edit the file
        new = _run(tmp_path / "b", 2)
        document = json.loads(new.read_text())
        document["metadata"].update(change)
        new.write_text(json.dumps(document))
    else:
        new = _run(tmp_path / "b", 2, **change)
    with pytest.raises(SystemExit) as stop:
        _compare(capsys, base, new)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def _refused(capsys: pytest.CaptureFixture[str], *argv: object) -> str:
    with pytest.raises(SystemExit) as stop:
        _compare(capsys, *argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_a_file_without_per_invocation_data_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = _run(tmp_path / "b", 2)
    document = json.loads(new.read_text())
    document["invocations"] = []
    new.write_text(json.dumps(document))
    err = _refused(capsys, _run(tmp_path / "a", 1), new)
    assert f"{new} has no per-invocation data" in err


def test_runs_without_a_common_size_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _run(tmp_path / "b", 2, powers=(256,))
    err = _refused(capsys, _run(tmp_path / "a", 1), new)
    assert "no memory size measured in both runs (BASE: [128, 1024], NEW: [256]); tune NEW with BASE's" in err


def test_a_power_not_in_both_runs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, _run(tmp_path / "a", 1), _run(tmp_path / "b", 2), "--power", "512")
    assert "--power [512] not measured in both runs (both have [128, 1024])" in err


def test_unreadable_files_are_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _run(tmp_path / "a", 1)
    assert "cannot read results file" in _refused(capsys, base, tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert f"cannot read results file {broken}" in _refused(capsys, base, broken)
    other = tmp_path / "other.json"
    other.write_text('{"power": 128}')
    assert "is not a tuning results file" in _refused(capsys, other, base)


def test_a_large_but_insignificant_change_does_not_fail_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 5 invocations with a 30% spread: NEW's trimmed mean at 1024 MB is 24% above BASE's, yet p = 0.15
    base = _run(tmp_path / "a", 0, n=5, spread=0.3)
    new = _run(tmp_path / "b", 50, n=5, spread=0.3, slower={1024: 1.2})
    code, out = _compare(capsys, base, new, "--power", "1024")
    assert code == 0
    [row] = [line for line in out.splitlines() if line.lstrip().startswith("1024 ")]
    assert "+24.0%" in row
    assert row.endswith("within noise")


def test_the_ci_gate_runs_against_the_committed_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    """The workflow's compare step, with the baseline against itself: every flag exists and the baseline
    carries per-invocation data (an identical run changes nothing: p = 1 at every size)."""
    import shlex

    import yaml

    root = Path(__file__).resolve().parents[2]
    workflow = yaml.safe_load((root / ".github/workflows/tuning-gate.yml").read_text())
    [command] = [
        step["run"] for step in workflow["jobs"]["gate"]["steps"] if "compare" in step.get("run", "")
    ]
    argv = shlex.split(command)[3:]  # after `.venv/bin/python -m tuning`
    assert argv[:2] == ["compare", "base/results/baseline/local.json"]  # the base branch's checkout
    argv[1] = argv[2] = "results/baseline/local.json"  # NEW = BASE, this branch's copy
    code, out = _compare(capsys, *[str(root / a) if a.startswith("results/") else a for a in argv[1:]])
    assert code == 0
    assert out.count("1.0000  within noise") == 6  # the six default sizes


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(metadata=1), "field metadata must be an object"),
        (lambda d: d.update(invocations="x"), "field invocations must be a list"),
        (
            lambda d: d["output"]["stats"][0].update(averageDuration="NaN"),
            "field output.stats[0].averageDuration",
        ),
        (
            lambda d: d["output"]["stats"][1].update(averagePrice=float("nan")),
            "field output.stats[1].averagePrice",
        ),
        (lambda d: d["invocations"][3].update(duration_ms=-5.0), "field invocations[3].duration_ms"),
        (lambda d: d["invocations"][0].update(power="128"), "field invocations[0].power"),
        (lambda d: d["invocations"].append(7), "must be an object"),
    ],
)
def test_a_malformed_results_file_cannot_be_compared_and_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change, field: str
) -> None:
    base = _run(tmp_path / "a", 1)
    new = _run(tmp_path / "b", 2)
    document = json.loads(new.read_text())
    change(document)
    new.write_text(json.dumps(document))  # NaN is written as the bare token NaN, as Python's json reads it
    message = _refused(capsys, base, new)
    (error,) = [line for line in message.splitlines() if "error:" in line]  # one line after argparse's usage
    assert f"{new}: {field}" in error if field.startswith("field") else field in error
    assert "Traceback" not in message
