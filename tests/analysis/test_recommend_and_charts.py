"""Recommendation arithmetic against hand-computed list prices, and the charts' behaviour without data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.display import Image, Markdown

from analysis import charts, recommend
from analysis.frames import pick_flags
from tuning.record import picks_of


def _run(
    points: dict[int, tuple[float, float]],
    run: str = "r1",
    started: str = "2026-11-27T10:00Z",
    intervals: dict[int, tuple[float, float, float, float]] | None = None,
) -> pd.DataFrame:
    """Per-power rows of one successful run: power → (duration ms, price $), and optionally power →
    (duration low, high ms, cost low, high $) as the results file's confidence gives them (else NaN)."""
    nothing = (math.nan,) * 4
    # the record's picks, as the results file carries them (the engine's rules, weight 0.5)
    picks = picks_of(
        [{"value": p, "averageDuration": d, "averagePrice": c} for p, (d, c) in points.items()], 0.5
    )
    return pd.DataFrame(
        [
            {
                "run": run,
                "source": "aws",
                "status": "succeeded",
                "started": pd.Timestamp(started),
                "architecture": "x86_64",
                "region": "us-east-1",
                "api_type": "rest",
                "balanced_weight": 0.5,
                "power": power,
                "average_duration_ms": duration,
                "average_price_usd": price,
                **pick_flags(picks, power),
                **dict(
                    zip(
                        ["duration_low_ms", "duration_high_ms", "cost_low_usd", "cost_high_usd"],
                        (intervals or {}).get(power, nothing),
                        strict=True,
                    )
                ),
            }
            for power, (duration, price) in points.items()
        ]
    )


def test_pareto_front_drops_dominated_sizes() -> None:
    run = _run({128: (10.0, 1.0), 256: (5.0, 2.0), 512: (6.0, 3.0), 1024: (12.0, 1.0)})
    # 512 is slower and dearer than 256; 1024 is as cheap as 128 but slower
    assert run.loc[recommend.pareto_front(run), "power"].tolist() == [128, 256]


def test_latest_run_skips_failed_and_older_runs() -> None:
    older = _run({128: (10.0, 1.0)}, run="old", started="2026-11-26T10:00Z")
    newer = _run({128: (9.0, 1.0), 256: (4.0, 1.5)}, run="new", started="2026-11-27T10:00Z")
    failed = pd.DataFrame(
        [{"run": "broken", "status": "failed", "started": pd.Timestamp("2026-11-28T10:00Z")}]
    )
    latest = recommend.latest_run(pd.concat([older, newer, failed], ignore_index=True))
    assert latest["run"].unique().tolist() == ["new"]
    assert latest["power"].tolist() == [128, 256]


def test_cost_table_against_list_prices() -> None:
    run = _run({1024: (100.0, 0.0), 128: (800.0, 0.0)})
    costs = recommend.cost_table(
        run,
        mix={"get": 1},
        requests_per_month=1_000_000,
        architecture="x86_64",
        region="us-east-1",
        api_type="rest",
    )
    row = costs.set_index("power").loc[1024]
    # 0.1 s × 1 GB × $0.0000166667; $0.20 and $3.50 per million; a get = ½ read unit at $0.125 per million
    assert row["lambda_compute"] == pytest.approx(0.1 * 0.0000166667)
    assert row["lambda_request"] == pytest.approx(0.20e-6)
    assert row["api_gateway"] == pytest.approx(3.50e-6)
    assert row["dynamodb"] == pytest.approx(0.5 * 0.125e-6)
    assert row["monthly_cost"] == pytest.approx(1e6 * (0.1 * 0.0000166667 + 0.2e-6 + 3.5e-6 + 0.0625e-6))
    # 128 MB for 800 ms is the same GB-s as 1024 MB for 100 ms
    assert costs.set_index("power").loc[128, "total"] == pytest.approx(row["total"])
    readable = recommend.costs_view(costs).loc[1024]  # $ per million requests, as the notebook shows it
    assert readable["api_gateway $/1M"] == pytest.approx(3.5)
    assert readable["lambda_compute $/1M"] == pytest.approx(1.6667, abs=1e-4)


def test_a_run_behind_an_http_api_is_priced_at_its_request_fee() -> None:
    run = _run({128: (10.0, 1e-7)})
    run["api_type"] = "http"
    decision = recommend.decide(
        run, outputs={"memory_size": 128}, stack=None, mix={"get": 1}, requests_per_month=1_000_000
    )
    # HTTP API's first tier: $1.00 per million (REST: $3.50)
    assert decision.costs.loc[0, "api_gateway"] == pytest.approx(1.00e-6)


