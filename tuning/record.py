"""One tuning run as one typed record: what both runners' results become, what the results file serialises,
what ``tuning compare`` and ``analysis`` read and what the CLI table prints.

``TuningRun.to_json`` is the results file; ``TuningRun.from_json`` reads it back, its types and ranges
checked, by schema version: version 1 files (no ``picks``) get their picks from ``tuning.engine`` on
reading, as version 2 files got them when they were written. Power Tuning's ``output`` stays its exact schema;
``confidence``, ``skipped`` and ``picks`` sit beside it, never inside it. New sections (e.g. a priced plan)
are new optional fields with their own key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from tuning.engine.analyzer import DEFAULT_BALANCED_WEIGHT, STRATEGIES, strategy_picks
from tuning.engine.inputs import (
    ALL_POWER_VALUES,
    DEFAULT_POWER_VALUES,
    check_num,
    check_power_values,
    validate_function_arn,
)
from tuning.engine.stats import DEFAULT_DISCARD, effective_discard
from tuning.engine.visualization import decode_url
from tuning.payloads import expand_payloads

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: written before picks were recorded
# The byte counts of a local invocation record, in Traffic's order (tuning.results.InvocationRecord).
SIZE_KEYS = ("request_bytes", "response_bytes", "log_bytes", "access_log_bytes")


class FieldError(ValueError):
    """A results file field of the wrong type or range; ``str`` names the field and the value."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"field {field_name} {problem}")
        self.field, self.problem = field_name, problem


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if isinstance(value, bool) and kind is not bool:  # JSON true/false is never a number here
        raise FieldError(where, f"must be {what}, got {json.dumps(value)}")
    if not isinstance(value, kind):
        raise FieldError(where, f"must be {what}, got {json.dumps(value)[:40]}")
    return value


def _measure(value: Any, where: str, *, optional: bool = False) -> None:
    """A duration, price or count: a finite number, zero or more (JSON null where ``optional``)."""
    if value is None and optional:
        return
    _expect(value, (int, float), where, "a number")
    if not math.isfinite(value) or value < 0:
        raise FieldError(where, f"must be a finite number of at least 0, got {value!r}")


