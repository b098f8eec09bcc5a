"""Checks that stand in for `pulumi preview` offline (issue 3 §6): the API body and the package it deploys."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from api.table_schema import load_table_keys
from components.package import package_files
from tests.components.harness import PROJECT_DIR, ProgramRun

FUNCTION_DIR = PROJECT_DIR / "function"
# What the Lambda Python runtime provides besides the standard library: boto3 and its dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six")


@pytest.mark.parametrize("run_name", ["prod", "variant", "open_api"])
def test_the_deployed_openapi_body_is_valid_openapi(run_name: str, request: pytest.FixtureRequest) -> None:
    run: ProgramRun = request.getfixturevalue(run_name)
    body = run.api_body()
    assert body["openapi"].startswith("3.")
    validate(body)  # raises OpenAPIValidationError with the path of the first problem


def deployed_package(run: ProgramRun) -> dict[str, Path]:
    """Archive name -> source file of the code the program hands Pulumi to upload."""
    code = run.one("aws:lambda/function:Function").inputs["code"]
    return {name: Path(asset.path) for name, asset in code.assets.items()}


def source_files() -> set[str]:
    """The package as a reviewer sees it in git: every file under function/ except bytecode caches."""
    return {
        p.relative_to(FUNCTION_DIR).as_posix()
        for p in FUNCTION_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_the_package_holds_exactly_the_function_sources(prod: ProgramRun) -> None:
    package = deployed_package(prod)
    assert "app.py" in package
    assert set(package) == source_files()
    for name, path in package.items():
        assert path.resolve() == (FUNCTION_DIR / name).resolve(), name  # nothing from outside function/


def test_bytecode_caches_and_dotfiles_stay_out_of_the_package(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("")
    for junk in (
        "__pycache__/app.cpython-311.pyc",
        "pkg/__pycache__/mod.cpython-311.pyc",
        ".DS_Store",
        "x.pyc",
    ):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_bytes(b"junk")
    assert set(package_files(tmp_path)) == {"app.py", "pkg/mod.py"}


def test_a_package_without_the_handler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"app\.py"):
        package_files(tmp_path)


def _runtime_site(tmp_path: Path) -> Path:
    """A directory holding only what Lambda's Python runtime offers (boto3 and its dependencies)."""
    site = tmp_path / "runtime-site"
    site.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None, f"{name} is not installed"
        assert spec.origin is not None
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (site / source.name).symlink_to(source, target_is_directory=source.is_dir())
    return site


IMPORT_CHECK = """
import json, sys, sysconfig
package, site = sys.argv[1], sys.argv[2]
sys.path[:0] = [package, site]
import app
assert callable(app.lambda_handler), "app.lambda_handler is not callable"
allowed = (package, site, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
outside = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None) and not module.__file__.startswith(allowed)
)
print(json.dumps(outside))
"""


def _lambda_python() -> str | None:
    """Lambda's Python (3.13): $LAMBDA_PYTHON, else python3.13 on PATH or in pyenv, the first that runs."""
    candidates = [os.environ.get("LAMBDA_PYTHON"), shutil.which("python3.13")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def _interpreters() -> list[object]:
    """This Python, and Lambda's 3.13 when one is installed here (skipped otherwise)."""
    lambda_python = _lambda_python()
    return [
        pytest.param(sys.executable, id="dev-python"),
        pytest.param(
            lambda_python,
            id="python3.13",
            marks=pytest.mark.skipif(lambda_python is None, reason="no python3.13 (set LAMBDA_PYTHON)"),
        ),
    ]


@pytest.mark.parametrize("python", _interpreters())
def test_the_zipped_package_imports_in_a_fresh_interpreter_with_only_boto3(
    prod: ProgramRun, tmp_path: Path, python: str
) -> None:
    archive = tmp_path / "function.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(deployed_package(prod).items()):
            zf.write(path, name)
    extracted = tmp_path / "task"  # Lambda unpacks the zip into /var/task
    with zipfile.ZipFile(archive) as zf:
        assert all(not n.startswith(("/", "..")) and "__pycache__" not in n for n in zf.namelist())
        zf.extractall(extracted)
    env = {
        **os.environ,  # a pyenv shim needs its own variables; -I below ignores every PYTHON* one
        "TABLE_NAME": "items",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # -I: no PYTHONPATH, user site or working directory; -S: no site-packages. Only the package and boto3.
    result = subprocess.run(
        [python, "-I", "-S", "-c", IMPORT_CHECK, str(extracted), str(_runtime_site(tmp_path))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [], (
        "modules imported from outside the package"
    )


def test_a_table_definition_the_stack_cannot_deploy_is_refused(tmp_path: Path) -> None:
    definition = json.loads((PROJECT_DIR / "api" / "table.json").read_text(encoding="utf-8"))
    definition["BillingMode"] = "PROVISIONED"
    path = tmp_path / "table.json"
    path.write_text(json.dumps(definition), encoding="utf-8")
    with pytest.raises(ValueError, match="PAY_PER_REQUEST"):
        load_table_keys(path)
