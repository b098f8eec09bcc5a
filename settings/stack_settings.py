"""The stack's settings: the raw config strings, typed and validated before any resource is declared.

Pulumi.yaml declares every key with its type and default, so the engine hands the program a string for each
one (numbers and booleans as text, arrays as JSON). The engine only checks the type; the ranges and choices
below are checked here so that a bad value stops `pulumi up` with a message naming the key and what is
allowed, instead of failing half-way through an update inside an AWS API call. The Pulumi program feeds it
from `pulumi.Config` (components/settings.py); the local stack and the tuning runner feed it from the YAML
files (settings/stack_files.py), so both stop on a bad value with the same message. Pure: no Pulumi import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from settings.aws_limits import ARCHITECTURES, MEMORY_MB, TIMEOUT_S

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy); "never expire" is deliberately
# not offered: logs that are kept forever are a cost nobody decided on.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
API_TYPES = ("rest", "http")  # API Gateway REST API (the seed's front door) or HTTP API (apigatewayv2)
AUTH_MODES = ("api_key", "iam", "jwt", "none")
# What each front door can enforce: HTTP APIs have no API keys, REST APIs take no JWT authorizer here.
AUTH_MODES_BY_API_TYPE = {"rest": ("api_key", "iam", "none"), "http": ("iam", "jwt", "none")}
TUNING_TIMEOUT_S = (10, 900)  # Power Tuning's totalExecutionTimeout parameter range (template.yml)
API_GATEWAY_TIMEOUT_MS = 29000  # a REST API integration gives up after 29 s, so a p99 above it cannot be seen
MAX_RATE_LIMIT = 10000  # API Gateway's default account-level steady-state limit per region
MAX_BURST_LIMIT = 5000  # ... and its burst limit
IDEMPOTENCY_TTL_HOURS = (1, 720)  # how long an Idempotency-Key is kept: an hour to 30 days

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


# Every resource is named "<project>-<stack>…": the Lambda function (letters, digits, - and _, at most 64
# characters) and Power Tuning's CloudFormation stack "serverlessrepo-<name>-power-tuning" (letters, digits
# and -, at most 128), so the stack name must suit both.
MAX_FUNCTION_NAME = 64
_STACK_NAME = re.compile(r"^[A-Za-z0-9-]+$")


class StackNameError(ValueError):
    """A stack name that would make an invalid AWS resource name; the message names the rule."""


def function_name_for(project: str, stack: str) -> str:
    """The function's (and every resource's) name for this stack; StackNameError naming the rule."""
    name = f"{project}-{stack}"
    if not _STACK_NAME.fullmatch(stack):
        raise StackNameError(
            f"stack name {stack!r} cannot name AWS resources: use letters, digits and '-' only "
            "(Power Tuning's CloudFormation stack refuses '_' and '.', Lambda refuses '.'); "
            "create the stack again with `pulumi stack init <name>`"
        )
    longest = MAX_FUNCTION_NAME - len(project) - 1
    if len(stack) > longest:
        raise StackNameError(
            f"stack name {stack!r} makes the function name {len(name)} characters long: Lambda allows "
            f"{MAX_FUNCTION_NAME}, so the stack name may have at most {longest}"
        )
    return name


class SettingsError(ValueError):
    """A config value that the stack cannot deploy; the message names the key and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        super().__init__(
            f"config '{key}' = {value!r} is not allowed: {allowed}. "
            f"Change it with `pulumi config set {key} <value>` (declared in Pulumi.yaml)."
        )


@dataclass(frozen=True)
class Settings:
    """Everything the components need to know about this stack, already validated."""

    memory_size: int
    architecture: str
    timeout: int
    log_retention_days: int
    reserved_concurrency: int | None  # None = unreserved
    throttle_rate_limit: int
    throttle_burst_limit: int
    auth_mode: str
    cors_allow_origin: str | None  # None = CORS off
    table_deletion_protection: bool
    protect_table: bool
    tracing: bool
    manage_api_gateway_account: bool
    power_tuning: bool
    power_values: tuple[int, ...]
    power_tuning_timeout: int
    alarm_email: str | None
    latency_alarm_ms: int
    idempotency_ttl_hours: int
    api_type: str
    jwt_issuer: str | None  # None = not configured
    jwt_audience: tuple[str, ...]


