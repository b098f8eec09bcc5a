"""The Python that runs the function locally: Lambda's python3.13 with AWS's runtime interface client.

The function's execution environments run ``python -m awslambdaric`` from a virtual environment of their
own, ``.lambda-venv/python3.13`` (beside the project's ``.venv``), built on first use from
``emulator/lambda-runtime/requirements.txt`` (awslambdaric and the SDK Lambda's runtime ships), with uv
when it is there, pip otherwise. Python 3.13 is looked for the way a machine offers it, in this order:

1. ``$LAMBDA_PYTHON`` (any version: another one is used, and labelled a fallback);
2. a ``python3.13`` on PATH that runs (a pyenv shim without that version selected does not);
3. ``uv python find 3.13``;
4. pyenv's versions folder (``$PYENV_ROOT`` or ``~/.pyenv``).

Without one, the host's Python runs the same client, and the run says so once at start. Every figure is
labelled with the runtime that produced it (``python3.13 · awslambdaric 4.2.2``, or
``python3.11 · awslambdaric 4.2.2 (fallback)``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from api.files import write_text_atomically
from api.names import LAMBDA_RUNTIME
from settings.paths import REPO_ROOT

REQUIREMENTS = Path(__file__).with_name("lambda-runtime") / "requirements.txt"
VENVS = REPO_ROOT / ".lambda-venv"
_VERSION = LAMBDA_RUNTIME.removeprefix("python")  # "3.13"
LAMBDA_VERSION = tuple(int(part) for part in _VERSION.split("."))
_PROBE = "import sys; print(*sys.version_info[:2])"
_DESCRIBE = "import sys, importlib.metadata as m; print(sys.version.split()[0], m.version('awslambdaric'))"
_PROBE_TIMEOUT_S = 20.0
_STAMP = "runtime.json"


class RuntimeSetupError(RuntimeError):
    """The function's Python could not be found or its runtime not built; the message names the fix."""


@dataclass(frozen=True)
class Interpreter:
    """A Python found on this machine, and where it was found."""

    path: str
    version: tuple[int, int]
    source: str  # "LAMBDA_PYTHON", "PATH", "uv", "pyenv" or "host"

    @property
    def fallback(self) -> bool:
        return self.version != LAMBDA_VERSION


@dataclass(frozen=True)
class LambdaPython:
    """The runtime environments start: its interpreter (in the runtime's venv) and what it runs."""

    executable: Path
    python_version: str  # e.g. "3.13.0", as the interpreter reported it
    awslambdaric: str  # the client's version, as installed
    interpreter: Interpreter

    @property
    def label(self) -> str:
        return runtime_label(self.python_version, self.awslambdaric)

    @property
    def site_packages(self) -> Path:
        """Where the client lives: Lambda's LAMBDA_RUNTIME_DIR (/var/runtime) and PYTHONPATH."""
        major, minor = self.python_version.split(".")[:2]
        return self.executable.parent.parent / "lib" / f"python{major}.{minor}" / "site-packages"


def runtime_label(python_version: str, awslambdaric: str) -> str:
    """``python3.13 · awslambdaric 4.2.2``; any other Python is marked ``(fallback)``."""
    major, minor = (int(part) for part in python_version.split(".")[:2])
    label = f"python{major}.{minor} · awslambdaric {awslambdaric}"
    return label if (major, minor) == LAMBDA_VERSION else f"{label} (fallback)"


def label_from_user_agent(user_agent: str) -> str | None:
    """The label of the client that sent ``user_agent`` (``aws-lambda-python/3.13.0-4.2.2``), if it is one."""
    product, _, version = user_agent.partition("/")
    python_version, _, awslambdaric = version.partition("-")
    if product != "aws-lambda-python" or not awslambdaric or python_version.count(".") < 1:
        return None
    return runtime_label(python_version, awslambdaric)


def _version_of(path: str) -> tuple[int, int] | None:
    """The (major, minor) of the Python at ``path``, or None when it does not run."""
    try:
        done = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1])


def find_uv(environ: Mapping[str, str]) -> str | None:
    """uv on PATH, or the one installed beside this Python (``.venv/bin/uv``)."""
    beside = Path(sys.executable).with_name("uv")
    return shutil.which("uv", path=environ.get("PATH", os.defpath)) or (
        str(beside) if beside.is_file() else None
    )


def _candidates(environ: Mapping[str, str], uv: str | None) -> Iterator[tuple[str, str]]:
    """(path, source) of each place a Python 3.13 may be, in the order they are tried."""
    on_path = shutil.which(LAMBDA_RUNTIME, path=environ.get("PATH", os.defpath))
    if on_path:
        yield on_path, "PATH"
    if uv:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            found = subprocess.run(
                [uv, "python", "find", _VERSION],
                capture_output=True,
                text=True,
                timeout=_PROBE_TIMEOUT_S,
                check=False,
                env={**environ, "UV_PYTHON_DOWNLOADS": "never"},
            )
            if found.returncode == 0 and found.stdout.strip():
                yield found.stdout.strip(), "uv"
    pyenv_root = Path(environ.get("PYENV_ROOT") or Path(environ.get("HOME", "~")).expanduser() / ".pyenv")
    for version_dir in sorted((pyenv_root / "versions").glob(f"{_VERSION}*"), reverse=True):
        yield str(version_dir / "bin" / LAMBDA_RUNTIME), "pyenv"


