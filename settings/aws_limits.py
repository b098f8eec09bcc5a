"""What AWS accepts, where our settings and command-line options are checked against it."""

from __future__ import annotations

MEMORY_MB = (128, 10240)  # Lambda's MemorySize range, in MB
TIMEOUT_S = (1, 900)  # Lambda's Timeout range, in seconds
ARCHITECTURES = ("arm64", "x86_64")  # Lambda's instruction sets