@dataclass(frozen=True)
class ExecutionInput:
    """Power Tuning's execution input, read the way the tool reads it: missing ``powerValues`` → its
    defaults, ``"ALL"`` → 128..3008 step 64; ``raw`` is the input exactly as sent (kept for the file)."""

    lambda_arn: str
    power_values: tuple[int, ...]
    num: int
    payload: Any
    parallel: bool
    strategy: str
    balanced_weight: float
    only_cold_starts: bool
    discard_top_bottom: float
    sleep_between_runs_ms: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    allowed_exceptions: tuple[str, ...] = ()  # errorTypes counted as results, not failures

    @property
    def discard(self) -> float:
        """The share the tool really trims at each end (``effective_discard``)."""
        return effective_discard(self.discard_top_bottom, self.only_cold_starts)

    @property
    def mode(self) -> str:
        """How the tool invokes: ``onlyColdStarts``, ``parallel`` or ``series``."""
        if self.only_cold_starts:
            return "onlyColdStarts"
        return "parallel" if self.parallel else "series"

    @property
    def function_name(self) -> str:
        return validate_function_arn(self.lambda_arn)[0]

    @property
    def price_region(self) -> str:
        """The ``lambdaARN``'s region, whose prices Power Tuning applies."""
        return validate_function_arn(self.lambda_arn)[1]

    def with_values(self, power_values: Sequence[int], num: int) -> ExecutionInput:
        """This input for other sizes and ``num`` (a round, a rerun): ``to_json`` says them too."""
        raw = {**self.raw, "powerValues": list(power_values), "num": num}
        return replace(self, power_values=tuple(power_values), num=num, raw=raw)

    @classmethod
    def for_run(cls, raw: Any) -> ExecutionInput:
        """An input about to run, refused (ValueError) where the tool would fail late or inside the run: a
        qualified ARN, ``num`` below its minimum, weights ``num`` cannot share out (checked here, once)."""
        _expect(raw, dict, "input", "an object")
        validate_function_arn(raw.get("lambdaARN"))
        check_num(raw.get("num"))
        execution_input = cls.from_json(raw)
        try:
            expand_payloads(execution_input.payload, execution_input.num)
        except ValueError as error:  # the tool would fail inside the run, as SUCCEEDED with {}
            raise ValueError(f"{error}: raise num or give each weighted payload a larger share") from error
        return execution_input

    @classmethod
    def from_json(cls, raw: Any, where: str = "input") -> ExecutionInput:
        _expect(raw, dict, where, "an object")
        values = raw.get("powerValues")
        if values == "ALL":
            power_values: tuple[int, ...] = ALL_POWER_VALUES
        elif not values:
            power_values = DEFAULT_POWER_VALUES
        else:
            _expect(values, list, f"{where}.powerValues", "a list of memory sizes or 'ALL'")
            try:
                check_power_values(values)
            except ValueError as error:
                raise FieldError(f"{where}.powerValues", f"is refused: {error}") from None
            power_values = tuple(values)
        num = raw.get("num")
        _expect(num, int, f"{where}.num", "an integer")
        strategy = raw.get("strategy", "cost")
        if strategy not in STRATEGIES:
            raise FieldError(f"{where}.strategy", f"must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        weight = raw.get("balancedWeight", DEFAULT_BALANCED_WEIGHT)
        _expect(weight, (int, float), f"{where}.balancedWeight", "a number")
        discard = raw.get("discardTopBottom", DEFAULT_DISCARD)
        _expect(discard, (int, float), f"{where}.discardTopBottom", "a number")
        sleep = raw.get("sleepBetweenRunsMs") or 0
        _expect(sleep, int, f"{where}.sleepBetweenRunsMs", "an integer")
        allowed = _expect(raw.get("allowedExceptions") or [], list, f"{where}.allowedExceptions", "a list")
        for index, name in enumerate(allowed):
            _expect(name, str, f"{where}.allowedExceptions[{index}]", "an errorType")
        return cls(
            lambda_arn=_expect(raw.get("lambdaARN"), str, f"{where}.lambdaARN", "a function ARN"),
            power_values=power_values,
            num=num,
            payload=raw.get("payload"),
            parallel=bool(raw.get("parallelInvocation")),
            strategy=strategy,
            balanced_weight=float(weight),
            only_cold_starts=bool(raw.get("onlyColdStarts")),
            discard_top_bottom=float(discard),
            sleep_between_runs_ms=max(0, sleep),
            raw=dict(raw),
            allowed_exceptions=tuple(allowed),
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.raw)


@dataclass(frozen=True)
class Pick:
    """One strategy's choice (Power Tuning's rules and ties): the size with its average ms and $."""

    power: int
    duration: float
    cost: float

    def to_json(self) -> dict[str, Any]:
        return {"power": self.power, "duration": self.duration, "cost": self.cost}


@dataclass(frozen=True)
class Traffic:
    """Bytes per request of the run's payload mix, means over the invocations measured: what an HTTP API
    meters (request plus response, in 512 KB units) and what CloudWatch Logs ingests (the function's own
    lines with the platform's START/END/REPORT lines, and the stage's access log line)."""

    requests: int  # invocations the means are over
    request_bytes: float
    response_bytes: float
    function_log_bytes: float
    access_log_bytes: float

    _KEYS = ("requestBytes", "responseBytes", "functionLogBytes", "accessLogBytes")

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "requestBytes": self.request_bytes,
            "responseBytes": self.response_bytes,
            "functionLogBytes": self.function_log_bytes,
            "accessLogBytes": self.access_log_bytes,
        }

    @classmethod
    def from_json(cls, raw: Any, where: str = "traffic") -> Traffic:
        _expect(raw, dict, where, "an object")
        _expect(raw.get("requests"), int, f"{where}.requests", "a count of invocations")
        for key in cls._KEYS:
            _measure(raw.get(key), f"{where}.{key}")
        return cls(raw["requests"], *(float(raw[key]) for key in cls._KEYS))

    @classmethod
    def of_invocations(cls, invocations: Sequence[Mapping[str, Any]]) -> Traffic | None:
        """The means over the invocation records that carry every size (a local run's API requests); None
        when none does (AWS runs, payloads that are no API request)."""
        measured = [r for r in invocations if all(r.get(key) is not None for key in SIZE_KEYS)]
        if not measured:
            return None
        return cls(len(measured), *(fmean(record[key] for record in measured) for key in SIZE_KEYS))