def test_an_execution_without_a_results_file_is_priced_for_the_stacks_front_door() -> None:
    run = _run({128: (10.0, 1e-7)})
    run["api_type"] = math.nan  # a Power Tuning execution read from the state machine: no metadata
    http = recommend.decide(
        run, outputs={"api_type": "http"}, stack=None, mix={"get": 1}, requests_per_month=1
    )
    rest = recommend.decide(run, outputs={}, stack=None, mix={"get": 1}, requests_per_month=1)
    assert http.costs.loc[0, "api_gateway"] == pytest.approx(1.00e-6)
    assert rest.costs.loc[0, "api_gateway"] == pytest.approx(3.50e-6)


def test_unknown_price_region_falls_back_and_says_so() -> None:
    run = _run({128: (10.0, 1e-7), 256: (6.0, 2e-7)})
    run["region"] = "xx-nowhere-1"
    decision = recommend.decide(
        run,
        outputs={"architecture": "x86_64", "memory_size": 256},
        stack=None,
        mix={"get": 1},
        requests_per_month=1,
    )
    assert set(decision.costs["prices_region"]) == {"us-east-1"}
    assert "us-east-1 list prices" in decision.sentences[0]


def test_recommendation_against_current_memory() -> None:
    run = _run({128: (400.0, 1.0e-6), 512: (120.0, 1.1e-6), 1024: (60.0, 1.3e-6)})
    costs = recommend.cost_table(
        run,
        mix={"get": 1},
        requests_per_month=10,
        architecture="x86_64",
        region="us-east-1",
        api_type="rest",
    )
    picks = recommend.recommend(run, costs, current_memory=512, stack="prod").set_index("strategy")
    assert picks.loc["cost", "memory_mb"] == 128
    assert picks.loc["speed", "memory_mb"] == 1024
    assert picks.loc["cost", "command"] == "pulumi config set memorySize 128 -s prod"
    monthly = costs.set_index("power")["monthly_cost"]
    # 512 MB × 120 ms is 60 MB·s against 128 MB × 400 ms = 50 MB·s: moving to 128 MB saves
    assert monthly[512] > monthly[128]
    assert picks.loc["cost", "monthly_saving"] == pytest.approx(monthly[512] - monthly[128])
    # balanced: 128 → ½·1/1.3 + ½·1 = 0.885; 512 → ½·1.1/1.3 + ½·0.3 = 0.573; 1024 → ½ + ½·0.15 = 0.575
    assert picks.loc["balanced", "memory_mb"] == 512
    assert picks.loc["balanced", "command"] == "(keep the current size)"
    sentences = recommend.describe(picks.reset_index(), 10)
    assert any(s.startswith("balanced: 512 MB") and "nothing to change" in s for s in sentences)


def test_saving_unknown_when_current_memory_was_not_measured() -> None:
    run = _run({128: (400.0, 1.0e-6), 512: (100.0, 1.1e-6)})
    costs = recommend.cost_table(
        run,
        mix={"get": 1},
        requests_per_month=10,
        architecture="x86_64",
        region="us-east-1",
        api_type="rest",
    )
    picks = recommend.recommend(run, costs, current_memory=2048, stack=None)
    assert picks["monthly_saving"].isna().all()
    assert picks.loc[0, "command"] == "pulumi config set memorySize 128"
    assert "was not measured" in recommend.describe(picks, 10)[0]


def test_no_run_no_recommendation() -> None:
    decision = recommend.decide(
        pd.DataFrame(columns=["run", "status", "power", "started"]),
        outputs={"architecture": "x86_64", "memory_size": 256},
        stack="prod",
        mix={"get": 1},
        requests_per_month=1,
    )
    assert decision.picks.empty
    assert decision.sentences == ["No successful tuning run yet: nothing to recommend."]


EMPTY_STATS = pd.DataFrame(columns=["run", "power", "average_duration_ms", "average_price_usd", "started"])
EMPTY_INVOCATIONS = pd.DataFrame(
    columns=["source", "memory_mb", "duration_ms", "init_ms", "max_memory_used_mb"]
)


@pytest.mark.parametrize(
    ("chart", "args", "sentence"),
    [
        (charts.cost_and_duration, (EMPTY_STATS,), "No successful tuning run"),
        (charts.cost_vs_duration, (EMPTY_STATS, pd.DataFrame()), "No successful tuning run"),
        (charts.duration_distribution, (EMPTY_INVOCATIONS,), "No REPORT lines"),
        (charts.cold_start, (EMPTY_INVOCATIONS,), "No cold start"),
        (charts.memory_headroom, (EMPTY_INVOCATIONS,), "No Max Memory Used"),
        (charts.request_price, (pd.DataFrame(), {"get": 1}), "no per-request price"),
        (charts.monthly_cost, (pd.DataFrame(), pd.DataFrame(), 1), "no monthly cost"),
        (charts.run_comparison, (EMPTY_STATS, pd.DataFrame()), "No successful tuning run"),
    ],
)
def test_charts_without_data_say_why_and_write_nothing(chart, args, sentence: str, tmp_path: Path) -> None:
    with pytest.raises(charts.NoDataError, match=sentence):
        chart(*args, report_dir=tmp_path)
    shown = charts.render(chart, *args, report_dir=tmp_path)
    assert isinstance(shown, Markdown)
    assert sentence in shown.data
    assert list(tmp_path.iterdir()) == []


