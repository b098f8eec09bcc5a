"""GET /items pages as the contract says: ``nextCursor`` is null on the last page and only there, even where
DynamoDB hands back a LastEvaluatedKey with a page that ends the table (moto never does, so a stand-in
pages the way DynamoDB does)."""

from __future__ import annotations

from typing import Any

import pytest
import store

from tests.function.conftest import Api


class DynamoDBPaging:
    """Scan over ids in key order as DynamoDB pages it: a page stops at Limit or at the size cut (1 MB on
    DynamoDB, every ``cut`` items here), then carrying a LastEvaluatedKey whether or not an item follows."""

    def __init__(self, ids: list[str], cut: int | None = None) -> None:
        self.ids = sorted(ids)
        self.cut = cut
        self.scans: list[int] = []  # the Limit of each Scan

    def scan(self, TableName: str, Limit: int, ExclusiveStartKey: dict | None = None) -> dict[str, Any]:  # noqa: N803
        self.scans.append(Limit)
        start = 0 if ExclusiveStartKey is None else self.ids.index(ExclusiveStartKey["id"]["S"]) + 1
        most = min(Limit, self.cut or Limit)
        taken = self.ids[start : start + most]
        answer: dict[str, Any] = {"Items": [{"id": {"S": i}, "version": {"N": "1"}} for i in taken]}
        if len(taken) == most:
            answer["LastEvaluatedKey"] = {"id": {"S": taken[-1]}}
        return answer


@pytest.fixture
def paging(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(ids: list[str], cut: int | None = None) -> DynamoDBPaging:
        table = DynamoDBPaging(ids, cut)
        monkeypatch.setenv("TABLE_NAME", "items")
        monkeypatch.setattr(store, "client", lambda: table)
        return table

    return install


def pages(limit: int) -> list[list[str]]:
    """Every page of GET /items, following nextCursor until it is null."""
    api, found, cursor = Api(), [], None
    while True:
        query = {"limit": str(limit)} | ({} if cursor is None else {"cursor": cursor})
        reply = api.get("/items", query=query)
        assert reply.status == 200, reply.text
        found.append([item["id"] for item in reply.json["items"]])
        cursor = reply.json["nextCursor"]
        if cursor is None:
            return found
        assert len(found) < 20, "nextCursor never became null"


def test_an_exactly_full_last_page_has_a_null_cursor_in_one_scan(paging: Any) -> None:
    table = paging([f"id-{n}" for n in range(6)])
    assert pages(3) == [["id-0", "id-1", "id-2"], ["id-3", "id-4", "id-5"]]
    assert table.scans == [4, 4]  # one item more than the page, and no second call


def test_a_page_cut_short_at_the_end_of_the_table_has_a_null_cursor(paging: Any) -> None:
    table = paging(["a", "b"], cut=2)
    assert pages(25) == [["a", "b"]]
    assert table.scans == [26, 1]  # the look ahead found nothing


def test_pages_cut_short_list_every_item_once_and_end_with_items(paging: Any) -> None:
    ids = [f"id-{n}" for n in range(8)]
    paging(ids, cut=3)
    found = pages(5)
    assert [len(page) for page in found] == [3, 3, 2]
    assert [item for page in found for item in page] == ids


def test_an_empty_table_is_one_empty_last_page(paging: Any) -> None:
    paging([])
    assert pages(25) == [[]]
