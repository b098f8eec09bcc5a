"""The report's plan: every stack setting that moves the monthly bill, priced for the run the recommendation
rests on (``tuning.engine.plan``), with the stack's settings as they are and the run's measured traffic.

The plan prints `pulumi config set` commands; nothing here applies them. ``python -m tuning run --target aws
--apply`` stays memory-only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.frames import TRAFFIC_COLUMNS
from analysis.recommend import price_region
from analysis.sources import notes_html, readable_html
from settings.stack_files import read_stack_settings
from settings.stack_settings import Settings
from tuning.engine import pricing
from tuning.engine.plan import (
    BILL_COMPONENTS,
    HTTP_API_LOSES,
    Plan,
    PlanLine,
    SizeDuration,
    StackChoices,
    Workload,
    best_lines,
    config_value,
    make_plan,
)

PLAN_COLUMNS = {  # PlanLine field → the table's column
    "setting": "setting",
    "current": "current",
    "value": "proposed",
    "monthly_saving_usd": "saving $/month",
    "saving_low_usd": "95 % low $/month",
    "saving_high_usd": "95 % high $/month",
    "trade_offs": "trade-offs",
    "command": "command",
}
# What a REST API costs against an HTTP API, besides its price (README "Choosing the front door").
REST_API_LOSES = (
    "JWT authorizers of its own (a Lambda or Cognito authorizer instead)",
    "automatic stage deployment (a deployment is re-made on each change)",
)
TRADE_OFF_CHARACTERS = 100  # the demo's printout: a line a terminal shows whole
_ASIDE = re.compile(r" \([^)]*\)")


@dataclass
class PricedPlan:
    """The plan of the report's run (None without one) and what the reader should know about its inputs."""

    plan: Plan | None
    notes: list[str] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return notes_html(self.notes) + ("" if self.plan is None else readable_html(plan_view(self.plan)))

    def summary(self) -> dict[str, Any]:
        """summary.json's ``plan`` (the lines, best saving first) and ``bill`` (USD a month by component,
        before and after the plan's applicable lines)."""
        if self.plan is None:
            return {"plan": [], "bill": None}
        return {
            "plan": self.plan.to_json(),
            "bill": {
                "before": dict(self.plan.bill_before),
                "after": dict(self.plan.bill_after),
                "requestsPerMonth": self.plan.requests_per_month,
            },
        }


def current_choices(settings: Settings, outputs: Mapping[str, Any]) -> StackChoices:
    """The stack's choices as deployed: the outputs' facts where they carry them (what runs now), the stack's
    settings for the rest (what `pulumi up` deployed from)."""
    return StackChoices(
        api_type=outputs.get("api_type") or settings.api_type,
        auth_mode=outputs.get("auth_mode") or settings.auth_mode,
        memory_size=int(outputs.get("memory_size") or settings.memory_size),
        architecture=outputs.get("architecture") or settings.architecture,
        tracing=settings.tracing,
        log_retention_days=settings.log_retention_days,
    )


