"""Reading records: one SOQL query over REST or Bulk 2.0, typed identically, in bounded memory.

- The transport is chosen per query from a ``COUNT()`` estimate (REST for small windows, Bulk 2.0
  for big ones), and Bulk 2.0 whenever the query would not fit in a GET request line (wide objects).
- Both transports go through :mod:`typing`, so the same window gives identical Arrow batches.
- A window whose query times out server-side (QUERY_TIMEOUT) is split in two and each half read
  in turn, down to one-second windows; only then does the task fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from lumina_integration.hooks.salesforce.bulk import BulkQuery, QueryTimeout

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.hooks.salesforce.client import SalesforceClient
    from lumina_integration.hooks.salesforce.options import SalesforceOptions

log = logging.getLogger(__name__)
# Request line + headers must stay under 16,384 bytes; leave room for the headers.
MAX_REST_URL = 15_000
MIN_SPLIT = timedelta(seconds=1)


def fits_in_get(client: SalesforceClient, query: str) -> bool:
    url = f"{client.instance_url}/services/data/v{client.settings.version}/queryAll/?q={quote(query)}"
    return len(url) <= MAX_REST_URL


class QueryReader:
    """Runs SOQL queries for one read and remembers which transport it used."""

    def __init__(self, client: SalesforceClient, bulk: BulkQuery, opts: SalesforceOptions) -> None:
        self.client, self.bulk, self.opts = client, bulk, opts
        self.transports: set[str] = set()

    def count(self, query: str) -> int:
        include = self.opts.include_deleted
        return int(self.client.call(lambda: self.client.sf.query(query, include_deleted=include))["totalSize"])

    def transport_for(self, query: str, count_query: str | None) -> str:
        """The configured transport, or the cheaper one for this query's size."""
        if self.opts.transport != "auto":
            return self.opts.transport
        if not fits_in_get(self.client, query):
            return "bulk"
        if count_query is None:
            return "bulk"
        return "bulk" if self.count(count_query) > self.opts.bulk_threshold else "rest"

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
                raise QueryTimeout(f"REST query timed out: {exc.content!r}") from exc
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

        for page in self.bulk.pages(query, include_deleted=include_deleted):
            yield from batches_from_csv(page, schema)
            del page  # released before the next page downloads


def split_on_timeout(
    read_range: Callable[[datetime | None, datetime], Iterator[pa.RecordBatch]],
    start: datetime | None,
    end: datetime,
    earliest: Callable[[], datetime | None],
) -> Iterator[pa.RecordBatch]:
    """Read ``[start, end)``; on QUERY_TIMEOUT read its two halves instead, recursively.

    A timeout always comes before the first record of a range (REST fails the first call, Bulk
    fails the job), so nothing is yielded twice. ``earliest`` gives a lower bound for a window
    that has none (a first load).
    """
    pending: list[tuple[datetime | None, datetime]] = [(start, end)]
    while pending:
        low, high = pending.pop()
        produced = False
        try:
            for batch in read_range(low, high):
                produced = True
                yield batch
        except QueryTimeout as exc:
            if produced:
                raise
            if low is None:
                low = earliest()
                if low is None or low >= high:
                    raise
            if high - low < 2 * MIN_SPLIT:
                raise QueryTimeout(f"{exc}; the window [{low}, {high}) is too small to split further") from exc
            middle = low + (high - low) / 2
            middle = middle.replace(microsecond=middle.microsecond // 1000 * 1000)
            log.warning(
                "QUERY_TIMEOUT on [%s, %s): reading [%s, %s) and [%s, %s) instead", low, high, low, middle, middle, high
            )
            # Stack order: the lower half is read first, so batches stay in cursor order.
            pending += [(middle, high), (low, middle)]


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
