"""``python -m analysis report|lab``: the analysis notebook run into reports/power-tuning.html
(``report``), or opened in JupyterLab with the same sources (``lab``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analysis import html_report, lab


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Analyse tuning runs: the notebook rendered to HTML, or in JupyterLab.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{report,lab}")
    html_report.add_arguments(commands.add_parser("report", help="render the analysis notebook to HTML"))
    html_report.add_arguments(commands.add_parser("lab", help="open the analysis notebook in JupyterLab"))
    args = parser.parse_args(argv)
    if args.command == "lab":
        return lab.run(args)
    try:
        return html_report.run(args)
    except KeyboardInterrupt:
        print("interrupted: report stopped before it finished; the previous report is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
