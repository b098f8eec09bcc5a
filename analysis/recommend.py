"""From a tuning run to a decision: the full price per memory size, the Pareto front, and per strategy the
memory to set, what it saves a month, and the Pulumi command that applies it (Pulumi stays the source of
truth: Power Tuning's autoOptimize would change the function behind its back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.frames import PICK_COLUMNS
from analysis.sources import notes_html, readable_html
from api.events import api_type_of
from tuning.engine.pricing import PRICES, request_cost_breakdown
from tuning.pulumi_stack import pulumi_command

RECOMMENDATION_COLUMNS = [
    "strategy",
    "memory_mb",
    "current_memory_mb",
    "duration_ms",
    "current_duration_ms",
    "cost_per_invocation",
    "monthly_cost",
    "current_monthly_cost",
    "monthly_saving",
    "command",
]
COST_PARTS = ("lambda_compute", "lambda_request", "api_gateway", "dynamodb")
FALLBACK_PRICE_REGION = "us-east-1"


def succeeded_stats(stats: pd.DataFrame) -> pd.DataFrame:
    """Only the rows of runs that measured something (failed and running runs carry no power)."""
    if stats.empty:
        return stats
    return stats[(stats["status"] == "succeeded") & stats["power"].notna()]


def latest_run(stats: pd.DataFrame) -> pd.DataFrame:
    """The per-power rows of the most recently started successful run, sorted by power; empty if none."""
    measured = succeeded_stats(stats)
    if measured.empty:
        return measured
    newest = measured.sort_values("started").iloc[-1]["run"]
    return measured[measured["run"] == newest].sort_values("power", ignore_index=True)


def pareto_front(run_stats: pd.DataFrame) -> pd.Series:
    """True for each power no other power beats on both cost and duration (the only sensible choices)."""
    cost = run_stats["average_price_usd"].to_numpy()
    duration = run_stats["average_duration_ms"].to_numpy()
    dominated = [
        any(
            cost[j] <= cost[i]
            and duration[j] <= duration[i]
            and (cost[j] < cost[i] or duration[j] < duration[i])
            for j in range(len(cost))
        )
        for i in range(len(cost))
    ]
    return pd.Series([not d for d in dominated], index=run_stats.index, name="pareto")


def run_api_type(run_stats: pd.DataFrame, outputs: Mapping[str, Any]) -> str:
    """The front door a run was priced for: its results file's, else (a Power Tuning execution read from
    the stack) the stack outputs' (``api_type_of``: REST when they do not say)."""
    recorded = run_stats.iloc[0]["api_type"]
    return recorded if isinstance(recorded, str) else api_type_of(outputs)


def price_region(region: str | None) -> str:
    """The region whose list prices apply; regions missing from the dated table fall back to us-east-1."""
    return region if region in PRICES else FALLBACK_PRICE_REGION


def cost_table(
    run_stats: pd.DataFrame,
    *,
    mix: Mapping[str, float],
    requests_per_month: int,
    architecture: str,
    region: str | None,
    api_type: str,
) -> pd.DataFrame:
    """Per power: the full USD price of one request by component, its total, and the monthly bill.

    Duration is the run's trimmed average (what Power Tuning prices); the other components come from the
    operation ``mix``, which Power Tuning leaves out, and the front door ``api_type`` (its first tier).
    """
    prices_in = price_region(region)
    rows = []
    for _, row in run_stats.iterrows():
        parts = request_cost_breakdown(
            row["average_duration_ms"],
            row["power"],
            architecture=architecture,
            region=prices_in,
            operation=mix,
            api_type=api_type,
        )
        rows.append({"power": int(row["power"]), "average_duration_ms": row["average_duration_ms"], **parts})
    table = pd.DataFrame(rows, columns=["power", "average_duration_ms", *COST_PARTS, "total"])
    table["monthly_cost"] = table["total"] * requests_per_month
    table["prices_region"] = prices_in
    return table


def recommend(
    run_stats: pd.DataFrame,
    costs: pd.DataFrame,
    *,
    current_memory: int | None,
    stack: str | None,
) -> pd.DataFrame:
    """One row per strategy the run picked for (``*_pick`` columns: the record's picks): the chosen memory
    against the current one, monthly cost and saving, the command.

    The saving is NaN when the current memory was not among the run's power values (nothing to compare with).
    """
    if run_stats.empty:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    monthly = dict(zip(costs["power"], costs["monthly_cost"], strict=True))
    durations = dict(zip(costs["power"], costs["average_duration_ms"], strict=True))
    rows = []
    for strategy, column in PICK_COLUMNS.items():
        picked = run_stats[run_stats[column].fillna(False).astype(bool)]
        if picked.empty:
            continue
        optimum = picked.iloc[0]
        chosen = int(optimum["power"])
        current_cost = monthly.get(current_memory, float("nan"))
        rows.append(
            {
                "strategy": strategy,
                "memory_mb": chosen,
                "current_memory_mb": current_memory,
                "duration_ms": optimum["average_duration_ms"],
                "current_duration_ms": durations.get(current_memory, float("nan")),
                "cost_per_invocation": optimum["average_price_usd"],
                "monthly_cost": monthly[chosen],
                "current_monthly_cost": current_cost,
                "monthly_saving": current_cost - monthly[chosen],
                "command": pulumi_command(chosen, stack)
                if chosen != current_memory
                else "(keep the current size)",
            }
        )
    return pd.DataFrame(rows, columns=RECOMMENDATION_COLUMNS)


