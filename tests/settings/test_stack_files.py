"""The offline reader: Pulumi.yaml's defaults, then a stack file, typed as the engine types them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from settings.stack_files import StackFileError, read_stack_settings
from settings.stack_settings import SettingsError
from tests.components.harness import PROJECT_DIR


def test_without_a_stack_the_project_defaults_apply() -> None:
    config = read_stack_settings(None)
    assert config.source == "project defaults (Pulumi.yaml)"
    assert (config.settings.throttle_rate_limit, config.settings.throttle_burst_limit) == (100, 200)
    assert config.settings.log_retention_days == 30
    assert config.settings.architecture == "arm64"


def test_the_prod_stack_file_overrides_the_defaults() -> None:
    config = read_stack_settings("prod")
    assert config.source == "stack prod (Pulumi.prod.yaml)"
    assert (config.settings.throttle_rate_limit, config.settings.throttle_burst_limit) == (50, 100)
    assert config.settings.log_retention_days == 90
    assert config.settings.cors_allow_origin == "*"  # not in the stack file: Pulumi.yaml's default


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path


def write_stack(project: Path, body: str, name: str = "dev") -> None:
    (project / f"Pulumi.{name}.yaml").write_text(body, encoding="utf-8")


def test_values_are_typed_as_the_engine_passes_them(project: Path) -> None:
    write_stack(
        project,
        "config:\n"
        "  aws:region: eu-west-1\n"
        "  serverless-crud:powerValues: [128, 512]\n"
        "  serverless-crud:tracing: false\n"
        "  serverless-crud:timeout: 20\n"
        "  corsAllowOrigin: https://app.example.com\n",  # no namespace: the project's, as Pulumi reads it
    )
    settings = read_stack_settings("dev", project).settings
    assert settings.power_values == (128, 512)
    assert settings.tracing is False
    assert settings.timeout == 20
    assert settings.cors_allow_origin == "https://app.example.com"


def test_a_bad_value_stops_with_the_message_pulumi_up_gives(project: Path) -> None:
    write_stack(project, "config:\n  serverless-crud:throttleRateLimit: 0\n")
    with pytest.raises(SettingsError) as raised:
        read_stack_settings("dev", project)
    assert raised.value.key == "throttleRateLimit"
    assert str(raised.value) == (
        "config 'throttleRateLimit' = '0' is not allowed: an integer from 1 to 10000. "
        "Change it with `pulumi config set throttleRateLimit <value>` (declared in Pulumi.yaml)."
    )


def test_a_string_where_a_number_belongs_names_the_key(project: Path) -> None:
    write_stack(project, "config:\n  serverless-crud:memorySize: lots\n")
    with pytest.raises(SettingsError, match="'memorySize' = 'lots'"):
        read_stack_settings("dev", project)


def test_an_unknown_stack_names_the_missing_file_and_the_known_stacks(project: Path) -> None:
    write_stack(project, "config: {}\n", name="staging")
    with pytest.raises(StackFileError) as raised:
        read_stack_settings("prdo", project)
    assert "no stack file Pulumi.prdo.yaml" in str(raised.value)
    assert "(staging)" in str(raised.value)


def test_malformed_yaml_names_the_file(project: Path) -> None:
    write_stack(project, "config:\n  serverless-crud:memorySize: [1024\n")
    with pytest.raises(StackFileError, match=r"Pulumi\.dev\.yaml is not valid YAML"):
        read_stack_settings("dev", project)


def test_a_stack_file_that_is_not_a_mapping_is_refused(project: Path) -> None:
    write_stack(project, "- memorySize\n")
    with pytest.raises(StackFileError, match=r"Pulumi\.dev\.yaml must be a YAML mapping"):
        read_stack_settings("dev", project)


def test_an_undeclared_project_key_is_refused_by_name(project: Path) -> None:
    write_stack(project, "config:\n  serverless-crud:memorySise: 512\n")
    with pytest.raises(
        StackFileError, match=r"'serverless-crud:memorySise', which Pulumi\.yaml does not declare"
    ):
        read_stack_settings("dev", project)


def test_an_empty_stack_file_means_the_defaults(project: Path) -> None:
    write_stack(project, "")
    config = read_stack_settings("dev", project)
    assert config.source == "stack dev (Pulumi.dev.yaml)"
    assert config.settings == read_stack_settings(None, project).settings
