"""Settings validation: every bad value stops the program (and the local stack) with the key and what is
allowed (issue 3 §2, issue 17 §2)."""

from __future__ import annotations

import pytest
import yaml

from settings.stack_settings import PARSERS, Settings, SettingsError, parse_settings
from tests.components.harness import PROJECT, PROJECT_DIR, engine_config, stack_file_config


def prod_raw(**overrides: str) -> dict[str, str]:
    """The prod stack's raw config strings (project keys unqualified), with some replaced."""
    prefix = f"{PROJECT}:"
    raw = {k.removeprefix(prefix): v for k, v in engine_config("prod").items() if k.startswith(prefix)}
    raw.update(overrides)
    return raw


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads() -> None:
    assert set(prod_raw()) == set(PARSERS)


ENGINE_TYPES = {"string": str, "boolean": bool, "integer": int, "array": list}  # all Pulumi.yaml allows


def test_the_project_runs_python_from_the_repository_venv() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == PROJECT == "serverless-crud"
    assert project["description"]
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert stack_file_config("prod")["aws:region"]


def test_pulumi_yaml_declares_only_types_the_engine_accepts_with_matching_defaults() -> None:
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    for key, spec in config.items():
        assert spec["type"] in ENGINE_TYPES, key
        assert type(spec["default"]) is ENGINE_TYPES[spec["type"]], key
        if spec["type"] == "array":
            assert all(type(v) is ENGINE_TYPES[spec["items"]["type"]] for v in spec["default"]), key
    for key, value in stack_file_config("prod").items():  # the engine refuses stack values of another type
        if key.startswith(f"{PROJECT}:"):
            assert type(value) is ENGINE_TYPES[config[key.removeprefix(f"{PROJECT}:")]["type"]], key


def test_prod_config_parses_to_typed_values() -> None:
    settings = parse_settings(prod_raw())
    assert settings == Settings(
        memory_size=1024,
        architecture="arm64",
        timeout=10,
        log_retention_days=90,
        reserved_concurrency=None,
        throttle_rate_limit=50,
        throttle_burst_limit=100,
        auth_mode="api_key",
        cors_allow_origin="*",
        table_deletion_protection=True,
        protect_table=True,
        tracing=True,
        manage_api_gateway_account=True,
        power_tuning=True,
        power_values=(128, 256, 512, 1024, 1536, 3008),
        power_tuning_timeout=300,
        alarm_email=None,
        latency_alarm_ms=2000,
        idempotency_ttl_hours=24,
        api_type="rest",
        jwt_issuer=None,
        jwt_audience=(),
    )


@pytest.mark.parametrize(
    ("engine_passes", "expected"),
    [
        # Pulumi.yaml's default, when the stack file has no powerValues
        ("[128,256,512,1024,1536,3008]", (128, 256, 512, 1024, 1536, 3008)),
        # `pulumi config rm powerValues`, `config set --path 'powerValues[0]' 128` (then [1] 512)
        ("[128]", (128,)),
        ("[128,512]", (128, 512)),
    ],
)
def test_power_values_as_the_cli_passes_them(engine_passes: str, expected: tuple[int, ...]) -> None:
    """Pulumi type-checks an array config against Pulumi.yaml and hands the program compact JSON, written by
    Go's encoding/json from the YAML value (sdk/go/common/resource/config/value.go)."""
    assert parse_settings(prod_raw(powerValues=engine_passes)).power_values == expected


def test_the_harness_passes_arrays_as_the_engine_does() -> None:
    assert engine_config("prod")[f"{PROJECT}:powerValues"] == "[128,256,512,1024,1536,3008]"


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("memorySize", "128", "memory_size", 128),
        ("memorySize", "10240", "memory_size", 10240),
        ("architecture", "x86_64", "architecture", "x86_64"),
        ("logRetentionDays", "3653", "log_retention_days", 3653),
        ("reservedConcurrency", "1", "reserved_concurrency", 1),
        ("throttleRateLimit", "10000", "throttle_rate_limit", 10000),
        (
            "corsAllowOrigin",
            "https://app.example.com:8443",
            "cors_allow_origin",
            "https://app.example.com:8443",
        ),
        ("corsAllowOrigin", "", "cors_allow_origin", None),
        ("powerValues", "[128,3008]", "power_values", (128, 3008)),
        ("alarmEmail", "ops@example.com", "alarm_email", "ops@example.com"),
        ("authMode", "none", "auth_mode", "none"),
    ],
)
def test_valid_edge_values_are_accepted(key: str, value: str, field: str, expected: object) -> None:
    assert getattr(parse_settings(prod_raw(**{key: value})), field) == expected


