"""The priced plan: every stack setting that moves the monthly bill, its proposed value, the saving and what
the change costs in features or latency, with the `pulumi config set` command that applies it.

Power Tuning prices Lambda compute only; for a short CRUD function the front door, traces and logs are most
of the bill, so each of those settings is priced here from the same dated table (``pricing.PRICES``) and the
workload the local runs measured (request and response sizes, log bytes per request, the operation mix).
Pure: the caller builds the inputs (settings, measured sizes, the tuning pick); nothing is applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

from settings.aws_limits import ARCHITECTURES
from settings.stack_settings import AUTH_MODES_BY_API_TYPE
from tuning.engine import pricing

# The stack's config keys (Pulumi.yaml) the plan proposes values for.
API_TYPE_KEY = "apiType"
AUTH_MODE_KEY = "authMode"
MEMORY_KEY = "memorySize"
ARCHITECTURE_KEY = "architecture"
TRACING_KEY = "tracing"
LOG_RETENTION_KEY = "logRetentionDays"
CAPACITY_MODE = "dynamodbCapacityMode"  # priced only: the stack has no such setting (on-demand is fixed)

# The retention the plan proposes when the stack keeps logs longer: a month covers most incident reviews.
PROPOSED_LOG_RETENTION_DAYS = 30
# Provisioned capacity sized so the steady rate uses this share of it (DynamoDB auto scaling's usual target).
PROVISIONED_TARGET_UTILISATION = 0.7
# authMode values HTTP APIs offer, the first being what the plan proposes in place of api_key.
HTTP_AUTH_MODES = AUTH_MODES_BY_API_TYPE["http"]

HTTP_API_LOSES = (
    "request validation by API Gateway (the function still validates every body: a bad body is still a 400)",
    "API keys, usage plans and quotas",
    "AWS WAF",
    "private and edge-optimised endpoints",
)
BILL_COMPONENTS = (
    "api_gateway",
    "lambda_compute",
    "lambda_requests",
    "dynamodb",
    "logs_ingestion",
    "logs_storage",
    "xray",
)


def config_value(value: object) -> str:
    """A setting's value as Pulumi config writes it (``true``, not ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def config_set_command(key: str, value: object, stack: str | None) -> str:
    """The command that puts ``value`` into the stack's config (without a stack: the selected one)."""
    return f"pulumi config set {key} {config_value(value)}" + (f" -s {stack}" if stack else "")


@dataclass(frozen=True)
class StackChoices:
    """The settings of the stack that move its bill, as they are now."""

    api_type: str
    auth_mode: str
    memory_size: int
    architecture: str
    tracing: bool
    log_retention_days: int


@dataclass(frozen=True)
class Workload:
    """Traffic the bill is computed for, with the sizes the local runs measured (bytes, means per request)."""

    requests_per_month: float
    mix: Mapping[str, float]
    region: str = "us-east-1"
    request_bytes: float = 0.0
    response_bytes: float = 0.0
    function_log_bytes: float = 0.0  # the function's own lines plus the platform's START/END/REPORT lines
    access_log_bytes: float = 0.0  # the stage's access log line


@dataclass(frozen=True)
class SizeDuration:
    """One memory size's measured duration (the trimmed mean Power Tuning prices) with its 95 % interval."""

    power: int
    duration_ms: float
    low_ms: float | None = None
    high_ms: float | None = None


@dataclass(frozen=True)
class PlanLine:
    """One setting: where it is, where the plan would put it, what that saves a month and what it costs."""

    setting: str
    current: object
    value: object
    monthly_saving_usd: float | None  # None: it cannot be priced from what was measured
    saving_low_usd: float | None
    saving_high_usd: float | None
    trade_offs: str
    command: str | None  # None: the stack cannot apply it, or nothing to change

    def to_json(self) -> dict[str, object]:
        return {key: getattr(self, item.name) for key, item in zip(_JSON_KEYS, fields(self), strict=True)}

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> PlanLine:
        """A line as ``to_json`` wrote it (e.g. read back from the report's summary.json)."""
        return cls(*(raw[key] for key in _JSON_KEYS))  # type: ignore[arg-type]


