"""The analysis charts: each a function of DataFrames that saves ``<report_dir>/<name>.png`` and returns
the figure.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state, Agg canvas for PNG), so they work the
same in a notebook kernel, in papermill and in tests. Memory sizes are categorical ticks: 128 → 3008 MB is
not a scale a reader compares distances on. A chart whose data is missing raises ``NoDataError`` with a
sentence saying why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, ScalarFormatter

from analysis.logs import LIVE_TRAFFIC
from analysis.recommend import COST_PARTS, pareto_front
from analysis.stack_plan import bill_frame
from tuning.engine.confidence import METRICS, SIGNIFICANCE, compare_samples, metric_statistic
from tuning.engine.plan import Plan
from tuning.engine.stats import DEFAULT_DISCARD

PER_MILLION = 1_000_000
MAX_COMPARED_RUNS = 4
_RESULTS_STEM = re.compile(r"\d{8}T\d{6}Z_")  # <UTC time>_<source>_<function>
_SIZE = (9, 5)
_DPI = 100
# distinct shapes and sizes so picks that land on the same memory size stay visible around each other
_PICK_MARKERS = {
    "cost": ("o", "tab:green", 380),
    "speed": ("s", "tab:red", 220),
    "balanced": ("D", "tab:purple", 110),
}
_SOURCE_TAGS = {"REPORT lines": "logs", "local runs (emulated)": "emulated", "results files": "results"}
_PART_LABELS = {  # a request's price (COST_PARTS) and the monthly bill (BILL_COMPONENTS) by component
    "lambda_compute": "Lambda compute",
    "lambda_request": "Lambda request",
    "lambda_requests": "Lambda requests",
    "api_gateway": "API Gateway",
    "dynamodb": "DynamoDB",
    "logs_ingestion": "CloudWatch Logs ingestion",
    "logs_storage": "CloudWatch Logs storage",
    "xray": "X-Ray",
}


class NoDataError(Exception):
    """The chart has nothing to draw; the message is a sentence for the reader."""


def _save(fig: Figure, report_dir: str | Path, name: str) -> Figure:
    path = Path(report_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return fig


def _new_figure(ncols: int = 1) -> tuple[Figure, Any]:
    fig = Figure(figsize=_SIZE, layout="constrained")
    return fig, fig.subplots(1, ncols)


def _categorical_memory(ax: Any, powers: list[int], tags: Mapping[int, str] | None = None) -> dict[int, int]:
    """Put memory sizes on evenly spaced ticks (with a second line naming each size's data source when
    sources differ between sizes); returns power → x position."""
    labels = [f"{p}\n{tags[p]}" if tags else str(p) for p in powers]
    ax.set_xticks(range(len(powers)), labels)
    ax.set_xlim(-0.5, len(powers) - 0.5)  # every size gets its slot, even one no run in view measured
    ax.set_xlabel("memory size, MB")
    return {p: i for i, p in enumerate(powers)}


def _minor_label(value: float, _position: int) -> str:
    """Label 2×, 3× and 5× of each decade: enough to read a value, few enough not to collide."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if leading in (2, 3, 5) else ""


def _log_scale(axis: Any, set_scale: Callable[[str], None]) -> None:
    """A log axis labelled in plain numbers (300, 1000) rather than 3×10²."""
    set_scale("log")
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(FuncFormatter(_minor_label))


def _label_bars(ax: Any, positions: list[int], tops: list[float], texts: list[str]) -> None:
    """Write each bar's value just above it."""
    for position, top, text in zip(positions, tops, texts, strict=True):
        ax.annotate(
            text, (position, top), textcoords="offset points", xytext=(0, 3), ha="center", fontsize="small"
        )


def _intervals(
    ax: Any, x: list[float], low: pd.Series, high: pd.Series, colour: str, scale: float = 1
) -> None:
    """The 95% intervals of the results file's ``confidence`` as capped vertical bars; sizes without one (no
    per-invocation data) get none."""
    known = (low.notna() & high.notna()).to_numpy()
    xs = [position for position, keep in zip(x, known, strict=True) if keep]
    if xs:
        ax.errorbar(
            xs,
            ((low[known] + high[known]) / 2 * scale).to_numpy(),
            yerr=((high[known] - low[known]) / 2 * scale).to_numpy(),
            fmt="none",
            ecolor=colour,
            elinewidth=1.2,
            capsize=4,
            alpha=0.7,
        )