def _parsed_int(key: str, raw: str, allowed: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(key, raw, allowed) from None


def _integer(key: str, raw: str, *, low: int, high: int) -> int:
    allowed = f"an integer from {low} to {high}"
    value = _parsed_int(key, raw, allowed)
    if not low <= value <= high:
        raise SettingsError(key, raw, allowed)
    return value


def _boolean(key: str, raw: str) -> bool:
    if raw not in ("true", "false"):
        raise SettingsError(key, raw, "true or false")
    return raw == "true"


def _choice(key: str, raw: str, *, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise SettingsError(key, raw, "one of " + ", ".join(choices))
    return raw


def _log_retention_days(key: str, raw: str) -> int:
    allowed = "one of CloudWatch Logs' retention periods: " + ", ".join(map(str, LOG_RETENTION_DAYS))
    value = _parsed_int(key, raw, allowed)
    if value not in LOG_RETENTION_DAYS:
        raise SettingsError(key, raw, allowed)
    return value


def _reserved_concurrency(key: str, raw: str) -> int | None:
    allowed = "-1 (unreserved) or a positive integer (0 would stop every invocation)"
    value = _parsed_int(key, raw, allowed)
    if value == -1:
        return None
    if value < 1:
        raise SettingsError(key, raw, allowed)
    return value


def _cors_allow_origin(key: str, raw: str) -> str | None:
    if raw == "":
        return None
    if raw != "*" and not _ORIGIN.match(raw):
        raise SettingsError(
            key, raw, '"*", "" (CORS off) or one origin such as https://app.example.com (no path)'
        )
    return raw


def _power_values(key: str, raw: str) -> tuple[int, ...]:
    low, high = MEMORY_MB
    allowed = f"a non-empty list of distinct memory sizes from {low} to {high} MB, e.g. [128, 256, 512]"
    try:
        parsed: Any = json.loads(raw)  # the engine passes arrays as JSON; it refuses anything but an array
    except ValueError:
        raise SettingsError(key, raw, allowed) from None
    if (
        not isinstance(parsed, list)
        or not parsed
        or any(isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high for v in parsed)
        or len(set(parsed)) != len(parsed)
    ):
        raise SettingsError(key, raw, allowed)
    return tuple(parsed)


def _alarm_email(key: str, raw: str) -> str | None:
    if raw == "":
        return None
    if not _EMAIL.match(raw):
        raise SettingsError(key, raw, '"" (no notifications) or one e-mail address')
    return raw


def _jwt_issuer(key: str, raw: str) -> str | None:
    if raw == "":
        return None
    url = urlsplit(raw)
    if url.scheme != "https" or not url.hostname or url.query or url.fragment:
        raise SettingsError(
            key,
            raw,
            '"" or the https URL of the token issuer, e.g. https://cognito-idp.<region>.amazonaws.com/<pool>',
        )
    return raw


def _jwt_audience(key: str, raw: str) -> tuple[str, ...]:
    allowed = 'a list of distinct, non-empty audience (client id) strings, e.g. ["my-app-client"]'
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        raise SettingsError(key, raw, allowed) from None
    if (
        not isinstance(parsed, list)
        or any(not isinstance(v, str) or not v.strip() for v in parsed)
        or len(set(parsed)) != len(parsed)
    ):
        raise SettingsError(key, raw, allowed)
    return tuple(parsed)


def _check_front_door(settings: Settings) -> None:
    """The combinations a single key's parser cannot judge: auth the chosen front door offers, JWT inputs."""
    allowed = AUTH_MODES_BY_API_TYPE[settings.api_type]
    if settings.auth_mode not in allowed:
        other = next(t for t, modes in AUTH_MODES_BY_API_TYPE.items() if settings.auth_mode in modes)
        raise SettingsError(
            "authMode",
            settings.auth_mode,
            f"with apiType '{settings.api_type}' one of {', '.join(allowed)} "
            f"(or set apiType '{other}', which offers '{settings.auth_mode}')",
        )
    if settings.auth_mode == "jwt" and settings.jwt_issuer is None:
        raise SettingsError("jwtIssuer", "", "the https URL of the token issuer when authMode is 'jwt'")
    if settings.auth_mode == "jwt" and not settings.jwt_audience:
        raise SettingsError("jwtAudience", [], "at least one audience (client id) when authMode is 'jwt'")


def _ranged(low: int, high: int) -> Callable[[str, str], int]:
    return partial(_integer, low=low, high=high)


def _one_of(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    return partial(_choice, choices=choices)


# config key -> (Settings field, parser(key, raw)). The keys are the ones Pulumi.yaml declares; each parser
# gets the key to name in its error.
PARSERS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "memorySize": ("memory_size", _ranged(*MEMORY_MB)),
    "architecture": ("architecture", _one_of(ARCHITECTURES)),
    "timeout": ("timeout", _ranged(*TIMEOUT_S)),
    "logRetentionDays": ("log_retention_days", _log_retention_days),
    "reservedConcurrency": ("reserved_concurrency", _reserved_concurrency),
    "throttleRateLimit": ("throttle_rate_limit", _ranged(1, MAX_RATE_LIMIT)),
    "throttleBurstLimit": ("throttle_burst_limit", _ranged(1, MAX_BURST_LIMIT)),
    "authMode": ("auth_mode", _one_of(AUTH_MODES)),
    "corsAllowOrigin": ("cors_allow_origin", _cors_allow_origin),
    "tableDeletionProtection": ("table_deletion_protection", _boolean),
    "protectTable": ("protect_table", _boolean),
    "tracing": ("tracing", _boolean),
    "manageApiGatewayAccount": ("manage_api_gateway_account", _boolean),
    "powerTuning": ("power_tuning", _boolean),
    "powerValues": ("power_values", _power_values),
    "powerTuningTimeout": ("power_tuning_timeout", _ranged(*TUNING_TIMEOUT_S)),
    "alarmEmail": ("alarm_email", _alarm_email),
    "latencyAlarmMs": ("latency_alarm_ms", _ranged(1, API_GATEWAY_TIMEOUT_MS)),
    "idempotencyTtlHours": ("idempotency_ttl_hours", _ranged(*IDEMPOTENCY_TTL_HOURS)),
    "apiType": ("api_type", _one_of(API_TYPES)),
    "jwtIssuer": ("jwt_issuer", _jwt_issuer),
    "jwtAudience": ("jwt_audience", _jwt_audience),
}


# Keys whose Pulumi.yaml default is "" (nothing configured).
EMPTY_BY_DEFAULT = frozenset({"alarmEmail", "jwtIssuer"})


def parse_settings(raw: Mapping[str, str | None]) -> Settings:
    """Validate the raw config strings (as the engine passes them); SettingsError on the first bad one."""
    values: dict[str, Any] = {}
    for key, (field, parse) in PARSERS.items():
        text = raw.get(key)
        if text is None and key in EMPTY_BY_DEFAULT:
            text = ""  # whether the engine passes an empty default or leaves the key out, it means "none"
        if text is None:
            raise SettingsError(
                key, None, "a value; Pulumi.yaml declares a default, so run the program from the project"
            )
        values[field] = parse(key, text.strip())
    settings = Settings(**values)
    _check_front_door(settings)
    return settings
