"""Reading issues by window, and their comments, worklogs and changelogs, one page at a time.

Issues (:class:`IssueReader`):

- Cloud: ``POST /rest/api/3/search/jql``, paged by ``nextPageToken`` until ``isLast`` (no ``total``).
  Data Center: ``POST /rest/api/2/search``, paged by ``startAt`` against ``total``.
- The JQL (:mod:`.jql`) asks for ``updated`` from the minute at or before the window's start to the minute
  at or after its end, ``ORDER BY updated ASC, id ASC``. What lies at or past the exact end is dropped
  (the next window reads it); the minute before the start is read again on purpose: JQL cannot say
  "after 10:15:30", only "from 10:15", and a strict ``>`` on the last seen minute would miss every issue
  updated later in that minute.
- An expired ``nextPageToken`` (Cloud answers 400 naming the token) restarts the search from the minute
  of the last issue read; :class:`MinuteDedupe` drops the ``(id, updated)`` pairs this read already
  yielded in that minute, so the restart neither repeats nor skips.
- The removed ``/rest/api/{2|3}/search`` answers 410 on Cloud (CHANGE-2046): :class:`SearchEndpointGone`,
  which the hook turns into a switch to ``search/jql`` (flavor ``auto``) or a clear error.

Children: comments (``issue/{id}/comment``) and changelogs (``expand=changelog``, then
``issue/{id}/changelog`` when an issue has more entries than the search returned) of the issues changed
in the window; worklogs from the site-wide ``worklog/updated`` feed (and ``worklog/deleted`` for
tombstones), fetched by id through ``POST worklog/list``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lumina_integration.hooks.base import StopRun
from lumina_integration.hooks.jira.fields import DELETED
from lumina_integration.hooks.rest.client import RestClient, RestError
from lumina_integration.hooks.rest.paging import offset_pages, token_pages

log = logging.getLogger(__name__)
WORKLOG_LIST_MAX = 1000  # ids per POST worklog/list


class PageTokenExpired(RuntimeError):
    """The server refused a ``nextPageToken`` it handed out (expired or invalidated)."""


class SearchEndpointGone(StopRun):
    """The search endpoint answered 410: Jira Cloud removed it (CHANGE-2046)."""


class TooManyRestarts(StopRun):
    """A read kept losing its page token; the site may be reindexing."""


def parse_stamp(text: Any) -> datetime | None:
    """Jira's ``2026-12-04T10:15:30.123+0000`` as an aware UTC datetime (None for none or nonsense)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


@dataclass
class MinuteDedupe:
    """``(id, updated)`` pairs yielded in the latest minute a read reached, to drop a restart's overlap.

    Only the current minute is kept: a restart re-reads from that minute and nothing earlier, so memory
    follows the issues of one minute, never the read.
    """

    minute: datetime | None = None
    seen: set[tuple[str, str]] = field(default_factory=set)

    def first_time(self, issue_id: str, updated: str, stamp: datetime) -> bool:
        """Whether this version of the issue is new to the read (and remember it)."""
        minute = stamp.replace(second=0, microsecond=0)
        if self.minute is None or minute > self.minute:
            self.minute, self.seen = minute, set()
        elif minute < self.minute:
            return True  # before the restart point: never re-read by a restart
        mark = (issue_id, updated)
        if mark in self.seen:
            return False
        self.seen.add(mark)
        return True


@dataclass(frozen=True)
class Search:
    """One issue search: its JQL (built per restart from a lower bound) and what to return."""

    jql: Callable[[datetime | None], str]  # lower bound (None: the query's own) -> JQL
    fields: list[str]
    end: datetime | None  # exact exclusive end; None: no end
    expand_changelog: bool = False