def _run_label(run_rows: pd.DataFrame) -> str:
    """``<start> · <source> <architecture>``, the runtime of a local run, and the execution's name (results
    files are named by time)."""
    first = run_rows.iloc[0]
    emulated = " (emulated)" if first["source"] == "local" else ""
    label = (
        f"{first['started']:%Y-%m-%d %H:%M:%S} · {first['source']}{emulated} {first['architecture'] or ''}"
    )
    if isinstance(first.get("runtime"), str):  # the runtime a local run's function ran on
        label += f" · {first['runtime']}"
    if not _RESULTS_STEM.match(str(first["run"])):
        label += f" · {first['run']}"
    return label.strip()


def _newest_runs(stats: pd.DataFrame) -> tuple[list[tuple[str, pd.DataFrame]], int]:
    """The newest ``MAX_COMPARED_RUNS`` runs, oldest first, and how many runs there are in all."""
    every_run = list(stats.sort_values("started").groupby("run", sort=False))
    return every_run[-MAX_COMPARED_RUNS:], len(every_run)


def _shown_of(shown: int, total: int) -> str:
    return f" (newest {shown} of {total} runs)" if shown < total else ""


def cost_and_duration(stats: pd.DataFrame, report_dir: str | Path) -> Figure:
    """1. Power Tuning's view of each run: average duration (left axis) and cost per invocation (right axis)
    per memory size with their 95% intervals, one panel per run. Several runs' line pairs on one pair of axes
    could not be told apart (which line is whose, and on which axis); chart 8 compares runs."""
    if stats.empty:
        raise NoDataError("No successful tuning run: nothing to plot for cost and duration per memory size.")
    runs, total = _newest_runs(stats)
    rows, cols = (1, len(runs)) if len(runs) <= 2 else (2, 2)
    fig = Figure(figsize=(_SIZE[0], _SIZE[1] * (1.6 if rows == 2 else 1)), layout="constrained")
    panels = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (_, run_rows) in zip(panels, reversed(runs), strict=False):  # newest first, top left
        run_rows = run_rows.sort_values("power")
        x = _categorical_memory(ax, [int(p) for p in run_rows["power"]])
        positions = [x[int(p)] for p in run_rows["power"]]
        cost_ax = ax.twinx()
        ax.plot(positions, run_rows["average_duration_ms"], "-o", color="tab:blue")
        _intervals(ax, positions, run_rows["duration_low_ms"], run_rows["duration_high_ms"], "tab:blue")
        cost_ax.plot(positions, run_rows["average_price_usd"] * PER_MILLION, "--^", color="tab:orange")
        cost_ax_positions = [position + 0.08 for position in positions]  # beside the duration bars
        _intervals(
            cost_ax,
            cost_ax_positions,
            run_rows["cost_low_usd"],
            run_rows["cost_high_usd"],
            "tab:orange",
            PER_MILLION,
        )
        ax.set_ylabel("average duration, ms", color="tab:blue")
        cost_ax.set_ylabel("$ per 1M invocations", color="tab:orange")
        ax.set_ylim(bottom=0)
        cost_ax.set_ylim(bottom=0)
        ax.set_title(_run_label(run_rows), fontsize="medium")
    for ax in panels[len(runs) :]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color="tab:blue", linestyle="-", marker="o", label="average duration (left axis)"),
        Line2D(
            [], [], color="tab:orange", linestyle="--", marker="^", label="cost, Lambda compute (right axis)"
        ),
        Line2D([], [], color="tab:gray", marker="|", markersize=10, linestyle="none", label="95% interval"),
    ]
    fig.legend(handles=handles, loc="outside lower center", fontsize="small", ncols=2)
    fig.suptitle(f"Cost and duration per memory size (Power Tuning's view){_shown_of(len(runs), total)}")
    return _save(fig, report_dir, "cost_and_duration")


