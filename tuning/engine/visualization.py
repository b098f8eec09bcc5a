"""The lambda-power-tuning.show URL: per-power averages packed into the URL hash, both ways.

The hash is ``base64(Int16 sizes);base64(Float32 average ms);base64(Float32 average $)`` of little-endian
bytes, rows sorted by power. The hash never reaches the server, so it can be pasted onto any host; decoding it
recovers the per-power averages of an execution whose output lacks ``stats``.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_VISUALIZATION_URL = "https://lambda-power-tuning.show/"
_CNY_QUERY = "?currency=CNY"


def _pack(fmt: str, values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}{fmt}", *values)).decode("ascii")


def _unpack(fmt: str, text: str) -> list[Any]:
    raw = base64.b64decode(text, validate=True)
    size = struct.calcsize(fmt)
    if len(raw) % size:
        raise ValueError(f"Visualization hash part {text!r} is not a whole number of {size}-byte values")
    return list(struct.unpack(f"<{len(raw) // size}{fmt}", raw))


def encode_url(
    stats: Iterable[Mapping[str, Any]],
    base_url: str = DEFAULT_VISUALIZATION_URL,
    region: str = "us-east-1",
) -> str:
    """The URL Power Tuning builds from stats entries (``value``, ``averageDuration``, ``averagePrice``).

    Regions starting with ``cn-`` are priced in CNY, which the UI learns from ``?currency=CNY``.
    """
    rows = sorted(stats, key=lambda row: row["value"])  # stable, like the tool's Array.sort
    hash_ = ";".join(
        [
            _pack("h", [int(row["value"]) for row in rows]),
            _pack("f", [row["averageDuration"] for row in rows]),
            _pack("f", [row["averagePrice"] for row in rows]),
        ]
    )
    query = _CNY_QUERY if region.startswith("cn-") else ""
    return f"{base_url}{query}#{hash_}"


def decode_url(url: str) -> list[dict[str, Any]]:
    """Stats entries (``value``, ``averageDuration``, ``averagePrice``) of a visualization URL, by power.

    Durations and prices come back as the Float32 values the URL carries (about 7 significant digits). A
    comparison URL (8 parts) yields its first run.
    """
    _, sep, hash_ = url.partition("#")
    parts = hash_.split(";")
    if not sep or len(parts) not in (3, 8):
        raise ValueError(f"Not a Power Tuning visualization URL (expected '#sizes;times;costs'): {url!r}")
    try:
        sizes, times, costs = _unpack("h", parts[0]), _unpack("f", parts[1]), _unpack("f", parts[2])
    except (binascii.Error, struct.error) as error:
        raise ValueError(f"Visualization URL hash is not valid base64 data: {error}") from error
    if not len(sizes) == len(times) == len(costs):
        raise ValueError(
            f"Visualization URL parts disagree: {len(sizes)} sizes, {len(times)} times, {len(costs)} costs"
        )
    rows = [
        {"value": size, "averageDuration": time, "averagePrice": cost}
        for size, time, cost in zip(sizes, times, costs, strict=True)
    ]
    return sorted(rows, key=lambda row: row["value"])
