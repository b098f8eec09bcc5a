"""``python -m analysis report``: the analysis notebook run into reports/power-tuning.html (``report``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analysis import report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis", description="Analyse tuning runs: the notebook rendered to HTML."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{report}")
    report.add_arguments(commands.add_parser("report", help="render the analysis notebook to HTML"))
    args = parser.parse_args(argv)
    try:
        return report.run(args)
    except KeyboardInterrupt:
        print("interrupted: report stopped before it finished; the previous report is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
