"""``python -m analysis report``: run the analysis notebook with papermill, export it to HTML with its charts.

Parameters are checked here first, so a typo ends in a usage error (exit 2) before a kernel starts; the
notebook and the HTML are written next to their final names and renamed, so a failed run leaves the previous
report intact instead of half a new one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from analysis.cloudwatch import parse_since
from analysis.sources import read_outputs
from api import stack_outputs
from api.files import give_umask_mode, write_text_atomically
from api.stack_outputs import OutputsError, running_local_outputs
from settings.paths import REPO_ROOT
from tuning.payloads import DEFAULT_MIX, parse_mix

NOTEBOOK = REPO_ROOT / "notebooks" / "power_tuning_analysis.ipynb"
EXECUTED_NAME = "power-tuning.ipynb"
HTML_NAME = "power-tuning.html"
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``report`` subcommand's flags (H3's CLI owns the parser and dispatches here)."""
    parser.add_argument(
        "--stack",
        help="Pulumi stack: named in the printed `pulumi config set … -s STACK`; its outputs are read "
        "(Pulumi's Automation API) unless --outputs is given",
    )
    parser.add_argument(
        "--outputs",
        metavar="FILE",
        help="stack outputs JSON file, e.g. .local/outputs.json; the data comes from it even with --stack",
    )
    parser.add_argument(
        "--results-dir", default="results", help="results files to include (default: results)"
    )
    parser.add_argument("--since", default="7d", help="ISO time or span like 30m, 12h, 7d, 2w (default: 7d)")
    parser.add_argument(
        "--requests-per-month",
        type=int,
        default=10_000_000,
        help="traffic the monthly costs are computed for (default: 10000000)",
    )
    parser.add_argument(
        "--mix", default=DEFAULT_MIX, help=f"operation mix for costing (default: {DEFAULT_MIX})"
    )
    parser.add_argument("--report-dir", default="reports", help="where the notebook, HTML and PNGs go")


def notebook_parameters(args: argparse.Namespace) -> dict:
    """Validated papermill parameters; ValueError/OutputsError with a readable message on bad input."""
    parse_since(args.since)
    if args.requests_per_month <= 0:
        raise ValueError(f"--requests-per-month must be positive, got {args.requests_per_month}")
    mix = parse_mix(args.mix)
    outputs_path = str(Path(args.outputs).resolve()) if args.outputs else None
    if args.stack is not None or outputs_path is not None:
        read_outputs(args.stack, outputs_path)  # fail here, not inside the kernel
    elif running_local_outputs() is not None:  # read and checked like the above, once
        outputs_path = str(stack_outputs.LOCAL_OUTPUTS)
    return {
        "stack": args.stack,
        "outputs_path": outputs_path,
        "results_dir": str(Path(args.results_dir).resolve()),
        "since": args.since,
        "requests_per_month": args.requests_per_month,
        "mix": dict(mix),
        "report_dir": str(Path(args.report_dir).resolve()),
    }


def execute(parameters: dict, report_dir: Path, progress: bool = True) -> tuple[Path, Path]:
    """Execute the notebook into ``report_dir`` and export it; returns (notebook, html) paths."""
    # nbconvert and papermill load only for a run (README: import costs): usage errors answer before a kernel
    # could start.
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    report_dir.mkdir(parents=True, exist_ok=True)
    executed, html = report_dir / EXECUTED_NAME, report_dir / HTML_NAME
    handle, scratch = tempfile.mkstemp(dir=report_dir, prefix=".power-tuning.", suffix=".ipynb")
    os.close(handle)
    try:
        papermill.execute_notebook(
            str(NOTEBOOK),
            scratch,
            parameters=parameters,
            kernel_name="python3",
            cwd=str(REPO_ROOT),
            progress_bar=progress,
        )
        exporter = HTMLExporter(embed_images=True)
        body, _ = exporter.from_notebook_node(nbformat.read(scratch, as_version=4))
        write_text_atomically(html, body)
        give_umask_mode(scratch)
        os.replace(scratch, executed)
    finally:
        Path(scratch).unlink(missing_ok=True)
    return executed, html


def run(args: argparse.Namespace) -> int:
    """Validate, execute, export; print where the report is and the recommendation in words."""
    try:
        parameters = notebook_parameters(args)
    except (ValueError, OutputsError) as error:
        print(f"analysis report: {error}", file=sys.stderr)
        return EXIT_USAGE
    report_dir = Path(parameters["report_dir"])
    from papermill.exceptions import PapermillExecutionError

    try:
        executed, html = execute(parameters, report_dir)
    except PapermillExecutionError as error:
        print(
            f"analysis report: the notebook failed in cell {error.exec_count}: {error.ename}: {error.evalue}",
            file=sys.stderr,
        )
        return 1
    summary = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    print(f"Report: {html}\nNotebook: {executed}")
    print(f"Charts ({len(summary['charts'])}): " + ", ".join(summary["charts"]))
    for pick in summary.get("decision", []):
        print(f"  {pick['strategy']:>8}: {pick['memory_mb']} MB — {pick['command']}")
    return 0
