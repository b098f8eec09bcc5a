"""``make chaos``: each invariant of the audit catches its violation; a short run under faults finds none; a
function that acknowledges writes it never made is caught end to end (exit 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api.stack_outputs import auth_headers
from emulator.local_stack import LocalStack
from programs import chaos
from programs.chaos import Acked, KeyedCreate, Ledger, Write, audit

FUNCTION_DIR = Path(__file__).resolve().parents[2] / "function"


def _item(version: int, mark: str) -> dict:
    return {"id": "x", "version": version, "w": mark, "n": 0}


HISTORY = [
    Acked("create", "x", "a", 201, 1),
    Acked("put", "x", "b", 200, 2),
    Write("patch", "x", "c", 502),  # outcome unknown: it may have been made
    Write("put", "x", "d", 412),  # refused: it was not made
]


@pytest.mark.parametrize("stored", [_item(2, "b"), _item(3, "c")])
def test_a_history_the_table_explains_passes(stored: dict) -> None:
    assert audit(HISTORY, {"x": stored}) == []


@pytest.mark.parametrize(
    ("writes", "table", "violation"),
    [
        (
            HISTORY,
            {"x": _item(1, "a")},
            "x: write b acknowledged at version 2 was lost (the table holds version 1)",
        ),
        (HISTORY, {"x": _item(2, "a")}, "x: version 2 was acknowledged to write b, but holds a"),
        (HISTORY, {"x": _item(3, "zz")}, "x: version 3 holds mark 'zz', which no write request carried"),
        (
            HISTORY,
            {"x": _item(3, "d")},
            "x: version 3 was made by write d, which was answered 412 (not made)",
        ),
        (HISTORY, {"x": _item(4, "c")}, "x: at version 4, but only 3 writes may have been made"),
        (HISTORY, {"x": _item(3, "b")}, "x: version 3 holds write b, acknowledged at version 2"),
        (
            HISTORY,
            {},
            "x: write a was acknowledged at version 1, but the item is gone and no delete was made",
        ),
        (
            [*HISTORY, Acked("delete", "x", "", 204, 0)],
            {"x": _item(2, "b")},
            "x: acknowledged as deleted, but",
        ),
        (
            HISTORY,
            {"x": _item(2, "b"), "y": {"id": "y", "version": 1, "w": "q"}},
            "y: in the table, but no client",
        ),
    ],
)
def test_each_invariant_catches_its_violation(writes: list[Write], table: dict, violation: str) -> None:
    found = audit(writes, table)
    assert any(line.startswith(violation) for line in found), found


def test_an_unknown_delete_may_explain_a_missing_item() -> None:
    assert audit([*HISTORY, Write("delete", "x", "", None)], {}) == []


def test_a_list_pass_that_returns_an_item_twice_is_a_violation() -> None:
    ledger = Ledger()
    ledger.listed(["x"])
    assert ledger.pagination_violations == ["a list pass returned item x twice"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "120"], "argument --rate: '120' is not a percentage"),
        (["--clients", "0"], "argument --clients: '0' is not a number of clients"),
        (["--fault", "disk-full=1"], "argument --fault: unknown fault 'disk-full'"),
        (["--duration", "soon"], "argument --duration: 'soon' is not a duration"),
    ],
)
def test_bad_arguments_are_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        chaos.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


SHORT_RUN = ["--duration", "3", "--requests", "400", "--clients", "4", "--seed", "5"]


@pytest.mark.slow
def test_a_short_run_under_faults_finds_no_violation(capsys: pytest.CaptureFixture[str]) -> None:
    assert chaos.main([*SHORT_RUN, "--rate", "10", "--no-crash"]) == 0
    out = capsys.readouterr().out
    assert "  violations   0" in out
    faults_line = next(line for line in out.splitlines() if line.startswith("  faults "))
    assert "dynamodb-throttle" in faults_line
    assert "  statuses     " in out


@pytest.mark.slow
def test_a_crash_and_restart_on_the_same_state_loses_no_acknowledged_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert chaos.main([*SHORT_RUN, "--rate", "0", "--duration", "4"]) == 0
    out = capsys.readouterr().out
    assert "  violations   0" in out
    crash_line = next(line for line in out.splitlines() if line.startswith("  crash "))
    assert "restarted on the same state" in crash_line
    assert "kill -9 of 0 " not in crash_line  # it did kill the stack's processes


@pytest.mark.slow
def test_a_function_that_acknowledges_writes_it_did_not_make_fails_the_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "function"
    shutil.copytree(FUNCTION_DIR, broken, ignore=shutil.ignore_patterns("__pycache__"))
    with (broken / "app.py").open("a", encoding="utf-8") as app:  # only the handler's contract is relied on
        app.write(
            "\n\nimport json\n\n_serve = lambda_handler\n\n\n"
            "def lambda_handler(event, context):  # broken on purpose: odd-numbered creates are not written\n"
            "    body = json.loads(event.get('body') or '{}') if event.get('httpMethod') == 'POST' else {}\n"
            "    if str(body.get('id', '')).endswith(('1', '3', '5', '7', '9')):\n"
            "        item = {**body, 'version': 1}\n"
            "        return {'statusCode': 201, 'headers': {'ETag': '\"1\"'}, 'body': json.dumps(item),"
            " 'isBase64Encoded': False}\n"
            "    return _serve(event, context)\n"
        )
    assert (
        chaos.main([*SHORT_RUN, "--rate", "0", "--no-crash", "--function-dir", str(broken)])
        == chaos.EXIT_VIOLATIONS
    )
    out = capsys.readouterr().out
    assert "  violations   0" not in out
    assert "but the item is gone and no delete was made" in out


def _keyed(
    key: str = "k1", mark: str = "0.1", acked: tuple[str, ...] = ("a",), reused: int = 0
) -> KeyedCreate:
    return KeyedCreate(key, mark, sends=2, dropped=1, acked_ids=acked, reused=reused)


def _keyed_item(item_id: str, key: str = "k1", mark: str = "0.1", version: int = 1) -> dict:
    return {item_id: {"id": item_id, "k": key, "w": mark, "version": version}}


@pytest.mark.parametrize(
    ("keyed", "table", "violation"),
    [
        ([_keyed()], {**_keyed_item("a"), **_keyed_item("b")}, "2 items were made for one key"),
        ([_keyed()], {}, "acknowledged as ['a'], the table holds []"),
        ([_keyed(acked=("a", "b"))], _keyed_item("a"), "acknowledged as ['a', 'b']"),
        ([_keyed(reused=1)], _keyed_item("a"), "refused as another request (422)"),
        ([_keyed()], _keyed_item("a", version=2), "is not the keyed create's"),
        ([], _keyed_item("a"), "no client sent it"),
    ],
)
def test_each_keyed_invariant_catches_its_violation(keyed: list, table: dict, violation: str) -> None:
    assert any(violation in found for found in audit([], table, keyed)), audit([], table, keyed)


def test_a_keyed_create_that_was_never_acknowledged_may_have_made_one_item_or_none() -> None:
    assert audit([], {}, [_keyed(acked=())]) == []
    assert audit([], _keyed_item("a"), [_keyed(acked=())]) == []


def test_a_client_gets_past_the_local_http_api(http_api_stack: LocalStack) -> None:
    outputs = http_api_stack.outputs
    ledger = chaos.Ledger()
    client = chaos.Client(
        0, outputs["api_url"], auth_headers(outputs), chaos.SharedIds(), ledger, chaos.Budget(20, 12), seed=1
    )
    client.run()
    assert ledger.requests() >= 12
    refused = {status for status in ledger.statuses if status in {"401", "403"}}
    assert refused == set()
    assert {"200", "201"} & set(ledger.statuses)