def cost_vs_duration(run_stats: pd.DataFrame, recommendation: pd.DataFrame, report_dir: str | Path) -> Figure:
    """2. Cost against duration of one run with both 95% intervals: the Pareto front and where each strategy
    lands."""
    if run_stats.empty:
        raise NoDataError("No successful tuning run: no cost/duration trade-off to plot.")
    fig, ax = _new_figure()
    cost = run_stats["average_price_usd"] * PER_MILLION
    duration = run_stats["average_duration_ms"]
    ax.scatter(duration, cost, color="tab:gray", zorder=2, label="memory size (MB)")
    known = (
        run_stats[["duration_low_ms", "duration_high_ms", "cost_low_usd", "cost_high_usd"]]
        .notna()
        .all(axis=1)
    )
    if known.any():  # both intervals as a cross: the size could sit anywhere in it on a rerun
        shown = run_stats[known]
        ax.errorbar(
            shown["average_duration_ms"],
            shown["average_price_usd"] * PER_MILLION,
            xerr=[
                (shown["average_duration_ms"] - shown["duration_low_ms"]).clip(lower=0),
                (shown["duration_high_ms"] - shown["average_duration_ms"]).clip(lower=0),
            ],
            yerr=[
                ((shown["average_price_usd"] - shown["cost_low_usd"]) * PER_MILLION).clip(lower=0),
                ((shown["cost_high_usd"] - shown["average_price_usd"]) * PER_MILLION).clip(lower=0),
            ],
            fmt="none",
            ecolor="tab:gray",
            alpha=0.5,
            capsize=3,
            label="95% intervals",
        )
    for power, d, c in zip(run_stats["power"], duration, cost, strict=True):
        ax.annotate(f"{int(power)}", (d, c), textcoords="offset points", xytext=(11, 7), fontsize="small")
    front = run_stats[pareto_front(run_stats)].sort_values("average_duration_ms")
    ax.plot(
        front["average_duration_ms"],
        front["average_price_usd"] * PER_MILLION,
        "-",
        color="tab:blue",
        label="Pareto front",
    )
    for pick in recommendation.itertuples():
        marker, colour, size = _PICK_MARKERS[pick.strategy]
        row = run_stats[run_stats["power"] == pick.memory_mb].iloc[0]
        ax.scatter(
            row["average_duration_ms"],
            row["average_price_usd"] * PER_MILLION,
            s=size,
            marker=marker,
            facecolors="none",
            edgecolors=colour,
            linewidths=2,
            zorder=3,
            label=f"{pick.strategy} pick: {pick.memory_mb} MB",
        )
    _log_scale(ax.xaxis, ax.set_xscale)
    ax.set_xlabel("average duration, ms (log scale)")
    ax.set_ylabel("cost, $ per 1M invocations (Lambda compute only)")
    ax.legend(fontsize="small")
    ax.set_title(f"Cost against duration — {_run_label(run_stats)}")
    return _save(fig, report_dir, "cost_vs_duration")


def _source_tags(invocations: pd.DataFrame) -> dict[int, str] | None:
    """memory size → where its records come from, only when that differs between sizes."""
    sources = invocations.groupby("memory_mb")["source"].agg(lambda s: ", ".join(sorted(set(s.dropna()))))
    tags = {int(p): _SOURCE_TAGS.get(text, text) for p, text in sources.items()}
    return tags if len(set(tags.values())) > 1 else None


def _per_memory_box(
    invocations: pd.DataFrame, column: str, ylabel: str, title: str, ax: Any
) -> dict[int, pd.Series]:
    groups = {int(p): rows[column].dropna() for p, rows in invocations.groupby("memory_mb")}
    groups = {p: values for p, values in sorted(groups.items()) if not values.empty}
    x = dict(zip(groups, range(len(groups)), strict=True))
    ax.boxplot(list(groups.values()), positions=list(x.values()), widths=0.5, showfliers=False)
    _categorical_memory(ax, list(groups), _source_tags(invocations))  # after boxplot, which sets its own
    for position, values in zip(x.values(), groups.values(), strict=True):  # every invocation, as a dot
        spread = [position + 0.18 * ((i % 7) / 3 - 1) for i in range(len(values))]
        ax.scatter(spread, values, s=10, alpha=0.45, color="tab:blue", zorder=3)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return groups


def duration_distribution(invocations: pd.DataFrame, report_dir: str | Path) -> Figure:
    """3. Duration of every invocation per memory size (REPORT lines, or local invocations)."""
    if invocations.empty or invocations["duration_ms"].dropna().empty:
        raise NoDataError("No REPORT lines and no local invocation records: no duration distribution.")
    fig, ax = _new_figure()
    source = ", ".join(sorted(invocations["source"].dropna().unique()))
    groups = _per_memory_box(
        invocations, "duration_ms", "duration, ms", f"Duration per invocation by memory size — {source}", ax
    )
    _log_scale(ax.yaxis, ax.set_yscale)
    _sample_counts(ax, groups)
    return _save(fig, report_dir, "duration_distribution")


