"""Reading records: one SOQL query over REST or Bulk 2.0, typed identically, in bounded memory.

- One function, :meth:`QueryReader.transport_for`, picks the transport of every query the adapter
  sends (plan's estimate and the read alike): Bulk 2.0 whenever the query would not fit in a GET
  request line (wide objects; whatever the configured transport), else the configured one, and
  for ``auto`` REST for small windows and Bulk 2.0 for big ones (a ``COUNT()`` estimate).
- Id lists are read in groups sized by that budget (:meth:`QueryReader.read_ids`).
- Both transports go through :mod:`typing`, so the same window gives identical Arrow batches.
- A window whose query times out server-side (QUERY_TIMEOUT) is split in two and each half read
  in turn, down to one-second slices (:func:`split_on_timeout`); a slice that still times out is
  read over Bulk 2.0, and if that times out too, split by Id range until it can be read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from lumina_integration.hooks.salesforce.bulk import BulkQuery, QueryTimeout

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.hooks.salesforce.client import SalesforceClient
    from lumina_integration.hooks.salesforce.options import SalesforceOptions
    from lumina_integration.hooks.salesforce.soql import IdRange

log = logging.getLogger(__name__)
# Request line + headers must stay under 16,384 bytes; leave room for the headers.
MAX_REST_URL = 15_000
# Salesforce's default limit on the length of one SOQL statement (Bulk 2.0 jobs included).
MAX_SOQL_LENGTH = 100_000
MIN_SPLIT = timedelta(seconds=1)
# Typed batches (one per 1 MB CSV block, ~2k Account records) produced ahead of the writer: about one page.
BULK_READ_AHEAD_BATCHES = 24


def fits_in_get(client: SalesforceClient, query: str) -> bool:
    """Whether ``query`` fits in the URL of a REST query (a GET: the REST query resource has no POST form)."""
    client.sf  # noqa: B018 - logs in if need be: the instance URL is part of the length
    url = f"{client.instance_url}/services/data/v{client.settings.version}/queryAll/?q={quote(query)}"
    return len(url) <= MAX_REST_URL


def fits_in_bulk(query: str) -> bool:
    return len(query) <= MAX_SOQL_LENGTH


def fitting_chunks(
    items: list[str], build: Callable[[list[str]], str], fits: Callable[[str], bool]
) -> Iterator[list[str]]:
    """``items`` in consecutive groups, each as large as ``fits(build(group))`` allows."""
    start = 0
    while start < len(items):
        if not fits(build(items[start : start + 1])):
            raise ValueError(f"a query for the single id {items[start]!r} is already too long to send")
        # Grow by doubling, then bisect between the last size that fit and the first that did not.
        remaining, good, bad = len(items) - start, 1, 0
        while good < remaining and not bad:
            size = min(2 * good, remaining)
            good, bad = (size, 0) if fits(build(items[start : start + size])) else (good, size)
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if fits(build(items[start : start + middle])) else (good, middle)
        yield items[start : start + good]
        start += good


class QueryReader:
    """Runs SOQL queries for one read and remembers which transport it used."""

    def __init__(self, client: SalesforceClient, bulk: BulkQuery, opts: SalesforceOptions) -> None:
        self.client, self.bulk, self.opts = client, bulk, opts
        self.transports: set[str] = set()

    def count(self, query: str) -> int:
        include = self.opts.include_deleted
        return int(self.client.call(lambda: self.client.sf.query(query, include_deleted=include))["totalSize"])

    def transport_for(self, query: str, count_query: str | None = None, *, records: int | None = None) -> str:
        """The transport of ``query``: the one decision for plan's estimate and every read.

        A query too long for a GET request line goes over Bulk 2.0 even with ``transport: rest``
        (with a warning): the REST query resource is GET only, so the SOQL travels in the URL and
        Salesforce answers 414; Bulk 2.0 takes it in a POST body. Otherwise the configured transport;
        for ``auto``, Bulk 2.0 above ``bulk_threshold`` records (``records`` when the caller knows
        them, else a ``COUNT()`` of ``count_query``; neither: Bulk 2.0).
        """
        if not fits_in_get(self.client, query):
            if self.opts.transport == "rest":
                log.warning(
                    "transport: rest, but this query (%d characters) does not fit in a GET request line; "
                    "reading it over Bulk 2.0 instead (the REST query resource has no POST form)",
                    len(query),
                )
            return "bulk"
        if self.opts.transport != "auto":
            return self.opts.transport
        if records is None:
            if count_query is None:
                return "bulk"
            records = self.count(count_query)
        return "bulk" if records > self.opts.bulk_threshold else "rest"

    def read_ids(
        self, build: Callable[[list[str]], str], ids: list[str], schema: pa.Schema
    ) -> Iterator[pa.RecordBatch]:
        """The records ``build(group)`` selects for consecutive groups of ``ids``.

        The transport is decided once for all of them; the groups are as large as that transport
        takes (the GET's URL for REST, the SOQL length for Bulk 2.0), so a wide object's ids go over
        Bulk 2.0 and a narrow one's in few REST queries.
        """
        if not ids:
            return
        transport = self.transport_for(build(ids[:1]), records=len(ids))
        fits = (lambda q: fits_in_get(self.client, q)) if transport == "rest" else fits_in_bulk
        for group in fitting_chunks(ids, build, fits):
            yield from self.read(build(group), schema, transport)

    def read(
        self, query: str, schema: pa.Schema, transport: str, *, include_deleted: bool | None = None
    ) -> Iterator[pa.RecordBatch]:
        include = self.opts.include_deleted if include_deleted is None else include_deleted
        self.transports.add(transport)
        if transport == "rest":
            yield from self._rest(query, schema, include)
        else:
            yield from self._bulk(query, schema, include)

    def _rest(self, query: str, schema: pa.Schema, include_deleted: bool) -> Iterator[pa.RecordBatch]:
        from simple_salesforce.exceptions import SalesforceMalformedRequest

        from lumina_integration.hooks.salesforce.typing import batch_from_rest

        sf = self.client.sf
        sf.headers["Sforce-Query-Options"] = f"batchSize={self.opts.page_size}"
        try:
            page = self.client.call(lambda: self.client.sf.query(query, include_deleted=include_deleted))
        except SalesforceMalformedRequest as exc:
            if "QUERY_TIMEOUT" in str(exc.content):
                raise QueryTimeout(f"REST query timed out: {exc.content!r}", transport="rest") from exc
            raise
        while True:
            if page["records"]:
                yield batch_from_rest(page["records"], schema)
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self.client.call(
                lambda url=next_url: self.client.sf.query_more(  # type: ignore[misc]
                    url, identifier_is_url=True, include_deleted=include_deleted
                )
            )

    def _bulk(self, query: str, schema: pa.Schema, include_deleted: bool) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.salesforce.typing import batches_from_csv
        from lumina_integration.read_ahead import read_ahead

        def typed_batches() -> Iterator[pa.RecordBatch]:
            for page in self.bulk.pages(query, include_deleted=include_deleted):
                yield from batches_from_csv(page, schema)
                del page  # released before the next page downloads

        # The next page downloads and parses while this one's batches are written (1 MB CSV blocks of
        # ~2k records, so about one page of typed batches is held ahead).
        yield from read_ahead(typed_batches(), depth=BULK_READ_AHEAD_BATCHES)


@dataclass(frozen=True)
class Slice:
    """A part of a window to read: ``[start, end)`` on the cursor and, once that is too dense to
    split further by time, ``[low, high)`` on ``Id``; ``transport`` set once the slice must go over Bulk."""

    start: datetime | None
    end: datetime
    ids: IdRange | None = None
    transport: str | None = None

    def __str__(self) -> str:
        where = f"[{self.start}, {self.end})"
        return where if self.ids is None else f"{where} with Id in [{self.ids[0]}, {self.ids[1]})"


def split_on_timeout(
    read_slice: Callable[[Slice], Iterator[pa.RecordBatch]],
    start: datetime | None,
    end: datetime,
    earliest: Callable[[], datetime | None],
    id_bounds: Callable[[Slice], tuple[str, str] | None],
    *,
    bulk_allowed: bool,
) -> Iterator[pa.RecordBatch]:
    """Read ``[start, end)``; on QUERY_TIMEOUT read smaller slices of it instead, until they can be read.

    First by time (halves, down to about a second). A one-second slice that still times out is read
    over Bulk 2.0 (``bulk_allowed``: whose query timeout is far longer than REST's), and if that times
    out too, or Bulk is not allowed, it is split by Id range at an id between its lowest and highest,
    like Salesforce's own PK chunking, until each range reads in time. The slices of a range are
    disjoint and cover it, so every record is read once, ties on one stamp included (in id order,
    not cursor order: the merge does not care). A timeout always comes before the first record of a
    slice (REST fails the first call, Bulk fails the job), so nothing is yielded twice. ``earliest``
    gives a lower bound for a window that has none (a first load); ``id_bounds`` the lowest and
    highest Id of a slice (None: empty).
    """
    pending: list[Slice] = [Slice(start, end)]
    while pending:
        part = pending.pop()
        produced = False
        try:
            for batch in read_slice(part):
                produced = True
                yield batch
        except QueryTimeout as exc:
            if produced:
                raise
            # Stack order: the first of the smaller slices is read first.
            pending += reversed(_smaller(part, exc, earliest, id_bounds, bulk_allowed))


def _smaller(
    part: Slice,
    exc: QueryTimeout,
    earliest: Callable[[], datetime | None],
    id_bounds: Callable[[Slice], tuple[str, str] | None],
    bulk_allowed: bool,
) -> list[Slice]:
    if part.ids is None:
        if part.start is None:
            low = earliest()
            if low is None or low >= part.end:
                raise exc
            part = replace(part, start=low)
        assert part.start is not None
        if part.end - part.start >= 2 * MIN_SPLIT:
            middle = part.start + (part.end - part.start) / 2
            middle = middle.replace(microsecond=middle.microsecond // 1000 * 1000)
            log.warning(
                "QUERY_TIMEOUT on %s: reading [%s, %s) and [%s, %s) instead", part, part.start, middle, middle, part.end
            )
            return [replace(part, end=middle), replace(part, start=middle)]
    if bulk_allowed and exc.transport != "bulk":
        log.warning("QUERY_TIMEOUT on %s, too short to split by time: reading it over Bulk 2.0", part)
        return [replace(part, transport="bulk")]
    bounds = id_bounds(part)
    if bounds is None or bounds[0] == bounds[1]:
        raise QueryTimeout(
            f"{exc}; the slice {part} holds one record: too small to split further", transport=exc.transport
        ) from exc
    middle_id = id_between(*bounds)
    first, last = part.ids or (None, None)
    log.warning("QUERY_TIMEOUT on %s over %s: splitting it by Id at %s", part, exc.transport, middle_id)
    return [replace(part, ids=(first, middle_id)), replace(part, ids=(middle_id, last))]


# Salesforce ids are base 62 in this digit order (ASCII order: how they compare and sort).
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def id_between(low: str, high: str) -> str:
    """A 15-character id ``m`` with ``low < m <= high`` (by their 15-character, case-sensitive forms).

    The 18-character form only appends a checksum of the first 15, so ``Id >= m`` splits 18-character
    ids at the same place.
    """
    a, b = (sum(_BASE62.index(c) * 62**i for i, c in enumerate(reversed(text[:15]))) for text in (low, high))
    if a >= b:
        raise ValueError(f"no id lies between {low!r} and {high!r}")
    number, digits = (a + b + 1) // 2, []
    for _ in range(15):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def tombstones(ids: list[str], stamps: list[datetime], schema: pa.Schema, cursor: str) -> pa.RecordBatch | None:
    """Rows that say "this record is gone as of this instant": id, IsDeleted, cursor; all else null."""
    import pyarrow as pa

    if not ids or "IsDeleted" not in schema.names:
        return None
    columns: dict[str, pa.Array] = {}
    for field in schema:
        if field.name == "Id":
            columns[field.name] = pa.array(ids, field.type)
        elif field.name == "IsDeleted":
            columns[field.name] = pa.repeat(True, len(ids))
        elif field.name == cursor:
            columns[field.name] = pa.array(stamps, field.type)
        else:
            columns[field.name] = pa.nulls(len(ids), field.type)
    return pa.RecordBatch.from_pydict(columns, schema=schema)


def parse_datetime(text: str) -> datetime:
    """Salesforce's ``2026-11-20T10:15:30.000+0000`` (or ``...Z``) as an aware UTC datetime."""
    from lumina_integration.window import parse_instant

    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = parse_instant(text.replace("Z", "+00:00"))
    assert parsed is not None
    return parsed
