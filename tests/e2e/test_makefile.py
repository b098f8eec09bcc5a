"""The Makefile's bootstrap: an old Python is refused before any venv is made; the venv is installed with the
uv on PATH, else with the pinned uv that pip installs into it, else with pip alone; and it is precompiled.

Offline and in seconds: the requirements are one local wheel, and "the pinned uv from PyPI" is a local wheel
of the same name and version whose ``uv`` runs the real one (this venv's, pinned by requirements.txt).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.e2e.served_stack import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

REAL_UV = Path(sys.executable).parent / "uv"  # requirements.txt pins uv, so every project venv has it
UV_VERSION = next(
    line.split()[0].split("==")[1]
    for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    if line.startswith("uv==")
)


def _project(tmp_path: Path) -> Path:
    """The files the bootstrap reads, in a folder of their own."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(PROJECT_ROOT / name, project)
    return project


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal pure-Python wheel holding ``files`` (``NAME-VERSION.data/scripts/x`` installs as bin/x)."""
    info = f"{name}-{version}.dist-info"
    files = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            entry = zipfile.ZipInfo(path)
            entry.external_attr = (stat.S_IFREG | 0o755) << 16  # scripts stay executable once installed
            archive.writestr(entry, text)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel


def _make_venv(
    tmp_path: Path, uv_on_path: Path | None, uv_wheel_runs: bool = True
) -> subprocess.CompletedProcess:
    """``make venv`` of a one-wheel requirements file, with ``uv_on_path`` as the only uv on PATH (or none);
    pip finds the "PyPI" uv only in a local folder."""
    project = _project(tmp_path)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    demo = _wheel(wheels, "bootstrap_demo", "1.0", {"bootstrap_demo/__init__.py": "ANSWER = 42\n"})
    uv_script = f'#!/bin/sh\nexec {REAL_UV} "$@"\n' if uv_wheel_runs else "#!/bin/sh\nexit 126\n"
    uv_wheel = _wheel(wheels, "uv", UV_VERSION, {f"uv-{UV_VERSION}.data/scripts/uv": uv_script})
    # Installs require hashes: the stand-in wheels' own, in place of PyPI's
    (project / "small.txt").write_text(f"{demo} --hash=sha256:{_sha256(demo)}\n")
    pinned = project / "requirements.txt"
    pinned.write_text(
        re.sub(
            r"^uv==\S+ \\\n(?:    --hash=\S+(?: \\)?\n)+",
            f"uv=={UV_VERSION} \\\n    --hash=sha256:{_sha256(uv_wheel)}\n",
            pinned.read_text(),
            flags=re.M,
        )
    )
    tools = tmp_path / "bin"
    tools.mkdir()
    if uv_on_path is not None:
        (tools / "uv").symlink_to(uv_on_path)
    others = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "uv").exists()]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(tools), *others]),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "UV_OFFLINE": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["make", "venv", "REQUIREMENTS=small.txt", "PRECOMPILED=bootstrap_demo"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _installer(tmp_path: Path) -> str:
    """Which tool installed the requirement (the wheel standard's INSTALLER file)."""
    (info,) = (tmp_path / "project" / ".venv" / "lib").glob(
        "python3*/site-packages/bootstrap_demo-1.0.dist-info"
    )
    return (info / "INSTALLER").read_text().strip()


def _assert_installed_and_precompiled(tmp_path: Path) -> None:
    venv = tmp_path / "project" / ".venv"
    (site,) = (venv / "lib").glob("python3*/site-packages")
    precompiled = (site / "bootstrap_demo" / "__pycache__").glob("__init__.*.pyc")
    assert list(precompiled), "not precompiled at install"
    assert (venv / ".installed-requirements").exists()


def test_an_old_python_is_refused_before_a_venv_is_made(tmp_path: Path) -> None:
    project = _project(tmp_path)
    old_python = _executable(tmp_path / "python3.9", "#!/bin/sh\nexec python3 -c 'import sys; sys.exit(1)'\n")
    completed = subprocess.run(
        ["make", "venv", f"PYTHON={old_python}"], cwd=project, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 2
    assert f"error: {old_python} is not Python 3.11.5 or newer" in completed.stderr  # pyproject's floor
    assert not (project / ".venv").exists()


@pytest.mark.slow
def test_the_uv_on_path_makes_the_venv_and_installs(tmp_path: Path) -> None:
    completed = _make_venv(tmp_path, uv_on_path=REAL_UV)
    assert completed.returncode == 0, completed.stderr
    assert "No uv on PATH" not in completed.stdout
    assert not (tmp_path / "project" / ".venv" / "bin" / "uv").exists()  # nothing installed a second uv
    assert _installer(tmp_path) == "uv"
    _assert_installed_and_precompiled(tmp_path)


@pytest.mark.slow
def test_without_uv_on_path_pip_installs_the_pinned_uv_which_installs(tmp_path: Path) -> None:
    completed = _make_venv(tmp_path, uv_on_path=None)
    assert completed.returncode == 0, completed.stderr
    assert f"No uv on PATH: installing uv=={UV_VERSION} into .venv with pip first" in completed.stdout
    assert (tmp_path / "project" / ".venv" / "bin" / "uv").exists()
    assert "uv cannot run" not in completed.stderr
    assert _installer(tmp_path) == "uv"
    _assert_installed_and_precompiled(tmp_path)


@pytest.mark.slow
def test_pip_installs_when_uv_cannot_run(tmp_path: Path) -> None:
    broken = _executable(tmp_path / "broken-uv", "#!/bin/sh\nexit 126\n")  # e.g. a binary for another CPU
    completed = _make_venv(tmp_path, uv_on_path=broken, uv_wheel_runs=False)
    assert completed.returncode == 0, completed.stderr
    assert "warning: uv cannot run here; installing with pip instead" in completed.stderr
    assert _installer(tmp_path) == "pip"
    _assert_installed_and_precompiled(tmp_path)
