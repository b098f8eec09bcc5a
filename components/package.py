"""The Lambda deployment package: exactly the files of function/, nothing the developer's machine left
behind.

`pulumi.FileArchive(dir)` zips every file under the directory, including `__pycache__/*.pyc` that local test
runs write next to the sources (built by another Python than Lambda's 3.13); that would ship junk and change
the code hash on every machine. So the archive is listed explicitly from the same walk the tests check.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from settings.paths import FUNCTION_DIR


def _kept(name: str) -> bool:
    return name != "__pycache__" and not name.startswith(".") and not name.endswith(".pyc")


def package_files(function_dir: Path = FUNCTION_DIR) -> dict[str, Path]:
    """Archive name (posix, relative to function/) -> file, for every source file of the package, sorted."""
    if not (function_dir / "app.py").is_file():
        raise FileNotFoundError(f"{function_dir}/app.py not found: the Lambda package must hold the handler")
    files: dict[str, Path] = {}
    for root, dirs, names in os.walk(function_dir):
        dirs[:] = sorted(d for d in dirs if _kept(d))
        for name in sorted(filter(_kept, names)):
            path = Path(root) / name
            files[path.relative_to(function_dir).as_posix()] = path
    return files


def function_archive(function_dir: Path = FUNCTION_DIR) -> pulumi.AssetArchive:
    """The archive Pulumi uploads as the function's code."""
    return pulumi.AssetArchive(
        {name: pulumi.FileAsset(str(path)) for name, path in package_files(function_dir).items()}
    )