# PlanLine's fields in order, by their JSON names.
_JSON_KEYS = (
    "setting",
    "current",
    "value",
    "monthlySavingUsd",
    "savingLowUsd",
    "savingHighUsd",
    "tradeOffs",
    "command",
)


def best_lines(lines: Sequence[PlanLine], count: int = 3) -> tuple[PlanLine, ...]:
    """The ``count`` lines that save the most among those with a change the stack can apply (``lines`` are
    best saving first, as a plan holds them)."""
    return tuple(line for line in lines if line.command and (line.monthly_saving_usd or 0) > 0)[:count]


@dataclass(frozen=True)
class Plan:
    """The lines, best saving first; the monthly bill by component before and after the applicable ones."""

    lines: tuple[PlanLine, ...]
    bill_before: Mapping[str, float]
    bill_after: Mapping[str, float]
    requests_per_month: float
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> list[dict[str, object]]:
        return [line.to_json() for line in self.lines]


def monthly_bill(choices: StackChoices, duration_ms: float, workload: Workload) -> dict[str, float]:
    """USD a month by component for ``choices`` at ``duration_ms`` per invocation (plus ``total``)."""
    region = workload.region
    requests = workload.requests_per_month
    per_request = pricing.request_cost_breakdown(
        duration_ms, choices.memory_size, choices.architecture, region, dict(workload.mix)
    )
    log_bytes = workload.function_log_bytes + workload.access_log_bytes
    logs = pricing.logs_monthly_cost(log_bytes, requests, choices.log_retention_days, region)
    parts = {
        "api_gateway": pricing.api_requests_monthly_cost(
            choices.api_type, requests, region, workload.request_bytes, workload.response_bytes
        ),
        "lambda_compute": per_request["lambda_compute"] * requests,
        "lambda_requests": per_request["lambda_request"] * requests,
        "dynamodb": per_request["dynamodb"] * requests,
        "logs_ingestion": logs["ingestion"],
        "logs_storage": logs["storage"],
        "xray": pricing.xray_monthly_cost(requests, region=region) if choices.tracing else 0.0,
    }
    return {**parts, "total": sum(parts.values())}


def _saving(before: StackChoices, after: StackChoices, duration_ms: float, workload: Workload) -> float:
    return (
        monthly_bill(before, duration_ms, workload)["total"]
        - monthly_bill(after, duration_ms, workload)["total"]
    )


def _keep(setting: str, current: object, why: str) -> PlanLine:
    return PlanLine(setting, current, current, 0.0, None, None, why, None)


def _api_type_line(
    choices: StackChoices, duration_ms: float, workload: Workload, stack: str | None
) -> PlanLine:
    if choices.api_type == "http":
        return _keep(API_TYPE_KEY, "http", "already the cheaper front door")
    auth = choices.auth_mode if choices.auth_mode in HTTP_AUTH_MODES else HTTP_AUTH_MODES[0]
    proposed = replace(choices, api_type="http", auth_mode=auth)
    command = config_set_command(API_TYPE_KEY, "http", stack)
    if auth != choices.auth_mode:
        command += " && " + config_set_command(AUTH_MODE_KEY, auth, stack)
    units = pricing.http_api_metered_units(workload.request_bytes, workload.response_bytes)
    trade_offs = (
        f"loses {'; '.join(HTTP_API_LOSES)}"
        + (
            f"; authMode {choices.auth_mode} becomes {auth} (HTTP APIs have no API keys)"
            if auth != choices.auth_mode
            else ""
        )
        + f"; each request is metered as {units} unit(s) of 512 KB at the measured sizes"
        + "; lower gateway latency is AWS's claim, not measured here"
    )
    saving = _saving(choices, proposed, duration_ms, workload)
    return PlanLine(API_TYPE_KEY, "rest", "http", saving, saving, saving, trade_offs, command)


