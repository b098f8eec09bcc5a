"""The Postman collection stays in step with api/openapi.yaml, and its expectations hold locally."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import yaml

from api.stack_outputs import auth_headers
from emulator.local_stack import LocalStack
from tests.e2e.served_stack import PROJECT_ROOT, ServedStack

POSTMAN = PROJECT_ROOT / "api" / "postman"
COLLECTION = json.loads((POSTMAN / "serverless-crud.postman_collection.json").read_text())
SPEC = yaml.safe_load((PROJECT_ROOT / "api" / "openapi.yaml").read_text())
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head"}
_VARIABLE = re.compile(r"\{\{(\w+)\}\}")
_EXPECTED_STATUS = re.compile(r"pm\.response\.to\.have\.status\((\d{3})\)")


def requests_in(items: list[dict]) -> Iterator[dict]:
    """Every request of the collection, folders flattened, in run order."""
    for item in items:
        if "item" in item:
            yield from requests_in(item["item"])
        else:
            yield item


REQUESTS = list(requests_in(COLLECTION["item"]))


def spec_operation(method: str, path_segments: list[str]) -> tuple[str, str] | None:
    """The (METHOD, path template) in the spec that a collection request calls, if any."""
    for template, path_item in SPEC["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) != len(path_segments) or method.lower() not in path_item:
            continue
        pairs = zip(parts, path_segments, strict=True)
        if all(p == s or (p.startswith("{") and _VARIABLE.fullmatch(s)) for p, s in pairs):
            return method, template
    return None


def test_every_request_calls_an_operation_of_the_spec() -> None:
    unknown = [
        r["name"]
        for r in REQUESTS
        if spec_operation(r["request"]["method"], r["request"]["url"]["path"]) is None
    ]
    assert unknown == []


def test_every_operation_of_the_spec_has_a_request() -> None:
    covered = {spec_operation(r["request"]["method"], r["request"]["url"]["path"]) for r in REQUESTS}
    operations = {
        (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert operations - covered == set()


def script_of(request: dict) -> str:
    return "\n".join(
        line for event in request["event"] if event["listen"] == "test" for line in event["script"]["exec"]
    )


@pytest.mark.parametrize("request_item", REQUESTS, ids=[r["name"] for r in REQUESTS])
def test_every_request_checks_status_and_body(request_item: dict) -> None:
    script = script_of(request_item)
    assert len(_EXPECTED_STATUS.findall(script)) == 1
    assert script.count("pm.test(") >= 2  # the status and at least one check of what came back


def test_collection_authenticates_with_the_api_key_header() -> None:
    settings = {entry["key"]: entry["value"] for entry in COLLECTION["auth"]["apikey"]}
    assert settings == {"key": "x-api-key", "value": "{{apiKey}}", "in": "header"}


@pytest.mark.parametrize("name", ["local", "prod"])
def test_environments_name_the_stage_and_commit_no_key(name: str) -> None:
    environment = json.loads((POSTMAN / f"{name}.postman_environment.json").read_text())
    values = {entry["key"]: entry for entry in environment["values"]}
    assert values["baseUrl"]["value"].endswith("/prod")
    assert values["apiKey"]["value"] == ""
    assert values["apiKey"]["type"] == "secret"


def _substitute(text: str, variables: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda match: variables[match.group(1)], text)


def _replay(outputs: dict, items: list[dict]) -> list[str]:
    """Send the requests in order, as Newman would; the failures (status other than the one expected).

    The collection's scripts only set ``itemId``, ``rpcId`` and ``idemKey`` (fresh per run, before each
    folder's create) and save the ``ETag``: mirrored here. Each request carries what the front door asks
    for (the API key on REST, an Authorization header on an HTTP API with iam or jwt)."""
    variables = {
        "baseUrl": outputs["api_url"],
        "itemId": f"postman-{uuid.uuid4().hex[:12]}",
        "rpcId": f"postman-rpc-{uuid.uuid4().hex[:12]}",
        "idemKey": f"postman-key-{uuid.uuid4().hex[:12]}",
        "etag": "",
    }
    failures = []
    for item in items:
        spec = item["request"]
        headers = {h["key"]: _substitute(h["value"], variables) for h in spec["header"]}
        if spec.get("auth", {}).get("type") != "noauth":
            headers.update(auth_headers(outputs))
        body = spec.get("body", {}).get("raw")
        request = urllib.request.Request(
            _substitute(spec["url"]["raw"], variables),
            data=None if body is None else _substitute(body, variables).encode(),
            headers=headers,
            method=spec["method"],
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, etag = response.status, response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            status, etag = error.code, error.headers.get("ETag")
        (expected,) = _EXPECTED_STATUS.findall(script_of(item))
        if status != int(expected):
            failures.append(f"{item['name']}: {status}, expected {expected}")
        if 'collectionVariables.set("etag"' in script_of(item) and etag:
            variables["etag"] = etag
    return failures


def api_key_checks(items: list[dict]) -> list[dict]:
    """The requests that test the REST stage's API key (sent without it): HTTP APIs have no API keys."""
    return [item for item in items if item["request"].get("auth", {}).get("type") == "noauth"]


@pytest.mark.slow
def test_the_collection_passes_against_the_local_stack(served_stack: ServedStack) -> None:
    assert api_key_checks(REQUESTS) != []
    assert _replay(served_stack.outputs, REQUESTS) == []


@pytest.mark.slow
def test_the_crud_flows_pass_against_the_local_http_api(http_api_stack: LocalStack) -> None:
    keyed = api_key_checks(REQUESTS)
    assert _replay(http_api_stack.outputs, [item for item in REQUESTS if item not in keyed]) == []


@pytest.mark.slow
def test_a_run_stopped_after_the_creates_does_not_break_the_next(served_stack: ServedStack) -> None:
    """Items are created under fresh ids each run: a run that stopped before its deletes leaves them behind,
    and the next run's creates must not collide with them (409)."""
    tutorial_create = next(item for item in REQUESTS if item["name"] == "create")
    assert _replay(served_stack.outputs, REQUESTS[: REQUESTS.index(tutorial_create) + 1]) == []
    assert _replay(served_stack.outputs, REQUESTS) == []


_SET_VARIABLE = re.compile(r'pm\.collectionVariables\.set\("(\w+)"')


def _used_variables(item: dict) -> set[str]:
    spec = item["request"]
    texts = [spec["url"]["raw"], spec.get("body", {}).get("raw", ""), *(h["value"] for h in spec["header"])]
    return {name for text in texts for name in _VARIABLE.findall(text)}


def _set_by(item: dict, listen: str) -> set[str]:
    lines = [line for e in item.get("event", []) if e["listen"] == listen for line in e["script"]["exec"]]
    return set(_SET_VARIABLE.findall("\n".join(lines)))


def test_every_variable_is_set_before_a_request_uses_it() -> None:
    """Postman sends an unset ``{{variable}}`` literally: the request would fail for a confusing reason."""
    environment = json.loads((POSTMAN / "local.postman_environment.json").read_text())
    known = {entry["key"] for entry in environment["values"]}
    unset = []
    for item in REQUESTS:
        known |= _set_by(item, "prerequest")
        unset += [f"{item['name']}: {{{{{name}}}}}" for name in sorted(_used_variables(item) - known)]
        known |= _set_by(item, "test")
    assert unset == []
