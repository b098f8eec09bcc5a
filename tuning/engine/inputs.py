"""Power Tuning's input rules, checked before anything runs: the one ARN validator, the minimum ``num``,
Lambda's memory bounds and the tool's default power values. AWS and local runs, the CLI and the demo all check
with these, so a value refused in one place is refused everywhere with the same message."""

from __future__ import annotations

from collections.abc import Sequence

from settings.aws_limits import MEMORY_MB

MIN_NUM = 5  # the tool's executor refuses fewer invocations per size ("Missing num or num below 5")
DEFAULT_POWER_VALUES = (128, 256, 512, 1024, 1536, 3008)  # the tool's deploy-time default
ALL_POWER_VALUES = tuple(range(128, 3009, 64))  # powerValues "ALL"


def validate_function_arn(arn: str) -> tuple[str, str]:
    """The tool needs the unqualified function ARN: exactly 7 colon-separated parts. Returns (function name,
    region), the name the runners invoke and the region whose prices the tool applies."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 7 or parts[:3] != ["arn", parts[1], "lambda"] or parts[5] != "function" or not parts[6]:
        hint = " (drop the alias/version qualifier)" if len(parts) == 8 else ""
        raise ValueError(f"lambdaARN must be an unqualified Lambda function ARN{hint}, got {arn!r}")
    return parts[6], parts[3]


def check_num(num: object) -> int:
    """``num`` as the tool requires it: an integer of at least ``MIN_NUM``."""
    if isinstance(num, bool) or not isinstance(num, int) or num < MIN_NUM:
        raise ValueError(f"num must be an integer of at least {MIN_NUM}, got {num!r}")
    return num


def check_power_values(power_values: Sequence[int]) -> None:
    """Memory sizes Lambda accepts (``MEMORY_MB``, integers), at least one, no repeats."""
    low, high = MEMORY_MB
    if not power_values:
        raise ValueError("powerValues must list at least one memory size")
    for value in power_values:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"Power values must be integers from {low} to {high}, got {value!r}")
    if len(set(power_values)) != len(power_values):
        raise ValueError(f"Power values must not repeat: {list(power_values)}")


def order_for_deployed(power_values: Sequence[int], deployed_mb: int) -> list[int]:
    """``power_values`` in an order whose first size differs from the deployed memory size.

    Power Tuning's initializer only sets MemorySize and publishes a version per size. With the deployed size
    first nothing changed since the last published version, so PublishVersion returns the one the `live`
    alias uses; the cleaner then cannot delete it and the execution fails with its results lost. Any later
    position is safe: the size before it changed the configuration. The analyzer does not depend on order.
    """
    values = list(power_values)
    if values == [deployed_mb]:
        raise ValueError(
            f"powerValues [{deployed_mb}] is only the deployed memory size: Power Tuning would reuse the "
            "version the live alias points at and fail when its cleaner deletes it; add another size"
        )
    if values and values[0] == deployed_mb:
        values.append(values.pop(0))
    return values