def _memory_line(
    choices: StackChoices,
    sizes: Mapping[int, SizeDuration],
    pick: int | None,
    workload: Workload,
    stack: str | None,
) -> PlanLine:
    current = sizes.get(choices.memory_size)
    if pick is None:
        return PlanLine(
            MEMORY_KEY, choices.memory_size, None, None, None, None, "no tuning run to pick from", None
        )
    if pick == choices.memory_size:
        return _keep(MEMORY_KEY, pick, "the tuning run's cost pick is the current size")
    chosen = sizes[pick]
    command = config_set_command(MEMORY_KEY, pick, stack)
    if current is None:
        return PlanLine(
            MEMORY_KEY,
            choices.memory_size,
            pick,
            None,
            None,
            None,
            f"the current {choices.memory_size} MB was not among the run's sizes, so the saving is unknown",
            command,
        )
    proposed = replace(choices, memory_size=pick)
    saving = (
        monthly_bill(choices, current.duration_ms, workload)["total"]
        - monthly_bill(proposed, chosen.duration_ms, workload)["total"]
    )
    low = high = None
    if None not in (current.low_ms, current.high_ms, chosen.low_ms, chosen.high_ms):
        # The interval of each size's mean bounds the saving's: conservative, wider than the difference's own.
        low = (
            monthly_bill(choices, current.low_ms, workload)["total"]
            - monthly_bill(proposed, chosen.high_ms, workload)["total"]
        )
        high = (
            monthly_bill(choices, current.high_ms, workload)["total"]
            - monthly_bill(proposed, chosen.low_ms, workload)["total"]
        )
    slower = chosen.duration_ms - current.duration_ms
    latency = f"{abs(slower):.1f} ms {'slower' if slower > 0 else 'faster'} per invocation (trimmed mean)"
    return PlanLine(MEMORY_KEY, choices.memory_size, pick, saving, low, high, latency, command)


def _architecture_line(
    choices: StackChoices, duration_ms: float, workload: Workload, stack: str | None
) -> PlanLine:
    other = next(a for a in ARCHITECTURES if a != choices.architecture)
    saving = _saving(choices, replace(choices, architecture=other), duration_ms, workload)
    unmeasured = "priced at the same duration: the emulator cannot measure arm64 against x86_64 speed"
    if saving <= 0:
        return _keep(ARCHITECTURE_KEY, choices.architecture, f"{other} costs more per GB-s; {unmeasured}")
    trade_offs = f"{unmeasured}; native dependencies must be built for {other}"
    return PlanLine(
        ARCHITECTURE_KEY, choices.architecture, other, saving, None, None, trade_offs,
        config_set_command(ARCHITECTURE_KEY, other, stack),
    )  # fmt: skip


def _tracing_line(
    choices: StackChoices, duration_ms: float, workload: Workload, stack: str | None
) -> PlanLine:
    if not choices.tracing:
        return _keep(TRACING_KEY, False, "tracing is already off")
    traces = pricing.xray_traces_per_month(workload.requests_per_month)
    saving = _saving(choices, replace(choices, tracing=False), duration_ms, workload)
    trade_offs = (
        f"no X-Ray traces or service map (the default sampling records {traces / 1e6:.2f} M traces a month "
        "at this rate, each priced as recorded and retrieved once); latency stays visible in the EMF metric "
        "and the logs"
    )
    return PlanLine(
        TRACING_KEY,
        True,
        False,
        saving,
        saving,
        saving,
        trade_offs,
        config_set_command(TRACING_KEY, False, stack),
    )


def _retention_line(
    choices: StackChoices, duration_ms: float, workload: Workload, stack: str | None
) -> PlanLine:
    log_bytes = workload.function_log_bytes + workload.access_log_bytes
    sizes = (
        f"{log_bytes:.0f} bytes of logs per request measured ({workload.function_log_bytes:.0f} function "
        f"and platform lines, {workload.access_log_bytes:.0f} access log); ingestion is paid whatever the "
        "retention"
    )
    if choices.log_retention_days <= PROPOSED_LOG_RETENTION_DAYS:
        return _keep(LOG_RETENTION_KEY, choices.log_retention_days, sizes)
    proposed = replace(choices, log_retention_days=PROPOSED_LOG_RETENTION_DAYS)
    saving = _saving(choices, proposed, duration_ms, workload)
    trade_offs = (
        f"logs older than {PROPOSED_LOG_RETENTION_DAYS} days are gone; storage priced uncompressed (an upper "
        f"bound: CloudWatch bills stored bytes compressed); {sizes}"
    )
    command = config_set_command(LOG_RETENTION_KEY, PROPOSED_LOG_RETENTION_DAYS, stack)
    return PlanLine(
        LOG_RETENTION_KEY, choices.log_retention_days, PROPOSED_LOG_RETENTION_DAYS, saving, saving, saving,
        trade_offs, command,
    )  # fmt: skip


