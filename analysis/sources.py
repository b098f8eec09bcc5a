"""The analysis notebook's data sources, each loaded without raising: a DataFrame plus sentences for the
reader.

Missing data is normal (no tuning run yet, no metrics yet, an empty log group, the local stack without a
state machine) and an unreachable or forbidden AWS API is the reader's to fix, so both become a sentence in
the report instead of a traceback. Bad parameters still raise: they are the caller's mistake.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from analysis import cloudwatch, executions, frames, logs
from api import stack_outputs
from settings.lazy_imports import boto3_client
from tuning import results
from tuning.pulumi_stack import load_outputs
from tuning.record import read_run

_AWS_ERRORS = (BotoCoreError, ClientError)
_CODE = re.compile(r"`([^`]+)`")  # notes mark commands and names like Markdown does


@dataclass
class Loaded:
    """One source's data and what the reader should know about it (what is missing, what failed)."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    view: pd.DataFrame | None = None  # what a reader should see, when not the raw frame

    def _repr_html_(self) -> str:
        """Notebook display: the sentences, then the table."""
        shown = self.frame if self.view is None else self.view
        return notes_html(self.notes) + ("" if shown.empty else readable_html(shown))


def readable_html(frame: pd.DataFrame) -> str:
    """A table for reading: numbers to 2 decimals, an empty cell where a figure is unknown (not NaN)."""
    return frame.to_html(max_rows=60, na_rep="", float_format=lambda value: f"{value:,.2f}")


def notes_html(notes: list[str]) -> str:
    """Sentences as an HTML list (notebook display and the HTML export alike)."""
    items = "".join("<li>" + _CODE.sub(r"<code>\1</code>", html.escape(note)) + "</li>" for note in notes)
    return f"<ul>{items}</ul>" if notes else ""


@dataclass(frozen=True)
class Context:
    """What every source needs: the stack outputs, the time window, and whether AWS APIs are read at all."""

    outputs: dict[str, Any]
    start: datetime
    end: datetime
    origin: str
    read_aws: bool = True

    def describe(self) -> str:
        """The report's first sentence: which function, from where, over which window."""
        out = self.outputs
        if out.get("function_name") is None:
            return (
                "Nothing to analyse yet: no stack outputs and no readable results files. Run "
                "`make tune-local` (or `python -m tuning run`), or pass --outputs or --stack."
            )
        function = f"Function `{out.get('function_name')}` ({out.get('architecture')}, {out.get('region')}"
        if not self.read_aws:
            return (
                f"{function}) from {self.origin}. No stack outputs given: results files only — no "
                "executions, metrics or REPORT lines, and the current memory size is unknown "
                "(pass --outputs or --stack)."
            )
        return (
            f"{function}, currently {out.get('memory_size')} MB) from {self.origin}; data since "
            f"{self.start:%Y-%m-%d %H:%M} UTC."
        )


def load_context(stack: str | None, outputs_path: str | None, since: str, results_dir: str | Path) -> Context:
    """Stack outputs (``read_outputs``; with neither, the local stack's file) and the window.

    Without any of them (e.g. after ``make tune-local`` with no local stack running) the report still works
    from the results files, whose metadata names the function. Raises ``api.stack_outputs.OutputsError`` or
    ValueError on bad parameters.
    """
    start, end = cloudwatch.parse_since(since), datetime.now(UTC)
    if stack is None and outputs_path is None and stack_outputs.LOCAL_OUTPUTS.exists():
        outputs_path = str(stack_outputs.LOCAL_OUTPUTS)
    if stack is None and outputs_path is None:
        newest, metadata = _newest_readable_results(results_dir)
        facts = {key: metadata.get(key) for key in ("function_name", "region", "architecture")}
        origin = f"`{newest.name}`" if newest else "nowhere (no readable results files either)"
        return Context(facts, start, end, origin, read_aws=False)
    outputs, origin = read_outputs(stack, outputs_path)
    return Context(outputs, start, end, origin)


def read_outputs(stack: str | None, outputs_path: str | None) -> tuple[dict[str, Any], str]:
    """The stack outputs and where they came from, as the notebook's parameters promise: from
    ``outputs_path`` when it is set (``stack`` then only names the stack in the printed
    `pulumi config set memorySize N -s <stack>`), else from stack ``stack`` itself. Raises
    ``api.stack_outputs.OutputsError``."""
    if outputs_path is not None:
        named = f" for stack `{stack}`" if stack else ""
        return load_outputs(outputs_path=outputs_path), f"`{outputs_path}`{named}"
    return load_outputs(stack=stack), f"stack `{stack}`"


