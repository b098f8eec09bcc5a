"""Where the repository's files are; every package finds them from here, whatever the working directory.

The Pulumi engine runs the program from the project directory, but pytest and the tools run from wherever they
were started; paths built from this file's place make all of them see the same files.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # Pulumi.yaml and Pulumi.<stack>.yaml sit here
FUNCTION_DIR = REPO_ROOT / "function"  # the Lambda package, deployed and served by path
LOCAL_DIR = REPO_ROOT / ".local"  # the local stacks' outputs files, never committed
REPORTS_DIR = REPO_ROOT / "reports"  # what make report, demo and load write
RESULTS_DIR = REPO_ROOT / "results"  # tuning results files