def _capacity_line(workload: Workload) -> PlanLine:
    weights = pricing.operation_weights(dict(workload.mix))
    reads = sum(pricing.OPERATION_UNITS[name].read * share for name, share in weights.items())
    writes = sum(pricing.OPERATION_UNITS[name].write * share for name, share in weights.items())
    requests = workload.requests_per_month
    price = pricing.dynamodb_capacity_monthly_cost(
        reads * requests, writes * requests, PROVISIONED_TARGET_UTILISATION, workload.region
    )
    saving = price.on_demand - price.provisioned
    trade_offs = (
        f"provisioned capacity sized for the steady rate at {PROVISIONED_TARGET_UTILISATION:.0%} use; it is "
        f"cheaper only while average use stays above {price.break_even_utilisation:.0%} (break-even), and "
        "throttles bursts above it where on-demand does not; the stack has no setting for it (on-demand is "
        "fixed in components/microservice.py), so there is no command"
    )
    value = "provisioned" if saving > 0 else "on_demand"
    return PlanLine(CAPACITY_MODE, "on_demand", value, saving, None, None, trade_offs, None)


def make_plan(
    choices: StackChoices,
    sizes: Sequence[SizeDuration],
    memory_pick: int | None,
    workload: Workload,
    stack: str | None = None,
) -> Plan:
    """Price every setting at ``workload``: one line each, best saving first.

    The durations are the run's; the current size's duration prices every line but memory's (the pick's when
    the current size was not measured). ``bill_after`` applies every line that has a command.
    """
    by_power = {size.power: size for size in sizes}
    base = by_power.get(choices.memory_size) or by_power.get(memory_pick or -1)
    notes: list[str] = []
    if base is None:
        raise ValueError("make_plan needs a measured duration: the current memory size or the pick")
    if choices.memory_size not in by_power:
        notes.append(
            f"{choices.memory_size} MB was not measured: the bill before the plan uses {base.power} MB's "
            "duration"
        )
    duration = base.duration_ms
    lines = [
        _api_type_line(choices, duration, workload, stack),
        _memory_line(choices, by_power, memory_pick, workload, stack),
        _architecture_line(choices, duration, workload, stack),
        _tracing_line(choices, duration, workload, stack),
        _retention_line(choices, duration, workload, stack),
        _capacity_line(workload),
    ]
    lines.sort(key=lambda line: -(line.monthly_saving_usd or 0.0))
    after = choices
    after_duration = duration
    for line in lines:
        if not line.command or line.value == line.current:
            continue
        after = _apply(after, line)
        if line.setting == MEMORY_KEY:
            after_duration = by_power[int(line.value)].duration_ms
    return Plan(
        lines=tuple(lines),
        bill_before=monthly_bill(choices, duration, workload),
        bill_after=monthly_bill(after, after_duration, workload),
        requests_per_month=workload.requests_per_month,
        notes=tuple(notes),
    )


def _apply(choices: StackChoices, line: PlanLine) -> StackChoices:
    if line.setting == API_TYPE_KEY:
        auth = choices.auth_mode if choices.auth_mode in HTTP_AUTH_MODES else HTTP_AUTH_MODES[0]
        return replace(choices, api_type=str(line.value), auth_mode=auth)
    field_of = {
        MEMORY_KEY: "memory_size",
        ARCHITECTURE_KEY: "architecture",
        TRACING_KEY: "tracing",
        LOG_RETENTION_KEY: "log_retention_days",
    }
    return replace(choices, **{field_of[line.setting]: line.value})