def _newest_readable_results(results_dir: str | Path) -> tuple[Path | None, dict[str, Any]]:
    """The newest results file that loads, and its metadata (a corrupt newer file is skipped here and
    reported by ``tuning_runs``)."""
    paths = results.result_paths(results_dir) if Path(results_dir).is_dir() else []
    for path in reversed(paths):
        try:
            return path, dict(read_run(path).metadata)
        except (ValueError, OSError):
            continue
    return None, {}


def aws_client(outputs: dict[str, Any], service: str) -> Any:
    """A boto3 client for the stack's region; for the local stack (outputs carry ``endpoint_url``) its
    emulator, with the emulator's dummy credentials so real ones never leave for a local endpoint."""
    endpoint = outputs.get("endpoint_url")
    if endpoint:
        return boto3_client(
            service,
            endpoint_url=endpoint,
            region_name=outputs.get("region") or "us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 -- the emulator's dummy, not a secret
        )
    return boto3_client(service, region_name=outputs.get("region") or None)


@dataclass
class _Saved:
    """What the results files hold, frame by frame, and a sentence per file that could not be read."""

    stats: pd.DataFrame
    invocations: pd.DataFrame
    skipped: pd.DataFrame
    notes: list[str]


def _results(results_dir: str | Path) -> _Saved:
    """Results files one by one, so one unreadable file costs a sentence, not the whole report."""
    paths = results.result_paths(results_dir) if Path(results_dir).is_dir() else []
    readers = {
        "stats": (frames.results_frame, frames.POWER_COLUMNS),
        "invocations": (frames.invocations_frame, frames.INVOCATION_COLUMNS),
        "skipped": (frames.skipped_frame, frames.SKIPPED_COLUMNS),
    }
    found: dict[str, list[pd.DataFrame]] = {name: [] for name in readers}
    notes = []
    for path in paths:
        try:
            read = {name: reader([path]) for name, (reader, _) in readers.items()}
        except (ValueError, OSError, KeyError) as error:
            notes.append(f"Skipped results file `{path}`: {error}")
            continue
        for name, frame in read.items():
            found[name].append(frame)
    if not paths:
        notes.append(
            f"No results files in `{results_dir}` (run `make tune-local` or `python -m tuning run`)."
        )
    combined = {
        name: pd.concat(found[name], ignore_index=True) if found[name] else pd.DataFrame(columns=columns)
        for name, (_, columns) in readers.items()
    }
    return _Saved(**combined, notes=notes)


def run_invocations(results_dir: str | Path) -> pd.DataFrame:
    """Every results file's invocation records with their run: what run-against-run significance rests on."""
    return _results(results_dir).invocations


def tuning_runs(context: Context, results_dir: str | Path) -> Loaded:
    """Every Power Tuning execution since the window's start plus every results file, one row per power."""
    notes: list[str] = []
    arn = context.outputs.get("state_machine_arn")
    found = pd.DataFrame(columns=executions.COLUMNS)
    if context.read_aws and not arn:
        notes.append(
            "These stack outputs have no state machine (the local stack has none): no executions read."
        )
    elif context.read_aws:
        try:
            found = executions.load_executions(
                arn,
                context.start,
                architecture=context.outputs.get("architecture"),
                client=aws_client(context.outputs, "stepfunctions"),
            )
        except _AWS_ERRORS as error:
            notes.append(f"Could not read the executions of `{arn}`: {error}")
        if found.empty and not notes:
            notes.append(f"No Power Tuning execution since {context.start:%Y-%m-%d %H:%M} UTC.")
    saved = _results(results_dir)
    notes.extend(saved.notes)
    combined = executions.combine_runs(found, saved.stats)
    for failed in combined[combined["status"] != "succeeded"].itertuples():
        notes.append(f"Run `{failed.run}` {failed.status}: {failed.cause}")
    for skipped in saved.skipped.itertuples():
        notes.append(f"Run `{skipped.run}` skipped {skipped.power} MB: {skipped.cause}")
    return Loaded(combined, notes, view=executions.run_summary(combined))