FEW_SAMPLES = 5  # below this many per size a box is not a distribution; the chart says so


def _sample_counts(ax: Any, groups: dict[int, pd.Series]) -> None:
    """``n = k`` above each size, and a warning in the title when a size rests on very few samples."""
    for i, values in enumerate(groups.values()):  # counts along the top edge, clear of the data
        ax.text(
            i, 1.01, f"n = {len(values)}", transform=ax.get_xaxis_transform(), ha="center", fontsize="small"
        )
    fewest = min((len(values) for values in groups.values()), default=0)
    warning = (
        f"\n(few samples: n = {fewest} at some size; not a distribution)" if fewest < FEW_SAMPLES else ""
    )
    ax.set_title(ax.get_title() + warning, pad=16)


def cold_start(invocations: pd.DataFrame, report_dir: str | Path) -> Figure:
    """4. Init duration of cold starts per memory size."""
    cold = invocations[invocations["init_ms"].notna()] if not invocations.empty else invocations
    if cold.empty:
        raise NoDataError("No cold start recorded (no Init Duration in any REPORT line or local record).")
    fig, ax = _new_figure()
    groups = _per_memory_box(
        cold, "init_ms", "init duration, ms", "Cold start (init duration) by memory size", ax
    )
    medians = [values.median() for values in groups.values()]
    ax.plot(range(len(medians)), medians, ":", color="tab:orange", label="median")
    ax.set_ylim(bottom=0, top=max(values.max() for values in groups.values()) * 1.15)  # room for the legend
    ax.legend(fontsize="small")
    _sample_counts(ax, groups)
    return _save(fig, report_dir, "cold_start")


def live_traffic(invocations: pd.DataFrame, report_dir: str | Path) -> Figure:
    """The function's other traffic (the ``live`` alias, ``$LATEST``, anything outside a run's window):
    duration per memory size as its own series, never drawn into a tuning run's sizes."""
    live = invocations[invocations["run"].isna()] if "run" in invocations else invocations.iloc[0:0]
    if live.empty or live["duration_ms"].dropna().empty:
        raise NoDataError("No live traffic: every REPORT line in the window belongs to a tuning run.")
    fig, ax = _new_figure()
    groups = _per_memory_box(
        live,
        "duration_ms",
        "duration, ms",
        f"{LIVE_TRAFFIC.capitalize()} (no tuning run): duration by memory size",
        ax,
    )
    cold = live.groupby("memory_mb")["cold"].sum() if "cold" in live else None
    if cold is not None and cold.any():
        ax.set_xlabel(ax.get_xlabel() + f" — {int(cold.sum())} cold start(s) included")
    _log_scale(ax.yaxis, ax.set_yscale)
    _sample_counts(ax, groups)
    return _save(fig, report_dir, "live_traffic")


def memory_headroom(invocations: pd.DataFrame, report_dir: str | Path) -> Figure:
    """5. Max memory used against the memory size: how much headroom each size leaves."""
    used = invocations.dropna(subset=["max_memory_used_mb"]) if not invocations.empty else invocations
    if used.empty:
        raise NoDataError("No Max Memory Used figures (no REPORT lines or local records): no headroom chart.")
    peak = used.groupby("memory_mb")["max_memory_used_mb"].max().sort_index()
    fig, ax = _new_figure()
    x = _categorical_memory(ax, [int(p) for p in peak.index], _source_tags(used))
    positions = list(x.values())
    ax.bar(positions, peak.index, width=0.6, color="tab:blue", alpha=0.25, label="memory size")
    ax.bar(positions, peak.values, width=0.6, color="tab:blue", label="max memory used (peak)")
    texts = [f"{top:.0f} MB ({top / size:.0%})" for size, top in zip(peak.index, peak.values, strict=True)]
    _label_bars(ax, positions, list(peak.values), texts)
    ax.set_yscale("log", base=2)
    ax.set_ylim(bottom=min(16, float(peak.min()) / 2), top=float(peak.index.max()) * 1.6)
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_ylabel("memory, MB (log scale)")
    ax.legend(fontsize="small", loc="upper left")
    ax.set_title("Memory headroom: peak Max Memory Used against memory size")
    return _save(fig, report_dir, "memory_headroom")