def _known(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def size_durations(run: pd.DataFrame) -> list[SizeDuration]:
    """Each measured size's trimmed mean with its 95 % interval (None where the run has no interval)."""
    return [
        SizeDuration(
            int(row.power),
            float(row.average_duration_ms),
            _known(row.duration_low_ms),
            _known(row.duration_high_ms),
        )
        for row in run.itertuples()
    ]


def cost_pick(run: pd.DataFrame) -> int | None:
    """The size the run's cost strategy picked (the record's pick)."""
    picked = run[run["cost_pick"].fillna(False).astype(bool)]
    return None if picked.empty else int(picked.iloc[0]["power"])


def workload(
    run: pd.DataFrame, mix: Mapping[str, float], requests_per_month: int, region: str | None
) -> tuple[Workload, list[str]]:
    """The traffic the plan is priced for: the run's measured bytes per request, or none with a note."""
    first = run.iloc[0]
    sizes = {column: _known(first[column]) for column in TRAFFIC_COLUMNS}
    base = Workload(requests_per_month=requests_per_month, mix=dict(mix), region=price_region(region))
    if None in sizes.values():
        return base, [
            f"Run `{first['run']}` measured no request, response or log sizes: the plan assumes one metered "
            "HTTP API unit per request and no log bytes, so CloudWatch Logs are priced at $0 and "
            "`logRetentionDays` saves nothing here."
        ]
    return Workload(requests_per_month, dict(mix), price_region(region), **sizes), []


def price_plan(
    run: pd.DataFrame,
    *,
    outputs: Mapping[str, Any],
    stack: str | None,
    mix: Mapping[str, float],
    requests_per_month: int,
) -> PricedPlan:
    """The plan for ``run`` (the recommendation's: ``Decision.run``) and the stack ``stack``'s settings
    (``read_stack_settings``; without a stack Pulumi.yaml's defaults), the outputs' facts over them."""
    if run.empty:
        return PricedPlan(None, ["No successful tuning run yet: nothing to plan."])
    config = read_stack_settings(stack)
    choices = current_choices(config.settings, outputs)
    region = run.iloc[0]["region"] if isinstance(run.iloc[0]["region"], str) else outputs.get("region")
    load, notes = workload(run, mix, requests_per_month, region)
    plan = make_plan(choices, size_durations(run), cost_pick(run), load, stack)
    head = (
        f"Settings from {config.source}"
        + (", deployed facts (front door, memory, architecture) from the stack outputs" if outputs else "")
        + f"; {load.region} list prices as of {pricing.PRICES_AS_OF}, at {requests_per_month:,} requests a "
        "month. The plan prints commands; it never applies them."
    )
    return PricedPlan(plan, [head, *plan.notes, *notes])


def plan_view(plan: Plan) -> pd.DataFrame:
    """The plan for reading: one row per setting, money in cents, empty cells where nothing is known."""
    rows = [{column: getattr(line, name) for name, column in PLAN_COLUMNS.items()} for line in plan.lines]
    view = pd.DataFrame(rows, columns=list(PLAN_COLUMNS.values())).set_index("setting")
    money = [PLAN_COLUMNS[name] for name in ("monthly_saving_usd", "saving_low_usd", "saving_high_usd")]
    view[money] = view[money].astype(float).round(2)
    return view


def bill_frame(plan: Plan) -> pd.DataFrame:
    """USD a month by component (rows ``BILL_COMPONENTS``), before and after the plan (columns)."""
    return pd.DataFrame(
        {
            "before": [plan.bill_before[part] for part in BILL_COMPONENTS],
            "after": [plan.bill_after[part] for part in BILL_COMPONENTS],
        },
        index=list(BILL_COMPONENTS),
    )


def read_plan(summary_path: str | Path) -> tuple[PlanLine, ...]:
    """The plan a report wrote into its summary.json, best saving first."""
    document = json.loads(Path(summary_path).read_text(encoding="utf-8"))
    return tuple(PlanLine.from_json(line) for line in document["plan"])


def _money(value: float) -> str:
    return f"{'−' if value < 0 else ''}${abs(value):,.2f}"


def _shortened(trade_offs: str) -> str:
    """As many whole clauses as fit a terminal line, asides in parentheses left out: the report has all."""
    clauses = [_ASIDE.sub("", clause) for clause in trade_offs.split("; ")]
    kept = clauses[:1]
    for clause in clauses[1:]:
        if len("; ".join([*kept, clause, "…"])) > TRADE_OFF_CHARACTERS:
            break
        kept.append(clause)
    text = "; ".join(kept) + ("; …" if len(kept) < len(clauses) else "")
    if len(text) <= TRADE_OFF_CHARACTERS:
        return text
    return text[: TRADE_OFF_CHARACTERS - 1].rsplit(" ", 1)[0] + " …"


def line_text(line: PlanLine) -> list[str]:
    """One line of the plan for a terminal: setting, current → proposed, the saving (with its 95 % interval
    where the durations give it one), the trade-offs shortened, the command."""
    saving = f"saves {_money(line.monthly_saving_usd or 0.0)} a month"
    low, high = line.saving_low_usd, line.saving_high_usd
    if low is not None and high is not None and low != high:
        saving += f" (95 % interval {_money(low)} … {_money(high)})"
    return [
        f"{line.setting}: {config_value(line.current)} → {config_value(line.value)}, {saving}",
        f"    {_shortened(line.trade_offs)}",
        f"    $ {line.command}",
    ]


def top_lines_text(lines: Sequence[PlanLine], count: int = 3) -> list[str]:
    """The ``count`` best lines a stack can apply, as ``line_text`` prints them."""
    return [text for line in best_lines(lines, count) for text in line_text(line)]


def _tiers_text(tiers: pricing.Tiers) -> str:
    parts, below = [], 0.0
    for bound, price in tiers:
        per_million = _money(price * 1e6)
        if math.isinf(bound):
            parts.append(f"{per_million} above {below / 1e6:,.0f} M" if below else per_million)
        else:
            parts.append(f"{per_million} up to {bound / 1e6:,.0f} M")
        below = bound
    return " · ".join(parts)


def front_door_table(region: str = "us-east-1") -> str:
    """The README's price table of the two front doors (Markdown): the request fee per million by monthly
    volume, what one metered request is, and what each door loses against the other."""
    prices = pricing.region_prices(region)
    unit_kb = pricing.HTTP_API_METERING_BYTES // 1024
    rows = [
        ("`rest`", prices.api_gateway_rest_tiers, "one request, whatever its size", REST_API_LOSES),
        (
            "`http`",
            prices.api_gateway_http_tiers,
            f"each started {unit_kb} KB of request plus response",
            HTTP_API_LOSES,
        ),
    ]
    lines = [
        f"| `apiType` | $ per million requests by monthly volume ({region}, {pricing.PRICES_AS_OF}) "
        "| metered unit | loses |",
        "|---|---|---|---|",
    ]
    for name, tiers, unit, loses in rows:
        lines.append(f"| {name} | {_tiers_text(tiers)} | {unit} | {'; '.join(loses)} |")
    return "\n".join(lines) + "\n"
