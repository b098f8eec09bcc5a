"""``python -m analysis lab``: JupyterLab on the analysis notebook, with the report's sources and parameters.

JupyterLab starts a kernel in the notebook's folder and cannot be handed parameters, so the notebook is
opened as a copy whose parameters papermill has filled in (``prepare_only``: nothing runs), exactly those
``report`` would use: the stack (``--stack``), an outputs file (``--outputs``), else the running local
stack, else the results files alone. Paths in them are absolute and the project is on the kernel's
``PYTHONPATH``, so the copy works where it lies. The committed notebook stays without outputs; the copy is
rewritten on every ``make lab``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from analysis.html_report import EXIT_USAGE, NOTEBOOK, notebook_parameters
from api.stack_outputs import OutputsError
from settings.paths import REPO_ROOT

LAB_NAME = "power-tuning-lab.ipynb"
HOST = "127.0.0.1"  # never on other interfaces: the kernel runs code and reads AWS with your credentials


def prepare(parameters: dict) -> Path:
    """Write the parameterized copy into the report folder; returns its path."""
    import papermill

    report_dir = Path(parameters["report_dir"])
    report_dir.mkdir(parents=True, exist_ok=True)
    copy = report_dir / LAB_NAME
    papermill.execute_notebook(
        str(NOTEBOOK), str(copy), parameters=parameters, prepare_only=True, kernel_name="python3"
    )
    return copy


def command(copy: Path) -> list[str]:
    """JupyterLab on loopback, opened on ``copy``, serving the project folder (the copy's own folder when
    ``--report-dir`` put it elsewhere: JupyterLab opens nothing outside its root)."""
    root = REPO_ROOT if copy.is_relative_to(REPO_ROOT) else copy.parent
    # As root (this project's VMs and CI) Jupyter refuses to start unless told; it still serves loopback only,
    # behind its token.
    as_root = ["--allow-root"] if os.geteuid() == 0 else []
    lab = [sys.executable, "-m", "jupyterlab", f"--ServerApp.ip={HOST}", f"--ServerApp.root_dir={root}"]
    return [*lab, *as_root, str(copy)]


def run(args: argparse.Namespace) -> int:
    """Check the parameters (usage errors exit 2 before anything is written), prepare the copy, serve it."""
    try:
        parameters = notebook_parameters(args)
    except (ValueError, OutputsError) as error:
        print(f"analysis lab: {error}", file=sys.stderr)
        return EXIT_USAGE
    copy = prepare(parameters)
    print(f"JupyterLab on {copy} (a copy rewritten on every run: save your own work under another name)")
    search_path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path)}
    try:
        return subprocess.run(command(copy), env=environment, check=False).returncode
    except KeyboardInterrupt:  # Ctrl-C reaches JupyterLab too, which shuts its kernels down
        return 130
