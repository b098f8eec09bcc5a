"""The /items routes: every status, optimistic locking, merge patch, paging, exact numbers, reserved words."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_create_with_server_id_returns_201_location_etag_and_managed_attributes(api):
    reply = api.post("/items", {"title": "first", "tags": ["a", "b"], "nested": {"ok": True, "none": None}})
    assert reply.status == 201
    item = reply.json
    assert re.fullmatch(r"[0-9a-f]{32}", item["id"])
    assert item["version"] == 1
    assert RFC3339_UTC.fullmatch(item["createdAt"])
    assert item["createdAt"] == item["updatedAt"]
    assert item["title"] == "first"
    assert item["tags"] == ["a", "b"]
    assert item["nested"] == {"ok": True, "none": None}
    assert reply.headers["ETag"] == '"1"'
    assert reply.headers["Location"] == f"/prod/items/{item['id']}"
    assert reply.headers["Content-Type"] == "application/json"
    assert api.get(f"/items/{item['id']}").json == item


def test_create_with_client_id_and_duplicate_is_409_without_overwrite(api, raw_table):
    assert api.post("/items", {"id": "order:42", "total": 5}).status == 201
    reply = api.post("/items", {"id": "order:42", "total": 999})
    assert reply.status == 409
    assert reply.headers["Content-Type"] == "application/problem+json"
    problem = reply.json
    assert problem["status"] == 409
    assert problem["title"] == "Conflict"
    assert problem["type"] == "about:blank"
    assert problem["requestId"] == api.last_request_id
    assert "errorType" not in problem  # only the tutorial endpoint adds the Lambda-style fields
    assert raw_table.get_item(Key={"id": "order:42"})["Item"]["total"] == 5


def test_get_returns_etag_and_404_for_missing(api):
    api.put("/items/abc", {"v": 1})
    reply = api.get("/items/abc")
    assert reply.status == 200
    assert reply.headers["ETag"] == '"1"'
    assert reply.json["v"] == 1
    missing = api.get("/items/nope")
    assert missing.status == 404
    assert missing.json["status"] == 404


@pytest.mark.parametrize("bad_id", ["a" * 129, "with space", "slash%2Fin", "ümlaut", "semi;colon", ".", ".."])
def test_invalid_ids_are_400_on_every_item_route(api, bad_id):
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        body = {"x": 1} if method in ("PUT", "PATCH") else None
        assert api.request(method, f"/items/{bad_id}", body).status == 400, method
    assert api.post("/items", {"id": bad_id}).status == 400
    assert api.post("/items", {"id": ""}).status == 400
    assert api.post("/items", {"id": 7}).status == 400


def test_put_creates_then_replaces_keeping_created_at(api):
    created = api.put("/items/k1", {"a": 1, "b": 2})
    assert created.status == 201
    assert created.headers["Location"] == "/prod/items/k1"
    replaced = api.put("/items/k1", {"c": 3})
    assert replaced.status == 200
    assert replaced.headers["ETag"] == '"2"'
    item = replaced.json
    assert item["version"] == 2
    assert item["createdAt"] == created.json["createdAt"]
    assert "a" not in item
    assert "b" not in item
    assert item["c"] == 3
    assert api.get("/items/k1").json == item


def test_put_after_changes_behind_this_environment_is_still_exact(api, raw_table):
    api.put("/items/moved", {"n": 1})  # this environment now remembers version 1
    raw_table.put_item(Item={"id": "moved", "n": 2, "version": 5, "createdAt": "2020-01-01T00:00:00.000Z"})
    replaced = api.put("/items/moved", {"n": 3})
    assert replaced.status == 200
    assert replaced.json["version"] == 6
    assert replaced.json["createdAt"] == "2020-01-01T00:00:00.000Z"
    raw_table.delete_item(Key={"id": "moved"})
    recreated = api.put("/items/moved", {"n": 4})
    assert recreated.status == 201
    assert recreated.json["version"] == 1
    raw_table.put_item(Item={"id": "moved", "n": 5, "version": 1, "createdAt": "2021-01-01T00:00:00.000Z"})
    same_version_other_item = api.put("/items/moved", {"n": 6}).json
    assert same_version_other_item["createdAt"] == "2021-01-01T00:00:00.000Z"
    assert same_version_other_item["version"] == 2


def test_put_if_match_locks_optimistically(api, raw_table):
    api.put("/items/k2", {"n": 1})
    stale = api.put("/items/k2", {"n": 2}, headers={"If-Match": '"7"'})
    assert stale.status == 412
    assert raw_table.get_item(Key={"id": "k2"})["Item"]["n"] == 1
    fresh = api.put("/items/k2", {"n": 2}, headers={"If-Match": '"1"'})
    assert fresh.status == 200
    assert fresh.json["version"] == 2
    assert api.put("/items/k2", {"n": 3}, headers={"If-Match": 'W/"2"'}).status == 412  # weak never matches
    assert api.put("/items/k2", {"n": 3}, headers={"If-Match": '"1", "2"'}).status == 200
    assert api.put("/items/k2", {"n": 4}, headers={"If-Match": "*"}).json["version"] == 4


def test_put_if_match_on_missing_item_is_412_and_creates_nothing(api, raw_table):
    assert api.put("/items/ghost", {"n": 1}, headers={"If-Match": '"1"'}).status == 412
    assert api.put("/items/ghost", {"n": 1}, headers={"If-Match": "*"}).status == 412
    assert "Item" not in raw_table.get_item(Key={"id": "ghost"})


def test_put_if_none_match_star_only_creates(api):
    assert api.put("/items/once", {"n": 1}, headers={"If-None-Match": "*"}).status == 201
    again = api.put("/items/once", {"n": 2}, headers={"If-None-Match": "*"})
    assert again.status == 412
    assert api.get("/items/once").json["n"] == 1
    assert api.put("/items/once", {"n": 2}, headers={"If-None-Match": '"1"'}).status == 400
    both = api.put("/items/once", {"n": 2}, headers={"If-None-Match": "*", "If-Match": '"1"'})
    assert both.status == 400


@pytest.mark.parametrize("header", ["garbage", '"1", nonsense', '"-1"', '""'])
def test_malformed_if_match_is_400(api, header):
    api.put("/items/m", {"n": 1})
    assert api.put("/items/m", {"n": 2}, headers={"If-Match": header}).status == 400
    assert api.get("/items/m").json["version"] == 1


def test_header_names_are_case_insensitive_and_multi_value_headers_count(api):
    api.put("/items/h", {"n": 1})
    assert api.put("/items/h", {"n": 2}, headers={"if-match": '"9"'}).status == 412
    assert api.put("/items/h", {"n": 2}, headers={"IF-MATCH": '"1"'}).status == 200
    only_multi = api.put(
        "/items/h", {"n": 3}, event_changes={"headers": None, "multiValueHeaders": {"If-Match": ['"5"']}}
    )
    assert only_multi.status == 412


def test_patch_is_json_merge_patch(api):
    api.put("/items/p", {"keep": 1, "drop": 2, "nested": {"a": 1, "b": {"c": 2, "d": 3}}, "list": [1, 2]})
    reply = api.patch(
        "/items/p",
        {"drop": None, "nested": {"b": {"c": None, "e": 4}, "z": "new"}, "list": [3], "added": {"x": None}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert reply.status == 200
    assert reply.headers["ETag"] == '"2"'
    item = reply.json
    body = {k: v for k, v in item.items() if k not in ("id", "version", "createdAt", "updatedAt")}
    assert body == {
        "keep": 1,
        "nested": {"a": 1, "b": {"d": 3, "e": 4}, "z": "new"},
        "list": [3],
        "added": {},
    }
    assert api.get("/items/p").json == item


def test_patch_statuses(api):
    assert api.patch("/items/none", {"a": 1}).status == 404
    assert api.patch("/items/none", {"a": 1}, headers={"If-Match": '"1"'}).status == 412
    api.put("/items/q", {"a": 1})
    assert api.patch("/items/q", {"a": 2}, headers={"If-Match": '"3"'}).status == 412
    assert api.patch("/items/q", {"a": 2}, headers={"If-Match": '"1"'}).json["a"] == 2
    wrong_type = api.patch("/items/q", {"a": 3}, headers={"Content-Type": "text/plain"})
    assert wrong_type.status == 415
    assert api.get("/items/q").json["a"] == 2


def test_delete_statuses(api):
    api.put("/items/d", {"a": 1})
    assert api.delete("/items/d", headers={"If-Match": '"2"'}).status == 412
    assert api.get("/items/d").status == 200
    reply = api.delete("/items/d", headers={"If-Match": '"1"'})
    assert reply.status == 204
    assert reply.text == ""
    assert "Content-Type" not in reply.headers
    assert api.delete("/items/d").status == 404
    assert api.delete("/items/d", headers={"If-Match": "*"}).status == 412
    api.put("/items/d2", {"a": 1})
    assert api.delete("/items/d2").status == 204
    assert api.get("/items/d2").status == 404


@pytest.mark.parametrize("attribute", ["version", "createdAt", "updatedAt"])
def test_server_managed_attributes_from_clients_are_400(api, attribute, raw_table):
    assert api.post("/items", {"id": "s", attribute: 5}).status == 400
    assert api.put("/items/s", {attribute: 5}).status == 400
    api.put("/items/s", {"a": 1})
    assert api.patch("/items/s", {attribute: 5}).status == 400
    assert raw_table.get_item(Key={"id": "s"})["Item"]["version"] == 1


def test_id_in_put_or_patch_body_is_400(api):
    api.put("/items/i", {"a": 1})
    assert api.put("/items/i", {"id": "i", "a": 2}).status == 400
    assert api.patch("/items/i", {"id": "other"}).status == 400


def test_reserved_words_as_attribute_names_just_work(api):
    words = {
        "name": "n",
        "status": "open",
        "size": 3,
        "date": "2026-01-01",
        "number": 7,
        "data": {"count": 1},
    }
    assert api.put("/items/rw", words).status == 201
    patched = api.patch("/items/rw", {"status": "closed", "timestamp": 5, "data": {"value": 2}}).json
    assert patched["status"] == "closed"
    assert patched["timestamp"] == 5
    assert patched["data"] == {"count": 1, "value": 2}
    assert patched["name"] == "n"
    assert patched["size"] == 3


EXACT_NUMBERS = {
    "tenth": "0.1",
    "tiny": "1E-130",
    "huge": "9.9999999999999999999999999999999999999E+125",
    "int38": "12345678901234567890123456789012345678",
    "neg38": "-0.12345678901234567890123456789012345678",
    "half": "-0.5",
    "zero": "0",
    "float_like": "3.141592653589793",
}


def test_numbers_round_trip_exactly(api):
    raw = "{" + ",".join(f'"{name}":{text}' for name, text in EXACT_NUMBERS.items()) + "}"
    assert api.put("/items/num", raw=raw).status == 201
    for reply in (api.get("/items/num"), api.get("/items", query={"limit": "5"})):
        document = reply.json if "items" not in reply.json else reply.json["items"][0]
        for name, text in EXACT_NUMBERS.items():
            assert document[name] == Decimal(text), name
    text = api.get("/items/num").text
    assert '"int38":12345678901234567890123456789012345678' in text  # a JSON number, not a string
    assert '"tenth":0.1' in text
    assert '"zero":0' in text


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ('{"x": NaN}', "NaN"),
        ('{"x": Infinity}', "Infinity"),
        ('{"x": -Infinity}', "-Infinity"),
        ('{"x": 123456789012345678901234567890123456789}', "39 significant digits"),
        ('{"x": 1E-131}', "below DynamoDB's range"),
        ('{"x": 1E+126}', "above DynamoDB's range"),
        ('{"x": 1', "malformed JSON"),
        ("[1, 2]", "not an object"),
        ('"text"', "not an object"),
        ("null", "not an object"),
        ("", "empty body"),
        ("   ", "blank body"),
        ('{"": 1}', "empty attribute name"),
        ('{"a": {"": 1}}', "empty nested attribute name"),
        ('{"x": "\\ud800"}', "lone surrogate"),
        ('{"x": ' + "[" * 33 + "]" * 33 + "}", "nested deeper than 32"),
        ('{"x": ' + "[" * 100000 + "]" * 100000 + "}", "nested beyond the parser"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(api, raw_table, raw, why):
    for method, path in (("POST", "/items"), ("PUT", "/items/bad"), ("PATCH", "/items/bad")):
        reply = api.request(method, path, raw=raw or None, headers={"Content-Type": "application/json"})
        if raw.strip() == "" and method == "POST":
            reply = api.request(method, path, raw="", headers={"Content-Type": "application/json"})
        assert reply.status == 400, (why, method, reply.text)
        assert reply.headers["Content-Type"] == "application/problem+json"
    assert raw_table.scan()["Count"] == 0


def test_trailing_zeros_still_fit_38_digits(api):
    raw = (
        '{"x": 1000000000000000000000000000000000000000000, "y": 1.50000000000000000000000000000000000000000}'
    )
    reply = api.put("/items/tz", raw=raw)
    assert reply.status == 201
    assert reply.json["x"] == 10**42
    assert reply.json["y"] == Decimal("1.5")


def test_body_over_256_kb_is_413(api, raw_table):
    reply = api.post("/items", {"blob": "x" * (256 * 1024)})
    assert reply.status == 413
    assert raw_table.scan()["Count"] == 0


def test_item_growing_past_400_kb_is_413_and_unchanged(api, raw_table):
    chunk = "y" * (200 * 1024)
    assert api.put("/items/big", {"a": chunk}).status == 201
    reply = api.patch("/items/big", {"b": chunk, "c": "z" * 10})
    assert reply.status == 413
    assert set(raw_table.get_item(Key={"id": "big"})["Item"]) == {
        "id",
        "a",
        "version",
        "createdAt",
        "updatedAt",
    }


def test_base64_bodies_are_decoded(api):
    import base64

    body = base64.b64encode(json.dumps({"a": "é"}).encode()).decode()
    reply = api.put("/items/b64", raw=body, event_changes={"isBase64Encoded": True})
    assert reply.status == 201
    assert reply.json["a"] == "é"
    assert api.put("/items/b64", raw="!!notbase64", event_changes={"isBase64Encoded": True}).status == 400


def test_unsupported_media_type_is_415(api, raw_table):
    assert api.post("/items", {"a": 1}, headers={"Content-Type": "text/plain"}).status == 415
    assert (
        api.put("/items/x", {"a": 1}, headers={"Content-Type": "application/x-www-form-urlencoded"}).status
        == 415
    )
    assert (
        api.post("/items", {"a": 1}, headers={"Content-Type": "application/json; charset=utf-8"}).status
        == 201
    )
    assert raw_table.scan()["Count"] == 1


def test_unknown_path_is_404_and_wrong_method_is_405_with_allow(api):
    assert api.get("/nothing").status == 404
    assert api.get("/items/a/b").status == 404
    reply = api.request("DELETE", "/items")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, POST"
    assert api.request("GET", "/DynamoDBManager").headers["Allow"] == "POST"


def test_list_pages_through_250_items_without_duplicates_or_gaps(api):
    ids = {f"item-{n:03d}" for n in range(257)}
    for item_id in ids:
        assert api.put(f"/items/{item_id}", {"n": 1}).status == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "100"} if cursor is None else {"limit": "100", "cursor": cursor}
        page = api.get("/items", query=query).json
        assert len(page["items"]) <= 100
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 257
    assert set(seen) == ids
    assert pages in (3, 4)  # DynamoDB may hand out one empty last page
    assert len(api.get("/items").json["items"]) == 25  # the default limit


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_bad_limit_is_400(api, limit):
    assert api.get("/items", query={"limit": limit}).status == 400


def test_tampered_cursors_are_400(api):
    for n in range(3):
        api.put(f"/items/c{n}", {"n": n})
    cursor = api.get("/items", query={"limit": "1"}).json["nextCursor"]
    assert api.get("/items", query={"cursor": cursor}).status == 200

    def b64(text: str) -> str:
        import base64

        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    for bad in (
        cursor[:-2] + "!!",
        "x",
        b64('{"id": "c1", "extra": 1}'),
        b64('{"id": 5}'),
        b64('{"id": "has space"}'),
        b64("[1]"),
        b64('{"ID": "c1"}'),
        b64('{"id": {"S": "c1"}}'),
        b64("not json"),
    ):
        reply = api.get("/items", query={"cursor": bad})
        assert reply.status == 400, bad
        assert "cursor" in reply.json["detail"]


def test_cors_origin_comes_from_the_environment(api, monkeypatch):
    assert "Access-Control-Allow-Origin" not in api.get("/items").headers
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://app.example")
    headers = api.get("/items/none").headers  # also on errors
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "ETag" in headers["Access-Control-Expose-Headers"]