def find_interpreter(environ: Mapping[str, str], uv: str | None) -> Interpreter:
    """The Python to run the function with, found in the documented order (the host's as the fallback);
    ``uv`` is the uv to ask (``find_uv``), if any."""
    chosen = environ.get("LAMBDA_PYTHON")
    if chosen:
        version = _version_of(chosen)
        if version is None:
            raise RuntimeSetupError(
                f"LAMBDA_PYTHON={chosen} does not run as a Python; point it at a Python 3.13, or unset it to "
                f"let the emulator look for one"
            )
        return Interpreter(chosen, version, "LAMBDA_PYTHON")
    for path, source in _candidates(environ, uv):
        if _version_of(path) == LAMBDA_VERSION:
            return Interpreter(path, LAMBDA_VERSION, source)
    host = sys.version_info
    return Interpreter(sys.executable, (host.major, host.minor), "host")


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _venv_dir(interpreter: Interpreter) -> Path:
    major, minor = interpreter.version
    return VENVS / f"python{major}.{minor}"


def _built(venv: Path, interpreter: Interpreter) -> bool:
    """Whether ``venv`` holds a complete build for ``interpreter`` from today's requirements."""
    try:
        stamp = json.loads((venv / _STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp == {"interpreter": interpreter.path, "requirements_sha256": _requirements_digest()}


def _describe(python: Path) -> tuple[str, str] | None:
    """(Python version, awslambdaric version) as the runtime's interpreter reports them; None if it cannot
    (its base Python was removed, say)."""
    try:
        done = subprocess.run(
            [str(python), "-c", _DESCRIBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    return (parts[0], parts[1]) if done.returncode == 0 and len(parts) == 2 else None


def _run_step(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeSetupError(
            f"{what} failed ({' '.join(command[:4])} …): {' / '.join(detail)}. The runtime needs PyPI "
            f"(or a pip index) for {REQUIREMENTS.relative_to(REPO_ROOT)}; fix it, then `make lambda-runtime`"
        )


def _build(venv: Path, interpreter: Interpreter) -> None:
    """Create ``venv`` from scratch and install the runtime; the stamp, written last, marks it complete."""
    if venv.exists():
        shutil.rmtree(venv)  # an earlier build that did not finish, or one for other requirements
    uv = find_uv(os.environ)
    print(
        f"Building the local Lambda runtime in {venv.relative_to(REPO_ROOT)} (Python {interpreter.path}, "
        f"{'uv' if uv else 'pip'}; first use only)…",
        file=sys.stderr,
        flush=True,
    )
    _run_step(
        [interpreter.path, "-m", "venv", *(["--without-pip"] if uv else []), str(venv)], "creating the venv"
    )
    python = venv / "bin" / "python"
    if uv:
        # Compiled now, as Lambda's runtime ships its SDK: the environments run with -B and would otherwise
        # compile botocore at every cold start.
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
    else:
        install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # Every pin carries its hashes: a package that changed on the index since it was pinned is refused.
    _run_step(
        [*install, "--require-hashes", "-r", str(REQUIREMENTS)], "installing the runtime's requirements"
    )
    stamp = {"interpreter": interpreter.path, "requirements_sha256": _requirements_digest()}
    write_text_atomically(venv / _STAMP, json.dumps(stamp, indent=2) + "\n")


def prepare(interpreter: Interpreter) -> LambdaPython:
    """The runtime for ``interpreter``, built first when needed (one build at a time across processes) and
    then asked what it runs: the label comes from the interpreter itself."""
    venv = _venv_dir(interpreter)
    python = venv / "bin" / "python"
    VENVS.mkdir(exist_ok=True)
    with open(VENVS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        described = _describe(python) if _built(venv, interpreter) else None
        if described is None:
            _build(venv, interpreter)
            described = _describe(python)
    if described is None:
        raise RuntimeSetupError(f"the runtime in {venv} does not start; delete that folder and try again")
    prepared = LambdaPython(python, described[0], described[1], interpreter)
    if interpreter.fallback:
        _warn_fallback(prepared)
    return prepared


def _warn_fallback(python: LambdaPython) -> None:
    interpreter = python.interpreter
    if interpreter.source == "LAMBDA_PYTHON":
        why = f"LAMBDA_PYTHON={interpreter.path} is Python {python.python_version}, not Lambda's 3.13"
    else:
        why = "no Python 3.13 found (LAMBDA_PYTHON, python3.13 on PATH, `uv python find 3.13`, pyenv)"
    print(
        f"note: {why}: the function runs on {python.label}; its timings are not Lambda python3.13's. "
        f"Install Python 3.13 (e.g. `uv python install 3.13` or `pyenv install 3.13`) or set LAMBDA_PYTHON.",
        file=sys.stderr,
        flush=True,
    )


@functools.cache
def lambda_python() -> LambdaPython:
    """This process's runtime: found from its environment and prepared once (the fallback note with it)."""
    return prepare(find_interpreter(os.environ, find_uv(os.environ)))


def main() -> int:
    """``make lambda-runtime``: build the runtime if needed and say which it is."""
    try:
        python = lambda_python()
    except RuntimeSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"local Lambda runtime: {python.label} ({python.executable.parent.parent.relative_to(REPO_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