def describe(recommendation: pd.DataFrame, requests_per_month: int) -> list[str]:
    """One plain sentence per strategy, for readers who skip the table."""
    sentences = []
    for r in recommendation.itertuples():
        head = f"{r.strategy}: {r.memory_mb} MB ({r.duration_ms:.1f} ms)"
        if r.memory_mb == r.current_memory_mb:
            sentences.append(f"{head} is the current memory size: nothing to change.")
            continue
        unknown = pd.isna(r.current_memory_mb)
        now = "current size unknown" if unknown else f"now {int(r.current_memory_mb)} MB"
        if unknown:
            money = "no saving can be computed without the stack's memory size"
        elif pd.isna(r.monthly_saving):
            money = "the current size was not measured in this run, so no saving can be computed"
        else:
            verb = "saves" if r.monthly_saving >= 0 else "costs"
            money = f"{verb} ${abs(r.monthly_saving):,.2f} a month at {requests_per_month:,} requests"
        sentences.append(f"{head}, {now}: {money}. Apply: `{r.command}` then `pulumi up`.")
    return sentences


def picks_view(picks: pd.DataFrame) -> pd.DataFrame:
    """The recommendation for reading: rounded, prices per million invocations, dollars per month."""
    view = picks.set_index("strategy")
    return pd.DataFrame(
        {
            "memory MB": view["memory_mb"],
            "current MB": view["current_memory_mb"],
            "duration ms": view["duration_ms"].round(1),
            "current ms": view["current_duration_ms"].round(1),
            "Power Tuning $/1M invocations": (view["cost_per_invocation"] * 1e6).round(4),
            "monthly $": view["monthly_cost"].round(2),
            "current monthly $": view["current_monthly_cost"].round(2),
            "saving $/month": view["monthly_saving"].round(2),
            "command": view["command"],
        }
    )


def costs_view(costs: pd.DataFrame) -> pd.DataFrame:
    """The full price per memory size for reading: each component in $ per 1M requests, and per month."""
    if costs.empty:
        return costs
    view = costs.set_index("power").rename_axis("memory MB")
    per_million = (view[[*COST_PARTS, "total"]] * 1e6).round(4).add_suffix(" $/1M")
    return pd.concat(
        [
            view["average_duration_ms"].round(1).rename("duration ms"),
            per_million,
            view["monthly_cost"].round(2).rename("monthly $"),
        ],
        axis=1,
    )


@dataclass
class Decision:
    """The run the decision rests on, its price per memory size, the per-strategy picks, and in words."""

    run: pd.DataFrame
    costs: pd.DataFrame
    picks: pd.DataFrame
    sentences: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return notes_html(self.sentences) + (
            "" if self.picks.empty else readable_html(picks_view(self.picks))
        )


def decide(
    runs: pd.DataFrame,
    *,
    outputs: Mapping[str, Any],
    stack: str | None,
    mix: Mapping[str, float],
    requests_per_month: int,
) -> Decision:
    """Recommend from the newest successful run, priced for its architecture and region."""
    run = latest_run(runs)
    if run.empty:
        empty = pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
        return Decision(run, pd.DataFrame(), empty, ["No successful tuning run yet: nothing to recommend."])
    first = run.iloc[0]
    architecture = (
        first["architecture"] if isinstance(first["architecture"], str) else outputs["architecture"]
    )
    region = first["region"] if isinstance(first["region"], str) else outputs.get("region")
    costs = cost_table(
        run,
        mix=mix,
        requests_per_month=requests_per_month,
        architecture=architecture,
        region=region,
        api_type=run_api_type(run, outputs),
    )
    picks = recommend(run, costs, current_memory=outputs.get("memory_size"), stack=stack)
    started = f"{first['started']:%Y-%m-%d %H:%M} UTC"
    head = f"From run `{first['run']}` ({first['source']}, {architecture}, {started})"
    if price_region(region) != region:
        head += f"; priced with {price_region(region)} list prices (none in the table for {region})"
    return Decision(run, costs, picks, [head + ":", *describe(picks, requests_per_month)])
