"""Program runs shared by the infra tests: the prod stack as committed, and variants of its config."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from tests.components.harness import ProgramRun, run_program

# pulumi_aws.lambda_ warns about a deprecated resource type (MicrovmsImage) the program never uses, on import.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pulumi_aws import lambda_

    _ = lambda_.Function  # the package loads its modules lazily, on first attribute access

# One config that flips every switch the prod stack leaves on, so the "off" branches are exercised in one run.
VARIANT = {
    "aws:region": "eu-west-1",
    "authMode": "iam",
    "architecture": "x86_64",
    "tracing": False,
    "powerTuning": False,
    "corsAllowOrigin": "",
    "alarmEmail": "ops@example.com",
    "reservedConcurrency": 5,
    "manageApiGatewayAccount": False,
    "tableDeletionProtection": False,
    "protectTable": False,
}


def _run(overrides: dict[str, object] | None = None) -> Iterator[ProgramRun]:
    run = run_program("prod", overrides)
    try:
        yield run
    finally:
        run.close()


@pytest.fixture(scope="session")
def prod() -> Iterator[ProgramRun]:
    """__main__.py run once with Pulumi.yaml + Pulumi.prod.yaml, exactly as committed."""
    yield from _run()


@pytest.fixture(scope="session")
def variant() -> Iterator[ProgramRun]:
    """The prod stack with VARIANT's overrides."""
    yield from _run(VARIANT)


@pytest.fixture(scope="session")
def open_api() -> Iterator[ProgramRun]:
    """The prod stack with authMode none (every method deliberately open)."""
    yield from _run({"authMode": "none"})


HTTP_IAM = {"apiType": "http", "authMode": "iam"}
HTTP_JWT = {
    "apiType": "http",
    "authMode": "jwt",
    "jwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
    "jwtAudience": ["app-client-1", "app-client-2"],
    "corsAllowOrigin": "https://app.example.com",
}


@pytest.fixture(scope="session")
def http_iam() -> Iterator[ProgramRun]:
    """The prod stack behind an HTTP API signed with SigV4."""
    yield from _run(HTTP_IAM)


@pytest.fixture(scope="session")
def http_jwt() -> Iterator[ProgramRun]:
    """The prod stack behind an HTTP API with a JWT authorizer and one CORS origin."""
    yield from _run(HTTP_JWT)
