"""requirements.txt is what `make requirements` makes of pyproject.toml, and says why each pin is there;
the pre-commit hooks pin the same versions.

Two checks, both offline. The first reads the two files only, so it runs anywhere: every declared
dependency is pinned within its specifier and credited to where it is declared, nothing is credited to
pyproject.toml that is no longer declared there, and every ``# via`` names a pinned package. The second
regenerates the file with the Makefile's own command, offline, from the uv cache that installing the venv
filled, and compares: it also catches a changed transitive dependency.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.e2e.served_stack import PROJECT_ROOT

PROJECT = "serverless-crud"
RUNTIME_REQUIREMENTS = PROJECT_ROOT / "emulator" / "lambda-runtime" / "requirements.txt"
FIX = "requirements.txt is out of date: run `make requirements` and commit the result"


def _declared() -> dict[str, list[Requirement]]:
    """Declared requirements by their source as uv's annotations name it."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    sources = {f"{PROJECT} (pyproject.toml)": pyproject["project"]["dependencies"]}
    for group, requirements in pyproject["dependency-groups"].items():
        sources[f"{PROJECT} (pyproject.toml:{group})"] = requirements
    return {source: [Requirement(text) for text in texts] for source, texts in sources.items()}


def _pinned(text: str) -> dict[str, tuple[str, list[str]]]:
    """``name: (version, [via…])`` from uv's annotated output."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in text.splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\", line):
            name = canonicalize_name(match.group(1))
            pins[name] = (match.group(2), [])
        elif (match := re.fullmatch(r"\s+#\s+(?:via\s+)?(\S.*)", line)) and match.group(1) != "via":
            pins[name][1].append(match.group(1).strip())
    return pins


def test_every_pin_is_declared_or_needed_by_a_pin() -> None:
    pins = _pinned((PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    declared = _declared()
    for source, requirements in declared.items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement} ({source}) is not pinned; {FIX}"
            version, via = pins[name]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name}=={version} does not satisfy {requirement} ({source}); {FIX}"
            )
            assert source in via, f"{name} is not credited to {source}; {FIX}"
    names = {
        source: {canonicalize_name(r.name) for r in requirements} for source, requirements in declared.items()
    }
    for name, (_, via) in pins.items():
        assert via, f"{name} is pinned but nothing needs it; {FIX}"
        for parent in via:
            if parent in names:
                assert name in names[parent], f"{name} is credited to {parent} but not declared there; {FIX}"
            else:
                assert canonicalize_name(parent) in pins, (
                    f"{name} is needed by {parent}, which is not pinned; {FIX}"
                )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_requirements_regenerates_the_committed_file(tmp_path: Path) -> None:
    venv = Path(sys.executable).parent.parent
    regenerated, runtime = tmp_path / "requirements.txt", tmp_path / "runtime-requirements.txt"
    shutil.copy(
        PROJECT_ROOT / "requirements.txt", regenerated
    )  # its pins are the preferences, as in the repo
    shutil.copy(RUNTIME_REQUIREMENTS, runtime)
    command = [
        "make", "-s", "-o", f"{venv}/.installed-requirements",  # -o: never reinstall the venv from here
        "requirements", f"VENV={venv}", f"PINNED={regenerated}", f"RUNTIME_PINNED={runtime}",
    ]  # fmt: skip

    def regenerate(offline: bool) -> subprocess.CompletedProcess:
        env = {**os.environ, **({"UV_OFFLINE": "1"} if offline else {})}
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)

    completed = regenerate(offline=True)  # the uv cache alone when it holds every package's metadata
    if "network was disabled" in completed.stderr:
        # A fresh machine's cache lacks what pip installed (uv itself, bootstrapped by pip): ask PyPI once.
        completed = regenerate(offline=False)
    assert completed.returncode == 0, f"{completed.stderr}\n{FIX} (needs the network once)"
    committed = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert regenerated.read_text(encoding="utf-8") == committed, FIX
    assert runtime.read_text(encoding="utf-8") == RUNTIME_REQUIREMENTS.read_text(encoding="utf-8"), FIX


@pytest.mark.parametrize("path", ["requirements.txt", "emulator/lambda-runtime/requirements.txt"])
def test_every_pin_carries_hashes_and_installs_require_them(path: str) -> None:
    text = (PROJECT_ROOT / path).read_text(encoding="utf-8")
    pins = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+ \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M
    )
    packages = re.findall(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", text, re.M)
    assert pins, f"{path} has no hashed pins; {FIX}"
    assert len(pins) == len(packages), f"{path}: some pins have no --hash lines; {FIX}"
    assert not re.search(r"^-e |^[a-z].* @ ", text, re.M)  # no editable or direct-URL requirement


def test_the_runtime_pins_its_whole_closure() -> None:
    pins = _pinned(RUNTIME_REQUIREMENTS.read_text(encoding="utf-8"))
    for name, (_, via) in pins.items():
        assert via, f"{name} is pinned in the runtime but nothing needs it; {FIX}"
        for parent in via:
            assert parent.startswith("-r ") or canonicalize_name(parent) in pins, (
                f"{name} needs {parent}, which the runtime does not pin; {FIX}"
            )
    assert {"awslambdaric", "boto3", "botocore", "s3transfer", "jmespath", "urllib3"} <= pins.keys()


def test_installs_require_hashes() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert makefile.count("--require-hashes") >= 3  # uv, pip, and pip's bootstrap of uv
    assert "--require-hashes" in (PROJECT_ROOT / "emulator" / "lambda_python.py").read_text(encoding="utf-8")


def test_pre_commit_hooks_pin_what_requirements_txt_pins() -> None:
    pins = _pinned((PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8"))
    config = yaml.safe_load((PROJECT_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["id"] for hook in hooks} >= {"ruff-check", "ruff-format", "nbstripout"}
    for hook in hooks:
        for text in hook["additional_dependencies"]:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            assert str(requirement.specifier) == f"=={pins[name][0]}", (
                f"hook {hook['id']} pins {text}, requirements.txt {name}=={pins[name][0]}: make them equal"
            )
