"""Paging iterators: they stream (one page fetched per page consumed) and refuse loops instead of reading forever."""

from __future__ import annotations

from typing import Any

import pytest
from rest_loopback import LoopbackApi, Received, Reply

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.rest.client import RestClient
from lumina_integration.hooks.rest.paging import PageLoopError, keyset_pages, offset_pages, token_pages

ISSUES = [{"id": str(i)} for i in range(1, 8)]


def jira_like_search(request: Received) -> Reply:
    """``POST /search/jql``: 3 issues a page, ``nextPageToken`` until the last page (no ``total``)."""
    body = request.json()
    start = int(body.get("nextPageToken") or 0)
    page: dict[str, Any] = {"issues": ISSUES[start : start + 3]}
    if start + 3 < len(ISSUES):
        page["nextPageToken"] = str(start + 3)
    return Reply(200, page)


def test_token_pages_read_every_page_over_http_and_stream(api: LoopbackApi) -> None:
    api.route("POST", "/rest/api/3/search/jql", jira_like_search)
    client = RestClient(api.base_url)
    pages = token_pages(
        lambda token: client.post_json("/rest/api/3/search/jql", {"jql": "project = X", "nextPageToken": token}),
        lambda page: page.get("nextPageToken"),
    )
    assert not api.received  # a generator: nothing is fetched before the first page is asked for
    first = next(pages)
    assert len(api.received) == 1 and [i["id"] for i in first["issues"]] == ["1", "2", "3"]
    rest = list(pages)
    assert [i["id"] for p in [first, *rest] for i in p["issues"]] == [i["id"] for i in ISSUES]
    assert len(api.received) == 3


def test_a_token_handed_back_twice_is_a_page_loop() -> None:
    tokens = iter(["a", "b", "a"])
    pages = token_pages(lambda token: {"token": token}, lambda page: next(tokens))
    with pytest.raises(PageLoopError, match=r"returned the page token 'a'\.\.\. a second time") as raised:
        list(pages)
    assert isinstance(raised.value, StopRun)


def test_the_first_token_counts_as_seen() -> None:
    with pytest.raises(PageLoopError):
        list(token_pages(lambda token: {}, lambda page: "resume", first_token="resume"))


def test_offset_pages_advance_by_what_the_server_returned() -> None:
    rows = list(range(10))
    asked: list[tuple[int, int]] = []

    def fetch(start: int, size: int) -> dict[str, Any]:
        asked.append((start, size))
        return {"values": rows[start : start + min(size, 3)], "total": len(rows)}  # the server caps pages at 3

    pages = list(offset_pages(fetch, lambda p: p["values"], page_size=5, total=lambda p: p["total"], key=lambda r: r))
    assert [v for p in pages for v in p["values"]] == rows
    assert asked == [(0, 5), (3, 5), (6, 5), (9, 5)]


def test_an_offset_the_server_ignores_is_a_page_loop() -> None:
    with pytest.raises(PageLoopError, match="offset 2 returned the same page"):
        list(offset_pages(lambda start, size: [1, 2], lambda p: p, page_size=2, key=lambda r: r))


def test_keyset_pages_start_after_the_last_key_and_stop_on_a_short_page() -> None:
    rows = [("2026-01-01 10:00:00", f"id{i}") for i in range(4)] + [("2026-01-01 10:00:01", "a")]
    afters: list[Any] = []

    def fetch(after: tuple[str, str] | None) -> list[tuple[str, str]]:
        afters.append(after)
        return [r for r in rows if after is None or r > after][:2]

    pages = list(keyset_pages(fetch, lambda p: p, lambda r: r, page_size=2))
    assert [r for p in pages for r in p] == rows  # ties on the stamp are paged through by id
    assert afters == [None, rows[1], rows[3]]


def test_keyset_pages_can_read_past_short_pages_until_an_empty_one() -> None:
    data = [[1], [2, 3], [4], []]
    pages = list(
        keyset_pages(lambda after: data.pop(0), lambda p: p, lambda r: r, page_size=3, short_page_is_last=False)
    )
    assert pages == [[1], [2, 3], [4]]


def test_a_keyset_that_does_not_advance_is_a_page_loop() -> None:
    with pytest.raises(PageLoopError, match="which is not past it"):
        list(keyset_pages(lambda after: [1, 2], lambda p: p, lambda r: r, page_size=2))


def test_max_pages_bounds_any_paging() -> None:
    counter = iter(range(10**6))
    with pytest.raises(PageLoopError, match="max_pages=5"):
        list(token_pages(lambda t: None, lambda p: str(next(counter)), max_pages=5))