def request_price(costs: pd.DataFrame, mix: Mapping[str, float], report_dir: str | Path) -> Figure:
    """6. The full price of one API request stacked by component, per memory size."""
    if costs.empty:
        raise NoDataError("No successful tuning run: no per-request price to break down.")
    fig, ax = _new_figure()
    x = _categorical_memory(ax, [int(p) for p in costs["power"]])
    bottom = pd.Series(0.0, index=costs.index)
    for part in COST_PARTS:
        values = costs[part] * PER_MILLION
        ax.bar(list(x.values()), values, bottom=bottom, width=0.6, label=_PART_LABELS[part])
        bottom = bottom + values
    _label_bars(ax, list(x.values()), list(bottom), [f"${total:.2f}" for total in bottom])
    mix_text = ", ".join(f"{name} {weight}" for name, weight in mix.items())
    ax.set_ylabel("$ per 1M requests")
    ax.set_ylim(top=float(bottom.max()) * 1.1)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize="small", ncols=4)
    ax.set_title(
        f"Full price of a request by component (mix {mix_text}; {costs['prices_region'].iloc[0]} list prices)"
    )
    return _save(fig, report_dir, "request_price")


def monthly_cost(
    costs: pd.DataFrame, recommendation: pd.DataFrame, requests_per_month: int, report_dir: str | Path
) -> Figure:
    """7. The monthly bill at ``requests_per_month`` per memory size, current size and picks marked."""
    if costs.empty:
        raise NoDataError("No successful tuning run: no monthly cost to estimate.")
    fig, ax = _new_figure()
    x = _categorical_memory(ax, [int(p) for p in costs["power"]])
    current = recommendation["current_memory_mb"].iloc[0] if not recommendation.empty else None
    colours = ["tab:orange" if p == current else "tab:blue" for p in costs["power"]]
    ax.bar(list(x.values()), costs["monthly_cost"], width=0.6, color=colours)
    monthly = list(costs["monthly_cost"])
    _label_bars(ax, list(x.values()), monthly, [f"${value:,.2f}" for value in monthly])
    labels_at: dict[int, int] = {}  # memory size → picks already labelled there: stack, never overlap
    for pick in recommendation.itertuples():
        if pick.memory_mb in x:
            level = labels_at.get(pick.memory_mb, 0)
            labels_at[pick.memory_mb] = level + 1
            ax.annotate(
                pick.strategy,
                (x[pick.memory_mb], 0),
                textcoords="offset points",
                xytext=(0, 12 + 16 * level),
                ha="center",
                fontsize="small",
                color=_PICK_MARKERS[pick.strategy][1],
                weight="bold",
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "none"},
            )
    ax.set_ylabel("$ per month")
    note = f" (orange: current {current} MB)" if current in x else ""
    ax.set_title(f"Monthly cost of {requests_per_month:,} requests, all components, per memory size{note}")
    return _save(fig, report_dir, "monthly_cost")


def plan_bill(plan: Plan | None, report_dir: str | Path) -> Figure:
    """9. The monthly bill before and after the plan's applicable lines, stacked by component, totals on
    top."""
    if plan is None:
        raise NoDataError("No successful tuning run: no plan to price.")
    bill = bill_frame(plan)
    fig, ax = _new_figure()
    positions = [0, 1]
    bottom = pd.Series(0.0, index=bill.columns)
    for part, values in bill.iterrows():
        ax.bar(positions, values, bottom=bottom, width=0.5, label=_PART_LABELS[str(part)])
        bottom = bottom + values
    _label_bars(ax, positions, list(bottom), [f"${total:,.2f}" for total in bottom])
    ax.set_xticks(positions, ["now", "after the plan"])
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(top=float(bottom.max()) * 1.12)
    ax.set_ylabel("$ per month")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", fontsize="small")
    ax.set_title(f"Monthly bill at {plan.requests_per_month:,.0f} requests, before and after the plan")
    return _save(fig, report_dir, "plan_bill")