class IssueReader:
    """Issue searches of one site, Cloud or Data Center."""

    def __init__(self, client: RestClient, *, cloud: bool, page_size: int, max_restarts: int = 5) -> None:
        self.client, self.cloud, self.page_size, self.max_restarts = client, cloud, page_size, max_restarts
        self.restarts = 0

    @property
    def api(self) -> str:
        return "rest/api/3/" if self.cloud else "rest/api/2/"

    def issues(self, search: Search) -> Iterator[dict[str, Any]]:
        """The issues of ``search`` in ``(updated, id)`` order, each version once."""
        dedupe = MinuteDedupe()
        lower: datetime | None = None
        while True:
            try:
                for issue in self._pages(search.jql(lower), search):
                    issue_id = str(issue.get("id") or "")
                    text = (issue.get("fields") or {}).get("updated")
                    stamp = parse_stamp(text)
                    if not issue_id or stamp is None:
                        yield issue  # typed as an error row downstream, with the record as it came
                        continue
                    if search.end is not None and stamp >= search.end:
                        continue  # updated at or past the window's end (perhaps while we paged): next window
                    if dedupe.first_time(issue_id, str(text), stamp):
                        yield issue
                return
            except PageTokenExpired:
                self.restarts += 1
                if self.restarts > self.max_restarts:
                    raise TooManyRestarts(
                        f"the issue search lost its nextPageToken {self.restarts} times in one read; stopping "
                        f"(raise max_token_restarts if the site reindexes often)"
                    ) from None
                lower = dedupe.minute
                log.warning("The search's nextPageToken expired; restarting from %s (the last minute read)", lower)

    def _pages(self, jql: str, search: Search) -> Iterator[dict[str, Any]]:
        if self.cloud:
            pages: Iterator[dict[str, Any]] = token_pages(
                lambda token: self._cloud_page(jql, search, token), _next_token, what="search/jql"
            )
        else:
            pages = offset_pages(
                lambda start, size: self._dc_page(jql, search, start, size),
                lambda page: page.get("issues") or [],
                page_size=self.page_size,
                total=lambda page: page.get("total"),
                key=lambda issue: issue.get("id"),
                what="search",
            )
        for page in pages:
            issues = page.get("issues") or []
            for issue in issues:
                if isinstance(issue, dict):
                    yield issue

    def _cloud_page(self, jql: str, search: Search, token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"jql": jql, "fields": search.fields, "maxResults": self.page_size}
        if search.expand_changelog:
            body["expand"] = "changelog"
        if token:
            body["nextPageToken"] = token
        try:
            page = self.client.post_json(f"{self.api}search/jql", body)
        except RestError as exc:
            if token and exc.status == 400 and "token" in str(exc).lower():
                raise PageTokenExpired(str(exc)) from exc
            raise
        return page if isinstance(page, dict) else {}

    def _dc_page(self, jql: str, search: Search, start: int, size: int) -> dict[str, Any]:
        body: dict[str, Any] = {"jql": jql, "fields": search.fields, "startAt": start, "maxResults": size}
        if search.expand_changelog:
            body["expand"] = ["changelog"]
        try:
            page = self.client.post_json(f"{self.api}search", body)
        except RestError as exc:
            if exc.status == 410:
                raise SearchEndpointGone(
                    f"POST /{self.api}search answered 410 Gone: this site is Jira Cloud, which removed the "
                    "endpoint (CHANGE-2046); read it with POST /rest/api/3/search/jql (flavor: cloud or auto)"
                ) from exc
            raise
        return page if isinstance(page, dict) else {}

    def count(self, jql: str) -> int | None:
        """How many issues ``jql`` selects (Cloud's approximate count; Data Center's ``total``), None if unknown."""
        bare = jql.split(" ORDER BY ")[0]  # the count endpoint refuses an ORDER BY
        try:
            if self.cloud:
                found = self.client.post_json(f"{self.api}search/approximate-count", {"jql": bare})
                count = found.get("count") if isinstance(found, dict) else None
                return int(count) if count is not None else None
            found = self.client.post_json(f"{self.api}search", {"jql": bare, "maxResults": 0, "fields": ["id"]})
            return int(found["total"]) if isinstance(found, dict) and "total" in found else None
        except RestError as exc:
            if exc.status in (404, 405):
                return None  # an older site without the count endpoint
            raise

    # -- children ---------------------------------------------------------------------------------
    def comments(self, issue_id: str, page_size: int) -> Iterator[dict[str, Any]]:
        """Every comment of an issue, oldest first, each with ``issue_id``."""
        for comment in self._issue_list(issue_id, "comment", "comments", page_size, {"orderBy": "created"}):
            yield {**comment, "issue_id": issue_id, DELETED: False}

    def _issue_list(
        self, issue_id: str, endpoint: str, items: str, page_size: int, params: dict[str, str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The items of an issue's ``startAt``-paged list (``comment``: ``comments``, ``changelog``: ``values``)."""
        path = f"{self.api}issue/{_numeric(issue_id)}/{endpoint}"
        pages = offset_pages(
            lambda start, size: self.client.get_json(
                path, params={"startAt": start, "maxResults": size, **(params or {})}
            ),
            lambda page: page.get(items) or [],
            page_size=page_size,
            total=lambda page: page.get("total"),
            key=lambda item: item.get("id") if isinstance(item, dict) else None,
            what=f"{endpoint} of issue {issue_id}",
        )
        for page in pages:
            yield from (item for item in page.get(items) or [] if isinstance(item, dict))

    def histories(self, issue: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        """Every history entry of an issue: from the search's ``changelog``, or its endpoint when that was cut."""
        issue_id = str(issue.get("id"))
        given = issue.get("changelog")
        changelog: dict[str, Any] = given if isinstance(given, dict) else {}
        shown = [h for h in changelog.get("histories") or [] if isinstance(h, dict)]
        total = changelog.get("total")
        if isinstance(total, int) and total <= len(shown):
            yield from shown
            return
        if not self.cloud:
            full = self.client.get_json(
                f"{self.api}issue/{_numeric(issue_id)}", params={"expand": "changelog", "fields": "updated"}
            )
            entries = (full.get("changelog") or {}).get("histories") if isinstance(full, dict) else None
            yield from (h for h in entries or [] if isinstance(h, dict))
            return
        yield from self._issue_list(issue_id, "changelog", "values", page_size)

    def worklog_changes(self, kind: str, since: datetime | None) -> Iterator[dict[str, Any]]:
        """``worklog/updated`` or ``worklog/deleted`` entries since an instant (``worklogId``, ``updatedTime``)."""
        millis = int((since or datetime(1970, 1, 1, tzinfo=UTC)).timestamp() * 1000)
        first = f"{self.api}worklog/{kind}"
        pages = token_pages(
            lambda url: self.client.get_json(url or first, params=None if url else {"since": millis}),
            lambda page: None if page.get("lastPage", True) else page.get("nextPage"),
            what=f"worklog/{kind}",
        )
        for page in pages:
            yield from (v for v in page.get("values") or [] if isinstance(v, dict))

    def worklogs_by_id(self, ids: list[str]) -> Iterator[dict[str, Any]]:
        """The worklogs with these ids (``POST worklog/list``, 1000 a call)."""
        for start in range(0, len(ids), WORKLOG_LIST_MAX):
            chunk = [int(_numeric(i)) for i in ids[start : start + WORKLOG_LIST_MAX]]
            found = self.client.post_json(f"{self.api}worklog/list", {"ids": chunk})
            for worklog in found if isinstance(found, list) else []:
                if isinstance(worklog, dict):
                    yield {**worklog, DELETED: False}


def _next_token(page: dict[str, Any]) -> str | None:
    if page.get("isLast") is True:
        return None
    token = page.get("nextPageToken")
    return str(token) if token else None


def _numeric(value: str) -> str:
    """An id for a URL path: Jira ids are numbers; anything else is refused, not escaped."""
    text = str(value)
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a Jira id")
    return text


def history_rows(issue_id: str, history: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One row per changed field of a history entry (``id`` = ``<history id>.<item index>``)."""
    given = history.get("items")
    items: list[Any] = given if isinstance(given, list) else []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        yield {
            **item,
            "id": f"{history.get('id')}.{index}",
            "history_id": str(history.get("id")),
            "item_index": index,
            "issue_id": issue_id,
            "author": history.get("author"),
            "created": history.get("created"),
            DELETED: False,
        }