BAD_VALUES = [
    ("memorySize", "127", "128 to 10240"),
    ("memorySize", "10241", "128 to 10240"),
    ("memorySize", "1024.5", "integer"),
    ("architecture", "arm", "arm64, x86_64"),
    ("timeout", "0", "1 to 900"),
    ("timeout", "901", "1 to 900"),
    ("logRetentionDays", "0", "retention periods"),
    ("logRetentionDays", "31", "retention periods"),
    ("logRetentionDays", "month", "retention periods"),
    ("reservedConcurrency", "0", "stop every invocation"),
    ("reservedConcurrency", "-2", "unreserved"),
    ("reservedConcurrency", "x", "unreserved"),
    ("throttleRateLimit", "0", "1 to 10000"),
    ("throttleRateLimit", "10001", "1 to 10000"),
    ("throttleRateLimit", "0.5", "integer"),
    ("throttleRateLimit", "fast", "integer"),
    ("throttleBurstLimit", "0", "1 to 5000"),
    ("throttleBurstLimit", "5001", "1 to 5000"),
    ("authMode", "cognito", "api_key, iam, jwt, none"),
    ("apiType", "HTTP", "rest, http"),
    ("apiType", "websocket", "rest, http"),
    ("jwtIssuer", "http://issuer.example.com", "https URL"),
    ("jwtIssuer", "issuer.example.com", "https URL"),
    ("jwtIssuer", "https://", "https URL"),
    ("jwtIssuer", "https://issuer.example.com/?x=1", "https URL"),
    ("jwtAudience", '["app","app"]', "distinct"),
    ("jwtAudience", '[""]', "non-empty"),
    ("jwtAudience", "[1]", "audience"),
    ("jwtAudience", '"app"', "audience"),
    ("corsAllowOrigin", "https://app.example.com/", "one origin"),
    ("corsAllowOrigin", "app.example.com", "one origin"),
    ("tableDeletionProtection", "yes", "true or false"),
    ("protectTable", "True", "true or false"),
    ("tracing", "1", "true or false"),
    ("manageApiGatewayAccount", "", "true or false"),
    ("powerTuning", "on", "true or false"),
    ("powerValues", "[]", "non-empty list"),
    ("powerValues", "[64, 128]", "128 to 10240"),
    ("powerValues", "[128, 128]", "distinct"),
    ("powerValues", '["128"]', "memory sizes"),
    ("powerValues", "[128, true]", "memory sizes"),
    ("powerValues", "128;256", "memory sizes"),
    ("powerValues", "128,512", "memory sizes"),  # a plain string: Pulumi refuses it before the program runs
    ("powerTuningTimeout", "9", "10 to 900"),
    ("powerTuningTimeout", "901", "10 to 900"),
    ("alarmEmail", "ops@", "e-mail address"),
    ("alarmEmail", "two words@example.com", "e-mail address"),
    ("latencyAlarmMs", "0", "1 to 29000"),
    ("latencyAlarmMs", "30000", "1 to 29000"),
    ("idempotencyTtlHours", "0", "1 to 720"),
    ("idempotencyTtlHours", "721", "1 to 720"),
    ("idempotencyTtlHours", "24h", "1 to 720"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), BAD_VALUES)
def test_each_bad_value_names_the_key_and_what_is_allowed(key: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(prod_raw(**{key: value}))
    assert raised.value.key == key
    message = str(raised.value)
    assert f"'{key}'" in message
    assert repr(value) in message
    assert allowed in message
    assert f"pulumi config set {key}" in message


HTTP_JWT = {
    "apiType": "http",
    "authMode": "jwt",
    "jwtIssuer": "https://issuer.example.com/pool",
    "jwtAudience": '["app-client"]',
}


def test_http_with_iam_or_jwt_parses() -> None:
    assert parse_settings(prod_raw(apiType="http", authMode="iam")).api_type == "http"
    settings = parse_settings(prod_raw(**HTTP_JWT))
    assert (settings.auth_mode, settings.jwt_issuer, settings.jwt_audience) == (
        "jwt",
        "https://issuer.example.com/pool",
        ("app-client",),
    )


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        # HTTP APIs have no API keys: the message names both settings and the choices of each door
        (
            {"apiType": "http"},
            "authMode",
            ["'api_key'", "apiType 'http'", "iam, jwt, none", "apiType 'rest'"],
        ),
        (
            {"authMode": "jwt"},
            "authMode",
            ["'jwt'", "apiType 'rest'", "api_key, iam, none", "apiType 'http'"],
        ),
        ({**HTTP_JWT, "jwtIssuer": ""}, "jwtIssuer", ["https URL", "authMode is 'jwt'"]),
        ({**HTTP_JWT, "jwtAudience": "[]"}, "jwtAudience", ["at least one audience", "authMode is 'jwt'"]),
    ],
)
def test_a_front_door_without_the_auth_it_offers_stops_the_program(
    overrides: dict[str, str], key: str, expected: list[str]
) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(prod_raw(**overrides))
    assert raised.value.key == key
    for part in [f"'{key}'", f"pulumi config set {key}", *expected]:
        assert part in str(raised.value)


def test_every_key_has_a_bad_value_case() -> None:
    assert {key for key, _, _ in BAD_VALUES} == set(PARSERS)


def test_a_missing_key_is_reported_by_name() -> None:
    raw = prod_raw()
    del raw["timeout"]
    with pytest.raises(SettingsError, match="'timeout'"):
        parse_settings(raw)


def test_an_unset_alarm_email_means_no_notifications() -> None:
    raw = prod_raw()
    del raw["alarmEmail"]
    assert parse_settings(raw).alarm_email is None


def test_pulumi_yaml_says_what_the_http_front_door_loses() -> None:
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]
    description = " ".join(config["apiType"]["description"].split()).lower()
    for loss in (
        "request validation",
        "api keys",
        "usage plans and quotas",
        "waf",
        "private endpoints",
        "edge-optimised endpoints",
    ):
        assert loss in description, loss
    assert config["apiType"]["default"] == "rest"