def _significant_changes(
    reference: pd.DataFrame, rows: pd.DataFrame, invocations: pd.DataFrame
) -> dict[str, set[int]]:
    """Per metric, the sizes at which ``rows``' run differs from the reference run by the permutation test
    of ``python -m tuning compare`` (p < 0.05); sizes without invocation records in both runs are never
    marked."""
    first = rows.iloc[0]
    marked: dict[str, set[int]] = {metric: set() for metric in METRICS}
    for power in set(reference["power"].astype(int)) & set(rows["power"].astype(int)):
        samples = [
            invocations[(invocations["run"] == run) & (invocations["power"] == power)]
            for run in (reference.iloc[0]["run"], first["run"])
        ]
        if any(sample.empty for sample in samples):
            continue
        for metric, column in (("duration", "duration_ms"), ("cost", "billed_ms")):
            statistic = metric_statistic(
                metric,
                power,
                discard=DEFAULT_DISCARD,  # what `python -m tuning run` always asks Power Tuning for
                architecture=first["architecture"],
                region=first["region"],
            )
            change = compare_samples(
                samples[0][column].to_numpy(dtype=float),
                samples[1][column].to_numpy(dtype=float),
                statistic,
                base_cold=samples[0]["cold"].fillna(False).to_numpy(dtype=bool),
                new_cold=samples[1]["cold"].fillna(False).to_numpy(dtype=bool),
            )
            if change["p"] < SIGNIFICANCE:
                marked[metric].add(power)
    return marked


def run_comparison(stats: pd.DataFrame, invocations: pd.DataFrame, report_dir: str | Path) -> Figure:
    """8. Run against run (e.g. arm64 against x86_64, before against after a change): duration and cost with
    their 95% intervals; ``*`` marks a size where a run differs significantly from the oldest run shown
    (``python -m tuning compare``'s permutation test on ``invocations``, p < 0.05)."""
    if stats.empty:
        raise NoDataError("No successful tuning run: no runs to compare.")
    if stats["run"].nunique() < 2:
        raise NoDataError("Only one successful tuning run: nothing to compare it with yet.")
    runs, total = _newest_runs(stats)  # more bars per size than this cannot be told apart
    fig, (duration_ax, cost_ax) = _new_figure(ncols=2)
    powers = sorted({int(p) for _, rows in runs for p in rows["power"]})
    x = _categorical_memory(duration_ax, powers)
    _categorical_memory(cost_ax, powers)
    width = 0.8 / len(runs)
    reference = runs[0][1]
    axes = {"duration": (duration_ax, "average_duration_ms", "duration_low_ms", "duration_high_ms", 1)}
    axes["cost"] = (cost_ax, "average_price_usd", "cost_low_usd", "cost_high_usd", PER_MILLION)
    for index, (_, rows) in enumerate(runs):
        offsets = [x[int(p)] - 0.4 + width * (index + 0.5) for p in rows["power"]]
        label = _run_label(rows)
        marked = _significant_changes(reference, rows, invocations) if index else {}
        for metric, (ax, average, low, high, scale) in axes.items():
            bars = ax.bar(offsets, rows[average] * scale, width=width, label=label)
            _intervals(ax, offsets, rows[low], rows[high], "black", scale)
            tops = rows[[average, high]].max(axis=1) * scale
            for offset, power, top in zip(offsets, rows["power"], tops, strict=True):
                if int(power) in marked.get(metric, ()):
                    ax.annotate(
                        "*",
                        (offset, top),
                        textcoords="offset points",
                        xytext=(0, 2),
                        ha="center",
                        fontsize="large",
                        weight="bold",
                        color=bars.patches[0].get_facecolor(),
                    )
    duration_ax.set_ylabel("average duration, ms")
    cost_ax.set_ylabel("cost, $ per 1M invocations (Lambda compute only)")
    duration_ax.set_title(f"Duration, run against run{_shown_of(len(runs), total)}")
    cost_ax.set_title("Cost, run against run")
    fig.legend(
        *duration_ax.get_legend_handles_labels(), loc="outside lower center", fontsize="small", ncols=2
    )
    fig.suptitle(
        "Error bars: 95% intervals; *: significant change against the oldest run shown (permutation test, "
        "p < 0.05)",
        fontsize="small",
    )
    return _save(fig, report_dir, "run_comparison")


def render(chart: Callable[..., Figure], *args: Any, report_dir: str | Path, **kwargs: Any) -> Any:
    """Draw one chart for the notebook: the saved PNG for inline display, or a sentence saying what's
    missing. The PNG (not the live figure) is displayed so inline image, HTML export and file are one image.
    """
    from IPython.display import Image, Markdown  # only the notebook displays (README: import costs)

    try:
        chart(*args, report_dir=report_dir, **kwargs)
    except NoDataError as missing:
        return Markdown(f"*{missing}*")
    return Image(filename=str(Path(report_dir) / f"{chart.__name__}.png"))
