"""Page iterators for REST APIs: generators that fetch one page at a time and never hold more.

Each takes a ``fetch`` callable (the adapter's request for one page, through its
:class:`~lumina_integration.hooks.rest.client.RestClient`) and small extractors for what the page
says, and yields pages as they come, so a caller that writes each page out before asking for the next
reads any extract in the memory of one page. Each refuses a page loop (:class:`PageLoopError`) instead
of reading forever: a server that hands back a token it already gave, an offset API that ignores the
offset, a keyset that does not advance.

- :func:`token_pages`: ``nextPageToken`` style (Jira Cloud's ``search/jql``, Slack's ``next_cursor``).
- :func:`offset_pages`: ``startAt``/``maxResults`` style (Jira Data Center's ``search``, the changelog).
  Offsets skip or repeat rows while the data changes: use them only for lists that do not move under
  the reader (or dedupe after), never for a table being written to (keyset instead).
- :func:`keyset_pages`: the next page starts after the last row's key, e.g. ``(sys_updated_on, sys_id)``
  on ServiceNow, which stays exact while records change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, TypeVar

from lumina_integration.hooks.base import StopRun

P = TypeVar("P")
K = TypeVar("K")
DEFAULT_MAX_PAGES = 1_000_000


class PageLoopError(StopRun):
    """The server's paging went round in a circle (a repeated token or page): reading on would never end."""


def _fingerprint(token: Any) -> bytes:
    # Tokens can be long (Jira's are ~300 characters): keep a digest of each, not the token.
    return hashlib.blake2b(repr(token).encode(), digest_size=16).digest()


def _check_pages(pages: int, max_pages: int, what: str) -> None:
    if pages > max_pages:
        raise PageLoopError(f"{what}: more than max_pages={max_pages} pages; refusing to page on")


def token_pages(
    fetch: Callable[[str | None], P],
    next_token: Callable[[P], str | None],
    *,
    first_token: str | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    what: str = "token paging",
) -> Iterator[P]:
    """Pages of a cursor/token API: ``fetch(None)`` (or ``first_token``), then ``fetch(next_token(page))`` until none.

    Raises:
        PageLoopError: the server handed back a token it had already given in this read.
    """
    seen: set[bytes] = {_fingerprint(first_token)} if first_token else set()
    token, pages = first_token, 0
    while True:
        pages += 1
        _check_pages(pages, max_pages, what)
        page = fetch(token)
        yield page
        token = next_token(page)
        if not token:
            return
        mark = _fingerprint(token)
        if mark in seen:
            raise PageLoopError(f"{what}: the server returned the page token {token[:40]!r}... a second time")
        seen.add(mark)


def offset_pages(
    fetch: Callable[[int, int], P],
    items: Callable[[P], Sequence[Any]],
    *,
    page_size: int,
    start: int = 0,
    total: Callable[[P], int | None] | None = None,
    key: Callable[[Any], Hashable] | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    what: str = "offset paging",
) -> Iterator[P]:
    """Pages of a ``startAt``/``maxResults`` API: ``fetch(offset, page_size)`` until empty or ``total`` is reached.

    The next offset advances by the items the page held (servers may cap ``maxResults`` below what was
    asked). With ``key`` (an item's id), a page whose first and last items equal those of the page
    before means the server ignores the offset.

    Raises:
        PageLoopError: the server returned the same page for a new offset.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    offset, pages, previous = start, 0, None
    while True:
        pages += 1
        _check_pages(pages, max_pages, what)
        page = fetch(offset, page_size)
        rows = items(page)
        if not rows:
            return
        if key is not None:
            bounds = (key(rows[0]), key(rows[-1]))
            if bounds == previous:
                raise PageLoopError(f"{what}: offset {offset} returned the same page as the offset before it")
            previous = bounds
        yield page
        offset += len(rows)
        known = total(page) if total is not None else None
        if known is not None and offset >= known:
            return


def keyset_pages(
    fetch: Callable[[K | None], P],
    rows: Callable[[P], Sequence[Any]],
    key: Callable[[Any], K],
    *,
    page_size: int,
    after: K | None = None,
    short_page_is_last: bool = True,
    max_pages: int = DEFAULT_MAX_PAGES,
    what: str = "keyset paging",
) -> Iterator[P]:
    """Pages ordered by a unique key: ``fetch(after)`` returns rows with key > ``after``, in key order.

    The next page starts after the key of the last row. A page shorter than ``page_size`` is the last,
    unless ``short_page_is_last`` is False (an API that drops rows the user may not see from a page,
    as ServiceNow's ACLs do): then only an empty page ends the read. ``after`` None is the first page.
    Keys must compare (tuples of ``(stamp, id)`` do).

    Raises:
        PageLoopError: a page whose last key is not past the page before's (the server ignored the key,
            or the key is not unique and the order not total).
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    pages = 0
    while True:
        pages += 1
        _check_pages(pages, max_pages, what)
        page = fetch(after)
        found = rows(page)
        if not found:
            return
        last = key(found[-1])
        if after is not None and not last > after:  # type: ignore[operator]
            raise PageLoopError(f"{what}: the page after {after!r} ends at {last!r}, which is not past it")
        yield page
        if short_page_is_last and len(found) < page_size:
            return
        after = last
