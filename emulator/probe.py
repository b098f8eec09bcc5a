"""Is something listening behind a URL? One answer for every tool that finds a local stack by its outputs."""

from __future__ import annotations

import socket
import urllib.parse


def url_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when a TCP connection to the URL's host and port succeeds: a stale outputs file fails this."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return False
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False
