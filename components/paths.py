"""Where the program finds the files it deploys, relative to this file rather than the working directory.

The Pulumi engine runs the program from the project directory, but pytest runs it from wherever it was
started; building paths from `__file__` makes both see the same files.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO_ROOT / "function"
