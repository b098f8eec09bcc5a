"""``python -m tuning compare BASE NEW``: the regression gate between two results files.

Size by size, on the per-invocation records of both runs, Power Tuning's figure (trimmed-mean duration, or
the cost per invocation) of NEW against BASE: the difference with its 95% bootstrap interval and a
permutation test (``tuning.engine.confidence.compare_samples``). A size **regressed** when the change is
significant (two-sided p < 0.05) *and* NEW is worse than BASE by more than ``--max-regression`` percent of
BASE's figure: noise cannot fail the gate, and neither can a real change too small to matter. Exit 0: no
size regressed; 1: one did; 2: the files cannot be compared (the message says why and what to do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuning.engine.confidence import SIGNIFICANCE, Sample, compare_samples, metric_statistic, size_samples
from tuning.record import TuningRun, read_run

DEFAULT_MAX_REGRESSION = 10.0  # percent
EXIT_PASSED, EXIT_REGRESSED = 0, 1
HEADERS = ("power MB", "base n", "new n", "base", "new", "change [95% CI]", "change %", "p", "verdict")
_UNITS = {"duration": ("ms", ".2f"), "cost": ("$/invocation", ".4e")}
# what must be equal for two runs' figures to mean the same thing, and the fix named when they are not
_SAME = (
    ("function_name", "different functions", "compare runs of the same function"),
    ("architecture", "different architectures", "compare runs of the same architecture"),
    ("source", "one run is local (emulated), the other on AWS", "compare local with local, AWS with AWS"),
    ("region", "different regions (different prices)", "compare runs priced in the same region"),
)


class CompareError(ValueError):
    """Two files that cannot be compared; the message names the reason and the fix."""


def read_compared(path: Path) -> TuningRun:
    """One results file, or CompareError saying why it cannot be read."""
    try:
        return read_run(path)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CompareError(f"cannot read results file {path}: {error}") from None


def _samples(path: Path, run: TuningRun) -> dict[int, Sample]:
    samples = size_samples((stat["value"] for stat in run.stats), run.invocations or [])
    if not samples:
        raise CompareError(
            f"{path} has no per-invocation data (its `invocations` are empty): compare needs every "
            "invocation's duration; use a local run, or an AWS run whose REPORT lines could be read"
        )
    return samples


def check_comparable(base: TuningRun, new: TuningRun) -> None:
    """CompareError unless both runs measured the same function, the same way, with the same trimming."""
    for key, problem, fix in _SAME:
        ours, theirs = base.metadata.get(key), new.metadata.get(key)
        if ours != theirs:
            raise CompareError(f"{problem}: BASE has {key} {ours!r}, NEW has {theirs!r}; {fix}")
    if base.input.discard != new.input.discard:
        raise CompareError(
            f"different trimming: BASE drops {base.input.discard:g} at each end, NEW "
            f"{new.input.discard:g} (discardTopBottom/onlyColdStarts); rerun NEW with BASE's settings"
        )


def notes(base: TuningRun, new: TuningRun) -> list[str]:
    """What the reader should know but that does not stop the comparison: emulated timings from two CPUs
    differ for that reason alone; a different function folder is what a gate compares."""
    found = []
    cpus = [(run.emulation or {}).get("host_cpu") for run in (base, new)]
    if cpus[0] != cpus[1]:
        found.append(
            f"BASE was emulated on {cpus[0]!r}, NEW on {cpus[1]!r}: part of any change is the machine; "
            "make the baseline on the machine that runs the gate"
        )
    folders = [run.metadata.get("function_dir") for run in (base, new)]
    if folders[0] != folders[1]:
        found.append(f"function folders: BASE {folders[0]}, NEW {folders[1]}")
    return found


def _verdict(change: Mapping[str, float], max_regression: float, metric: str) -> str:
    worse = "slower" if metric == "duration" else "dearer"
    if change["p"] >= SIGNIFICANCE:
        return "within noise"
    if change["relative"] <= 0:
        return "faster" if metric == "duration" else "cheaper"
    if change["relative"] * 100 > max_regression:
        return f"REGRESSED ({worse})"
    return f"{worse}, within {max_regression:g}%"


def compare_runs(
    base: TuningRun,
    new: TuningRun,
    *,
    metric: str = "duration",
    max_regression: float = DEFAULT_MAX_REGRESSION,
    powers: Sequence[int] | None = None,
    base_path: Path = Path("BASE"),
    new_path: Path = Path("NEW"),
) -> list[dict[str, Any]]:
    """One row per compared size (ascending): n of each run, both figures, the change with its interval,
    relative to BASE, the permutation p-value, the verdict and whether it ``regressed``."""
    check_comparable(base, new)
    base_samples, new_samples = _samples(base_path, base), _samples(new_path, new)
    common = sorted(base_samples.keys() & new_samples.keys())
    if not common:
        raise CompareError(
            f"no memory size measured in both runs (BASE: {sorted(base_samples)}, NEW: "
            f"{sorted(new_samples)}); tune NEW with BASE's --power-values"
        )
    if powers:
        missing = sorted(set(powers) - set(common))
        if missing:
            raise CompareError(f"--power {missing} not measured in both runs (both have {common})")
        common = sorted(set(powers))
    column = "durations" if metric == "duration" else "billed"  # the cost is priced from billed ms
    meta = base.metadata
    rows = []
    for power in common:
        statistic = metric_statistic(
            metric,
            power,
            discard=base.input.discard,
            architecture=meta["architecture"],
            region=meta["region"],
        )
        base_sample, new_sample = base_samples[power], new_samples[power]
        change = compare_samples(
            getattr(base_sample, column),
            getattr(new_sample, column),
            statistic,
            base_cold=base_sample.cold,
            new_cold=new_sample.cold,
        )
        change["relative"] = change["difference"] / change["base"]
        verdict = _verdict(change, max_regression, metric)
        rows.append(
            {
                "power": power,
                "base_n": len(base_sample.durations),
                "new_n": len(new_sample.durations),
                **change,
                "verdict": verdict,
                "regressed": verdict.startswith("REGRESSED"),
            }
        )
    return rows


def format_comparison(rows: Sequence[Mapping[str, Any]], metric: str) -> str:
    """The fixed-width table ``compare`` prints."""
    unit, fmt = _UNITS[metric]
    lines = [
        [
            str(row["power"]),
            str(row["base_n"]),
            str(row["new_n"]),
            format(row["base"], fmt),
            format(row["new"], fmt),
            f"{row['difference']:+{fmt}} [{row['low']:+{fmt}}, {row['high']:+{fmt}}]",
            f"{row['relative']:+.1%}",
            f"{row['p']:.4f}",
            row["verdict"],
        ]
        for row in rows
    ]
    headers = [h if h not in ("base", "new") else f"{h} {unit}" for h in HEADERS]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]

    def render(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join([render(headers), render(["-" * w for w in widths]), *map(render, lines)])


def compare_files(
    base_path: Path,
    new_path: Path,
    *,
    metric: str,
    max_regression: float,
    powers: Sequence[int] | None,
) -> tuple[int, str]:
    """The gate: (exit code, what to print). CompareError for files that cannot be compared."""
    base, new = read_compared(base_path), read_compared(new_path)
    rows = compare_runs(
        base,
        new,
        metric=metric,
        max_regression=max_regression,
        powers=powers,
        base_path=base_path,
        new_path=new_path,
    )
    regressed = [row for row in rows if row["regressed"]]
    lines = [
        f"{metric.capitalize()} of {new.metadata.get('function_name')}: NEW {new_path} against BASE "
        f"{base_path} (Power Tuning's trimmed mean; 95% bootstrap interval; two-sided permutation test)",
        format_comparison(rows, metric),
        *(f"note: {note}" for note in notes(base, new)),
        "",
    ]
    if regressed:
        sizes = ", ".join(
            f"{row['power']} MB ({row['relative']:+.1%}, p={row['p']:.4f})" for row in regressed
        )
        lines.append(f"FAILED: significantly worse by more than {max_regression:g}% at {sizes}")
        return EXIT_REGRESSED, "\n".join(lines)
    lines.append(f"PASSED: no size got significantly worse by more than {max_regression:g}%")
    return EXIT_PASSED, "\n".join(lines)