def invocations(context: Context, results_dir: str | Path, runs: pd.DataFrame | None = None) -> Loaded:
    """Per-invocation records with their ``run``: results files' own, and REPORT lines from the log group,
    each the run's whose window and sizes it falls in (``runs``: ``tuning_runs``' frame; default: the
    results files' runs), else ``live traffic``."""
    notes: list[str] = []
    report_lines = pd.DataFrame(columns=logs.COLUMNS)
    if context.read_aws:
        group = context.outputs.get("log_group_name") or f"/aws/lambda/{context.outputs['function_name']}"
        try:
            client = aws_client(context.outputs, "logs")
            report_lines = logs.fetch_report_lines(group, context.start, context.end, client=client)
        except _AWS_ERRORS as error:
            notes.append(f"Could not read log group `{group}`: {error}")
        if report_lines.empty and not notes:
            notes.append(f"No REPORT lines in `{group}` since {context.start:%Y-%m-%d %H:%M} UTC.")
    live_versions: frozenset[str] = frozenset()
    if context.read_aws:
        live_versions, alias_notes = _live_alias_versions(context.outputs)
        notes.extend(alias_notes)
    saved = _results(results_dir)
    windows = saved.stats if runs is None else runs
    combined = logs.invocations_for_charts(report_lines, saved.invocations, windows, live_versions)
    if not combined.empty:
        counts = combined.groupby("source").size()
        notes.append("Invocations: " + ", ".join(f"{n} from {source}" for source, n in counts.items()) + ".")
    elif not context.read_aws:  # with AWS read, the log group's note above already says what is missing
        notes.append(f"No invocation records: no results file in `{results_dir}` holds any.")
    return Loaded(combined, notes, view=logs.per_memory_summary(combined))


def _live_alias_versions(outputs: dict[str, Any]) -> tuple[frozenset[str], list[str]]:
    """The versions the stack's ``live`` alias serves now (its routing weights included), whose REPORT lines
    are live traffic even at a run's size inside its window; none without an alias (the local stack)."""
    alias = (outputs.get("alias_arn") or "").rsplit(":", 1)[-1]
    if not alias or alias == outputs["function_name"]:
        return frozenset(), []
    try:
        found = aws_client(outputs, "lambda").get_alias(FunctionName=outputs["function_name"], Name=alias)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return frozenset(), []  # no such alias (the local stack has no alias objects)
        return frozenset(), [f"Could not look up alias `{alias}`: {error}; its lines may count as a run's"]
    except BotoCoreError as error:
        return frozenset(), [f"Could not look up alias `{alias}`: {error}; its lines may count as a run's"]
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return frozenset({found["FunctionVersion"], *weights}) - {"$LATEST"}, []


def lambda_metrics(context: Context) -> Loaded:
    """The CloudWatch summary per alias over the whole window (one aligned bucket: exact percentiles)."""
    if not context.read_aws:
        return Loaded(pd.DataFrame(), ["No stack outputs: CloudWatch metrics not read."])
    function_name = context.outputs["function_name"]
    window = cloudwatch.aligned_window(context.start, context.end)
    alias = (context.outputs.get("alias_arn") or "").rsplit(":", 1)[-1]
    aliases = [alias] if alias and alias != function_name else []
    try:
        client = aws_client(context.outputs, "cloudwatch")
        metrics = cloudwatch.fetch_lambda_metrics(function_name, window, aliases=aliases, client=client)
    except _AWS_ERRORS as error:
        return Loaded(pd.DataFrame(), [f"Could not read CloudWatch metrics of `{function_name}`: {error}"])
    if metrics.empty:
        return Loaded(pd.DataFrame(), [f"No AWS/Lambda metrics for `{function_name}` in this window yet."])
    note = f"AWS/Lambda metrics from {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC."
    return Loaded(cloudwatch.metrics_summary(metrics), [note])


def write_summary(report_dir: str | Path, **parts: Any) -> Path:
    """``report_dir/summary.json``: what the report found, machine-readable (tests and CI read it)."""
    document = {name: _jsonable(value) for name, value in parts.items()}
    document["charts"] = sorted(p.name for p in Path(report_dir).glob("*.png"))
    return results.write_json_atomically(Path(report_dir) / "summary.json", document)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Loaded):
        return {"rows": _jsonable(value.frame), "notes": value.notes}
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index() if any(value.index.names) else value  # named index levels are columns
        return [
            {key: (None if _missing(item) else _plain(item)) for key, item in row.items()}
            for row in frame.to_dict(orient="records")
        ]
    return value


def _missing(item: Any) -> bool:
    try:
        return bool(pd.isna(item))
    except (TypeError, ValueError):
        return False


def _plain(item: Any) -> Any:
    if isinstance(item, pd.Timestamp | datetime):
        return item.isoformat()
    if hasattr(item, "item"):  # numpy scalars
        return item.item()
    return item
