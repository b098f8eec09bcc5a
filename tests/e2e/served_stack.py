"""The local stack as users run it (``python -m emulator serve``), in a subprocess on free ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import psutil

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90


@dataclass
class ServedStack:
    """A running ``python -m emulator serve`` and the outputs it wrote."""

    process: subprocess.Popen[str]
    outputs_path: Path
    outputs: dict

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.outputs["endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)


def start_stack(outputs_path: Path, *extra: str) -> ServedStack:
    """Start ``serve`` on a free port and wait until its outputs file appears (written once it is ready)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--port",
            "0",
            "--outputs",
            str(outputs_path),
            "--quiet",
            *extra,
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not outputs_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(process)
            raise RuntimeError(
                f"local stack did not start: {process.stderr.read() if process.stderr else ''}"
            )
        time.sleep(0.1)
    return ServedStack(process, outputs_path, json.loads(outputs_path.read_text()))


def stop_stack(process: subprocess.Popen[str]) -> int:
    """SIGTERM, as a service manager would; SIGKILL the whole group only if it does not stop by itself."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            process.wait()
    return process.returncode