def picks_of(stats: list[dict[str, Any]], balanced_weight: float) -> dict[str, Pick]:
    """Each strategy's pick from the run's per-size averages; none when no size has a duration."""
    if not any(stat.get("averageDuration") for stat in stats):
        return {}
    return {strategy: Pick(**pick) for strategy, pick in strategy_picks(stats, balanced_weight).items()}


@dataclass(frozen=True)
class TuningRun:
    """A results file's content. ``metadata`` is run facts (source, function_name, region, architecture,
    started, ended, execution_arn, and what only one target knows); ``invocations`` and ``emulation`` are
    None when the run has none (AWS runs without readable logs, AWS runs)."""

    metadata: Mapping[str, Any]
    input: ExecutionInput
    output: Mapping[str, Any]  # Power Tuning's exact output schema
    picks: Mapping[str, Pick]
    invocations: tuple[Mapping[str, Any], ...] | None = None
    emulation: Mapping[str, Any] | None = None
    confidence: tuple[Mapping[str, Any], ...] = ()
    skipped: tuple[Mapping[str, Any], ...] = ()
    traffic: Traffic | None = None  # None: not measured (AWS runs, files written before it was)

    @property
    def stats(self) -> list[dict[str, Any]]:
        """Per-power averages: ``output.stats``, else decoded from the visualization URL."""
        return per_power_stats(self.output)[0]

    @property
    def stats_origin(self) -> str:
        """Where ``stats`` came from: ``stats``, ``visualization`` or ``none``."""
        return per_power_stats(self.output)[1]

    @property
    def source(self) -> str:
        return self.metadata["source"]

    @property
    def api_type(self) -> str:
        """The front door whose request fee the run is priced with; files written before it was recorded
        were priced as REST."""
        return self.metadata.get("api_type", "rest")

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "metadata": dict(self.metadata),
            "input": self.input.to_json(),
            "output": dict(self.output),
            "picks": {strategy: pick.to_json() for strategy, pick in self.picks.items()},
            "confidence": [dict(entry) for entry in self.confidence],
            "skipped": [dict(entry) for entry in self.skipped],
        }
        if self.invocations is not None:
            document["invocations"] = [dict(record) for record in self.invocations]
        if self.emulation is not None:
            document["emulation"] = dict(self.emulation)
        if self.traffic is not None:
            document["traffic"] = self.traffic.to_json()
        return document

    @classmethod
    def from_json(cls, document: Any) -> TuningRun:
        """A results document checked field by field; FieldError names the first bad one."""
        if not isinstance(document, dict) or not {"metadata", "input", "output"} <= document.keys():
            raise ValueError("is not a tuning results file (needs metadata, input and output)")
        version = document.get("schema_version", 1)
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"has schema_version {version!r}; this version of tuning reads "
                f"{', '.join(map(str, READABLE_VERSIONS))}: update the project to read it"
            )
        metadata = _expect(document["metadata"], dict, "metadata", "an object")
        output = _expect(document["output"], dict, "output", "an object")
        _check_output(output)
        execution_input = ExecutionInput.from_json(document["input"])
        invocations = document.get("invocations")
        if invocations is not None:
            _check_invocations(_expect(invocations, list, "invocations", "a list"))
        emulation = document.get("emulation")
        if emulation is not None:
            _expect(emulation, dict, "emulation", "an object")
        confidence = _expect(document.get("confidence", []), list, "confidence", "a list")
        skipped = _expect(document.get("skipped", []), list, "skipped", "a list")
        if version == 1:
            picks = picks_of(per_power_stats(output)[0], execution_input.balanced_weight)
        else:
            picks = _read_picks(_expect(document.get("picks"), dict, "picks", "an object"))
        return cls(
            metadata=metadata,
            input=execution_input,
            output=output,
            picks=picks,
            invocations=tuple(invocations) if invocations is not None else None,
            emulation=emulation,
            confidence=tuple(confidence),
            skipped=tuple(skipped),
            traffic=Traffic.from_json(document["traffic"]) if document.get("traffic") is not None else None,
        )


