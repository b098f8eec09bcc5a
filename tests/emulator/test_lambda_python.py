"""Which Python runs the function: Lambda's 3.13 found in the documented order, else the labelled fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from emulator.lambda_python import (
    RuntimeSetupError,
    find_interpreter,
    label_from_user_agent,
    prepare,
    runtime_label,
)
from emulator.runtime import LambdaRuntime
from tests.emulator.conftest import PROBE


def fake_python(path: Path, version: str | None) -> Path:
    """An executable answering the version probe like a Python ``version`` ("3 13"), or failing (None), like a
    pyenv shim whose version is not selected."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"#!/bin/sh\necho '{version}'\n" if version else "#!/bin/sh\necho 'not here' >&2\nexit 127\n"
    )
    path.chmod(0o755)
    return path


def fake_uv(path: Path, finds: Path | None) -> str:
    """A ``uv`` whose ``python find 3.13`` answers ``finds`` (or fails)."""
    answer = f"echo '{finds}'" if finds else "exit 2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{answer}\n")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def machine(tmp_path: Path) -> dict:
    """Places a Python may be: a PATH folder, a pyenv root, a home; all empty at first."""
    return {
        "PATH": str(tmp_path / "bin"),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
    }


def test_lambda_python_comes_first_whatever_its_version(machine: dict, tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.13", "3 13")
    chosen = fake_python(tmp_path / "chosen" / "python", "3 12")
    found = find_interpreter({**machine, "LAMBDA_PYTHON": str(chosen)}, None)

    assert (found.path, found.version, found.source) == (str(chosen), (3, 12), "LAMBDA_PYTHON")
    assert found.fallback


def test_a_lambda_python_that_does_not_run_is_an_error_naming_it(machine: dict, tmp_path: Path) -> None:
    broken = fake_python(tmp_path / "broken", None)
    with pytest.raises(RuntimeSetupError, match=f"LAMBDA_PYTHON={broken} does not run"):
        find_interpreter({**machine, "LAMBDA_PYTHON": str(broken)}, None)


def test_then_a_python3_13_on_path_that_runs(machine: dict, tmp_path: Path) -> None:
    on_path = fake_python(tmp_path / "bin" / "python3.13", "3 13")
    uv = fake_uv(tmp_path / "uv", fake_python(tmp_path / "uv-python", "3 13"))
    found = find_interpreter(machine, uv)

    assert (found.path, found.source, found.fallback) == (str(on_path), "PATH", False)


def test_then_uv_when_the_one_on_path_does_not_run(machine: dict, tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.13", None)  # a shim
    by_uv = fake_python(tmp_path / "uv-python", "3 13")
    fake_python(Path(machine["PYENV_ROOT"]) / "versions" / "3.13.1" / "bin" / "python3.13", "3 13")
    found = find_interpreter(machine, fake_uv(tmp_path / "uv", by_uv))

    assert (found.path, found.source) == (str(by_uv), "uv")


def test_then_pyenvs_versions_folder(machine: dict, tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.13", None)
    pyenv = fake_python(Path(machine["PYENV_ROOT"]) / "versions" / "3.13.1" / "bin" / "python3.13", "3 13")
    found = find_interpreter(machine, fake_uv(tmp_path / "uv", None))

    assert (found.path, found.source) == (str(pyenv), "pyenv")


def test_pyenv_under_home_when_no_pyenv_root(machine: dict) -> None:
    home_pyenv = Path(machine["HOME"]) / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13"
    fake_python(home_pyenv, "3 13")
    found = find_interpreter({key: value for key, value in machine.items() if key != "PYENV_ROOT"}, None)

    assert (found.path, found.source) == (str(home_pyenv), "pyenv")


def test_else_the_hosts_python(machine: dict, tmp_path: Path) -> None:
    fake_python(
        Path(machine["PYENV_ROOT"]) / "versions" / "3.13.0" / "bin" / "python3.13", "3 12"
    )  # mislabelled
    found = find_interpreter(machine, None)

    assert (found.path, found.source) == (sys.executable, "host")
    assert found.version == sys.version_info[:2]


def test_labels_name_the_python_and_the_client() -> None:
    assert runtime_label("3.13.0", "4.2.2") == "python3.13 · awslambdaric 4.2.2"
    assert runtime_label("3.11.7", "4.2.2") == "python3.11 · awslambdaric 4.2.2 (fallback)"
    assert label_from_user_agent("aws-lambda-python/3.13.0-4.2.2") == "python3.13 · awslambdaric 4.2.2"
    assert (
        label_from_user_agent("aws-lambda-python/3.11.7-4.2.2")
        == "python3.11 · awslambdaric 4.2.2 (fallback)"
    )
    assert label_from_user_agent("curl/8.5.0") is None
    assert label_from_user_agent("") is None


@pytest.mark.slow
@pytest.mark.skipif(
    sys.version_info[:2] == (3, 13), reason="the host's Python is Lambda's: no fallback to see"
)
def test_the_fallback_runs_the_same_client_on_the_hosts_python_and_says_so(capfd) -> None:
    python = prepare(find_interpreter({"LAMBDA_PYTHON": sys.executable}, None))
    note = capfd.readouterr().err
    with LambdaRuntime(
        function_name="probe", memory_mb=512, environment={}, function_dir=PROBE, python=python
    ) as runtime:
        seen = runtime.invoke({}).payload
        label = runtime.label

    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert seen["version"] == sys.version
    assert label == f"python{host} · awslambdaric {python.awslambdaric} (fallback)"
    assert runtime.emulation["runtime"] == label
    assert f"is Python {sys.version.split()[0]}, not Lambda's 3.13" in note
    assert label in note
