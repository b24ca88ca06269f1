"""Table API reads: keyset pages, never ``sysparm_offset``, into typed Arrow batches.

``sysparm_offset`` skips or repeats rows when records change between two pages (an update moves a record in
the sort order, and every row after it shifts). Every read here is a keyset instead:

- windows on ``(sys_updated_on, sys_id)``: ``ORDERBYsys_updated_on^ORDERBYsys_id``, the next page strictly
  after the last row's pair (:func:`~lumina_integration.hooks.servicenow.query.window_query`), so ties on one
  second (glide datetimes have whole seconds) page exactly, and a record updated while its window is paged
  is read again with its new stamp (or by the next window), never lost;
- whole tables (discovery, the catalogue, reconcile's sys_id list) on ``sys_id`` alone.

A row at or before the page's lower key (a server that repeats the boundary) is dropped: the dedupe of the
closed lower bound. Requests ask for ``sysparm_fields`` (only the columns needed), raw values
(``sysparm_display_value=false``, or ``all`` for ``dv_`` columns) and ``sysparm_exclude_reference_link``, and
skip the count and the ``Link`` header the keyset does not use. Each answer's ``Date`` header is the instance's
clock (:attr:`TableApi.instance_now`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from lumina_integration.hooks.rest.client import MalformedResponse
from lumina_integration.hooks.rest.paging import PageLoopError, keyset_pages
from lumina_integration.hooks.servicenow.query import Query
from lumina_integration.hooks.servicenow.settings import CURSOR, KEY, STATS_PATH, TABLE_PATH

if TYPE_CHECKING:
    import requests

    from lumina_integration.hooks.rest.client import RestClient

Record = dict[str, Any]


@dataclass(frozen=True)
class Page:
    records: list[Record]


class TableApi:
    """The Table API of one instance, through the adapter's :class:`RestClient`."""

    def __init__(self, client: RestClient) -> None:
        self.client = client
        self.instance_now: datetime | None = None
        self.pages = 0

    def _observe(self, response: requests.Response) -> None:
        header = response.headers.get("Date")
        if header:
            with contextlib.suppress(TypeError, ValueError, IndexError):  # an unreadable Date: keep the last one
                self.instance_now = parsedate_to_datetime(header).astimezone(UTC)

    def list(self, table: str, query: str, fields: Sequence[str], limit: int, *, display: bool = False) -> list[Record]:
        """One page: ``GET /api/now/table/{table}`` (``table`` is a catalogue name)."""
        params = {
            "sysparm_query": query,
            "sysparm_fields": ",".join(fields),
            "sysparm_limit": str(limit),
            "sysparm_display_value": "all" if display else "false",
            "sysparm_exclude_reference_link": "true",
            "sysparm_no_count": "true",
            "sysparm_suppress_pagination_header": "true",
        }
        response = self.client.request("GET", TABLE_PATH.format(table=table), params=params)
        self._observe(response)
        self.pages += 1
        body = self.client.parse_json(response)
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, list):
            raise MalformedResponse(f"GET table/{table} answered without a result list", status=response.status_code)
        return result

    def count(self, table: str, query: str) -> int:
        """Records matching ``query`` (the Aggregate API's count: one call, no rows)."""
        response = self.client.request(
            "GET", STATS_PATH.format(table=table), params={"sysparm_count": "true", "sysparm_query": query}
        )
        self._observe(response)
        body = self.client.parse_json(response)
        try:
            return int(body["result"]["stats"]["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse(f"GET stats/{table} answered without a count", status=response.status_code) from exc

    def clock(self, table: str) -> datetime:
        """The instance's clock: the ``Date`` of a one-row request (any readable table)."""
        self.list(table, "ORDERBYsys_id", [KEY], 1)
        if self.instance_now is None:
            raise RuntimeError("the instance sent no Date header; cannot bound the window by its clock")
        return self.instance_now

    # -- keyset reads ---------------------------------------------------------------------------------------
    def by_sys_id(
        self,
        table: str,
        allowed: Sequence[str],
        fields: Sequence[str],
        page_size: int,
        *,
        where: Callable[[Query], Query] | None = None,
        short_page_is_last: bool = False,
    ) -> Iterator[Record]:
        """Every record of ``table`` (matching ``where``), in sys_id order."""

        def fetch(after: str | None) -> Page:
            q = Query(allowed, table)
            if where is not None:
                where(q)
            if after is not None:
                q.where(KEY, ">", after)
            rows = self.list(table, q.order_by(KEY).text(), fields, page_size)
            return _after(rows, after, lambda r: str(r.get(KEY)), table)

        for page in keyset_pages(
            fetch,
            lambda p: p.records,
            lambda r: str(r.get(KEY)),
            page_size=page_size,
            short_page_is_last=short_page_is_last,
            what=f"sys_id pages of {table}",
        ):
            yield from page.records

    def window(
        self,
        table: str,
        fields: Sequence[str],
        page_size: int,
        query_for: Callable[[tuple[str, str] | None], str],
        *,
        display: bool = False,
        short_page_is_last: bool = False,
        cursor: str = CURSOR,
    ) -> Iterator[Record]:
        """Records of a window, ``query_for(after)`` giving each page's query, in ``(cursor, sys_id)`` order."""

        def key(record: Record) -> tuple[str, str]:
            return (_raw(record.get(cursor)), _raw(record.get(KEY)))

        def fetch(after: tuple[str, str] | None) -> Page:
            return _after(self.list(table, query_for(after), fields, page_size, display=display), after, key, table)

        for page in keyset_pages(
            fetch,
            lambda p: p.records,
            key,
            page_size=page_size,
            short_page_is_last=short_page_is_last,
            what=f"keyset pages of {table}",
        ):
            yield from page.records


def _after(rows: list[Record], after: Any, key: Callable[[Record], Any], table: str) -> Page:
    """The rows past ``after``: one at or before it is one this read already has (a repeated boundary).

    A page of nothing but such rows means the instance ignored the keyset: refused, not read forever.
    """
    if after is None:
        return Page(rows)
    kept = [r for r in rows if key(r) > after]
    if rows and not kept:
        raise PageLoopError(f"keyset pages of {table}: the page after {after!r} holds only rows at or before it")
    return Page(kept)


def _raw(value: Any) -> str:
    """A value's raw text whether the page has raw values or ``{display_value, value}`` pairs."""
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else str(value)


def empty_as_null(batch: pa.RecordBatch) -> pa.RecordBatch:
    """ServiceNow sends an empty value as ``""`` and has no other null: text columns get nulls instead."""
    columns = []
    for column, field in zip(batch.columns, batch.schema, strict=True):
        if pa.types.is_string(field.type) and not field.name.startswith("_lumina"):
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)