def measured_run(
    *,
    source: str,
    function_name: str,
    region: str,
    architecture: str,
    api_type: str,
    started: datetime,
    ended: datetime,
    execution_input: ExecutionInput,
    output: Mapping[str, Any],
    execution_arn: str | None = None,
    invocations: list[dict[str, Any]] | None = None,
    emulation: dict[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    confidence: list[dict[str, Any]] | None = None,
    skipped: list[dict[str, Any]] | None = None,
) -> TuningRun:
    """The record of a run that just ended, its picks and its traffic (``Traffic.of_invocations``) computed
    here, once (``tuning.engine``). Local runs are labelled ``emulated``: their timings come from this
    machine's CPU, whatever is priced; they always carry invocations and emulation facts."""
    local = source == "local"
    return TuningRun(
        metadata={
            "source": source,
            "emulated": local,
            "function_name": function_name,
            "region": region,
            "architecture": architecture,
            "api_type": api_type,
            "started": _iso(started),
            "ended": _iso(ended),
            "execution_arn": execution_arn,
            **(extra or {}),
        },
        input=execution_input,
        output=output,
        picks=picks_of(per_power_stats(output)[0], execution_input.balanced_weight),
        invocations=tuple(invocations or ()) if local or invocations is not None else None,
        emulation=(emulation or {}) if local or emulation is not None else None,
        confidence=tuple(confidence or ()),
        skipped=tuple(skipped or ()),
        traffic=Traffic.of_invocations(invocations or []),
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _check_output(output: dict[str, Any]) -> None:
    for key in ("power", "cost", "duration"):
        if key in output:
            _measure(output[key], f"output.{key}")
    for index, stat in enumerate(_expect(output.get("stats") or [], list, "output.stats", "a list")):
        where = f"output.stats[{index}]"
        _expect(stat, dict, where, "an object")
        for key in ("value", "averagePrice", "averageDuration", "totalCost"):
            if key in stat:
                _measure(stat[key], f"{where}.{key}")


def _check_invocations(invocations: list[Any]) -> None:
    for index, record in enumerate(invocations):
        where = f"invocations[{index}]"
        _expect(record, dict, where, "an object")
        _expect(record.get("power"), int, f"{where}.power", "a memory size in MB")
        _measure(record.get("duration_ms"), f"{where}.duration_ms")
        for key in ("billed_ms", "init_ms", *SIZE_KEYS):
            _measure(record.get(key), f"{where}.{key}", optional=True)


def _read_picks(raw: dict[str, Any]) -> dict[str, Pick]:
    picks = {}
    for strategy, pick in raw.items():
        where = f"picks.{strategy}"
        if strategy not in STRATEGIES:
            raise FieldError("picks", f"has an unknown strategy {strategy!r}")
        _expect(pick, dict, where, "an object")
        _expect(pick.get("power"), int, f"{where}.power", "a memory size in MB")
        for key in ("duration", "cost"):
            _measure(pick.get(key), f"{where}.{key}")
        picks[strategy] = Pick(pick["power"], pick["duration"], pick["cost"])
    return picks


def per_power_stats(output: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """Per-power averages of an output and where they came from: ``stats``, else the visualization URL."""
    if output.get("stats"):
        return list(output["stats"]), "stats"
    url = (output.get("stateMachine") or {}).get("visualization")
    if url:
        return decode_url(url), "visualization"
    return [], "none"


def read_run(path: str | Path) -> TuningRun:
    """One results file as a record; ValueError naming the file (and the field) when it is not one."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return TuningRun.from_json(document)
    except FieldError as error:
        raise ValueError(f"{path}: {error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    except ValueError as error:
        raise ValueError(f"{path} {error}") from None