def test_one_run_is_not_a_comparison_but_is_a_chart(tmp_path: Path) -> None:
    run = _run({128: (400.0, 1.0e-6), 512: (100.0, 1.1e-6)})
    with pytest.raises(charts.NoDataError, match="Only one successful tuning run"):
        charts.run_comparison(run, pd.DataFrame(), report_dir=tmp_path)
    shown = charts.render(charts.cost_and_duration, run, report_dir=tmp_path)
    assert isinstance(shown, Image)
    assert (tmp_path / "cost_and_duration.png").stat().st_size > 10_000


def test_cold_start_ignores_warm_invocations(tmp_path: Path) -> None:
    invocations = pd.DataFrame(
        {
            "source": ["REPORT lines"] * 3,
            "memory_mb": [128, 128, 256],
            "duration_ms": [5.0, 6.0, 7.0],
            "init_ms": [300.0, math.nan, math.nan],
            "max_memory_used_mb": [70, 71, 72],
        }
    )
    figure = charts.cold_start(invocations, report_dir=tmp_path)
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["128"]
    # one cold start is a point, not a distribution: the chart says so
    assert "n = 1" in [text.get_text() for text in figure.axes[0].texts]
    assert "few samples: n = 1" in figure.axes[0].get_title()


def test_enough_samples_carry_no_warning(tmp_path: Path) -> None:
    invocations = pd.DataFrame(
        {
            "source": ["REPORT lines"] * 6,
            "memory_mb": [128] * 6,
            "duration_ms": [5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
            "init_ms": [math.nan] * 6,
            "max_memory_used_mb": [70] * 6,
        }
    )
    figure = charts.duration_distribution(invocations, report_dir=tmp_path)
    assert "n = 6" in [text.get_text() for text in figure.axes[0].texts]
    assert "few samples" not in figure.axes[0].get_title()


def test_power_tuning_view_gives_each_run_its_own_panel(tmp_path: Path) -> None:
    """Line pairs of several runs on one pair of axes cannot be told apart: one panel per run, newest 4."""
    runs = pd.concat(
        [
            _run(
                {128: (40.0 + day, 1e-6), 512: (10.0, 2e-6)},
                run=f"run-{day}",
                started=f"2026-11-2{day}T10:00Z",
            )
            for day in range(1, 7)
        ],
        ignore_index=True,
    )
    figure = charts.cost_and_duration(runs, report_dir=tmp_path)
    titled = [ax.get_title() for ax in figure.axes if ax.get_visible() and ax.get_title()]
    assert titled == [f"2026-11-2{day} 10:00:00 · aws x86_64 · run-{day}" for day in (6, 5, 4, 3)]
    assert "newest 4 of 6 runs" in figure.get_suptitle()
    first = next(ax for ax in figure.axes if ax.get_title().endswith("run-6"))
    assert [line.get_ydata().tolist() for line in first.get_lines()] == [[46.0, 10.0]]  # its own run only

    figure = charts.cost_and_duration(runs[runs["run"] == "run-2"], report_dir=tmp_path)
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == [
        "2026-11-22 10:00:00 · aws x86_64 · run-2"
    ]
    assert "newest" not in figure.get_suptitle()


def test_a_local_runs_title_names_the_runtime_it_ran_on(tmp_path: Path) -> None:
    run = _run({128: (40.0, 1e-6), 512: (10.0, 2e-6)}).assign(
        source="local", runtime="python3.13 · awslambdaric 4.2.2"
    )
    figure = charts.cost_and_duration(run, report_dir=tmp_path)
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == [
        "2026-11-27 10:00:00 · local (emulated) x86_64 · python3.13 · awslambdaric 4.2.2 · r1"
    ]


def test_monthly_cost_labels_each_pick_on_its_bar_stacked_only_where_picks_share_a_size(
    tmp_path: Path,
) -> None:
    costs = pd.DataFrame({"power": [128, 256, 512], "monthly_cost": [40.0, 39.0, 41.0]})
    picks = pd.DataFrame(
        {
            "strategy": ["cost", "speed", "balanced"],
            "memory_mb": [256, 512, 512],
            "current_memory_mb": [None] * 3,
        }
    )
    figure = charts.monthly_cost(costs, picks, 1_000_000, report_dir=tmp_path)
    labels = {
        text.get_text(): (text.xy[0], text.xyann[1])
        for text in figure.axes[0].texts
        if text.get_text() in ("cost", "speed", "balanced")
    }
    assert labels == {"cost": (1, 12), "speed": (2, 12), "balanced": (2, 28)}


def _bars(ax) -> list[list[tuple[float, float, float]]]:
    """Each error-bar container of an axis as [(x, low, high)] of its vertical bars."""
    found = []
    for container in ax.containers:
        if hasattr(container, "has_yerr") and container.has_yerr:
            segments = container.lines[2][-1].get_segments()
            found.append([(float(s[0][0]), float(s[0][1]), float(s[1][1])) for s in segments])
    return found


def test_cost_and_duration_draw_each_sizes_interval_from_low_to_high(tmp_path: Path) -> None:
    run = _run(
        {128: (40.0, 1.0e-6), 512: (10.0, 2.0e-6)},
        intervals={128: (35.0, 47.0, 0.9e-6, 1.2e-6)},  # 512 MB has none (no per-invocation data)
    )
    figure = charts.cost_and_duration(run, report_dir=tmp_path)
    duration_ax, cost_ax = (ax for ax in figure.axes if ax.get_visible())
    assert _bars(duration_ax) == [[(0.0, 35.0, 47.0)]]
    [[(x, low, high)]] = _bars(cost_ax)  # $ per 1M invocations, drawn just beside the duration bar
    assert (x, low, high) == (pytest.approx(0.08), pytest.approx(0.9), pytest.approx(1.2))

    figure = charts.cost_vs_duration(
        run, pd.DataFrame(columns=["strategy", "memory_mb"]), report_dir=tmp_path
    )
    [container] = [c for c in figure.axes[0].containers if hasattr(c, "has_yerr")]
    horizontal, vertical = container.lines[2]  # xerr's bars first
    assert [s.tolist() for s in horizontal.get_segments()] == [[[35.0, 1.0], [47.0, 1.0]]]
    assert [s.tolist() for s in vertical.get_segments()] == [[[40.0, 0.9], [40.0, 1.2]]]


def test_run_comparison_marks_only_the_size_that_changed(tmp_path: Path) -> None:
    """The newer run is 20% slower at 128 MB (seeded draws, 20 each) and measured the very same invocations
    at 512 MB: a star over its 128 MB bar in both panels (cost follows billed ms), none at 512 MB."""
    rng = np.random.default_rng(11)
    same = rng.normal(50.0, 2.5, 20)
    draws = {
        ("old", 128): rng.normal(100.0, 5.0, 20),
        ("old", 512): same,
        ("new", 128): rng.normal(120.0, 6.0, 20),
        ("new", 512): same,
    }
    records = [
        {"run": run, "power": power, "duration_ms": d, "billed_ms": math.ceil(d), "cold": False}
        for (run, power), durations in draws.items()
        for d in durations
    ]
    invocations = pd.DataFrame(records)
    stats = pd.concat(
        [
            _run({128: (100.0, 2e-7), 512: (50.0, 4e-7)}, run="old", started="2026-11-20T10:00Z"),
            _run({128: (120.0, 2.4e-7), 512: (50.0, 4e-7)}, run="new", started="2026-11-21T10:00Z"),
        ],
        ignore_index=True,
    )
    figure = charts.run_comparison(stats, invocations, report_dir=tmp_path)
    duration_ax, cost_ax = figure.axes
    # two runs share each size's 0.8 slot: the newer run's bar at 128 MB (x = 0) sits at 0 − 0.4 + 0.4·1.5
    for ax in (duration_ax, cost_ax):
        assert [(text.get_text(), text.xy[0]) for text in ax.texts] == [("*", pytest.approx(0.2))]
    assert "significant change" in figure.get_suptitle()


def test_live_traffic_is_its_own_chart_never_a_runs_sizes(tmp_path: Path) -> None:
    invocations = pd.DataFrame(
        {
            "source": ["local runs (emulated)"] * 2 + ["live traffic"] * 3,
            "memory_mb": [128, 128, 1024, 1024, 1024],
            "duration_ms": [50.0, 52.0, 9.0, 11.0, 400.0],
            "init_ms": [math.nan, math.nan, math.nan, math.nan, 386.0],
            "max_memory_used_mb": [70] * 5,
            "cold": [False, False, False, False, True],
            "run": ["r1", "r1", None, None, None],
        }
    )
    figure = charts.live_traffic(invocations, report_dir=tmp_path)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["1024"]  # the run's 128 MB is not here
    assert "n = 3" in [text.get_text() for text in axes.texts]
    assert "Live traffic" in axes.get_title()
    assert "1 cold start(s)" in axes.get_xlabel()
    assert (tmp_path / "live_traffic.png").exists()
    with pytest.raises(charts.NoDataError, match="No live traffic"):
        charts.live_traffic(invocations[invocations["run"].notna()], report_dir=tmp_path)
