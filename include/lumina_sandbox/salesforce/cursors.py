"""REST ``query``/``queryAll`` with server-side cursors, like Salesforce's query locators.

The first call compiles the SOQL, runs it once inside a read transaction of its own connection and keeps the
ordered row ids: that is the cursor's snapshot (set, order and values as of the first call), paged by
``nextRecordsUrl`` (``/services/data/vNN.N/query/<locator>-<offset>``) in pages of ``batchSize`` (200..2000,
default 2000). Any page of a live cursor can be fetched again. A user keeps at most 10 open cursors (the
oldest is closed); an idle cursor expires after 15 minutes of the sandbox clock (INVALID_QUERY_LOCATOR).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lumina_sandbox.salesforce.clock import SandboxClock
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.faults import Faults
from lumina_sandbox.salesforce.schema import Catalog
from lumina_sandbox.salesforce.soql import SoqlError
from lumina_sandbox.salesforce.sql import Compiled, compile_query, json_columns, record_json
from lumina_sandbox.salesforce.store import Store

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_CURSORS_PER_USER = 10
IDLE_TIMEOUT = timedelta(minutes=15)
_LOCATOR = re.compile(r"(01g[A-Za-z0-9]{15})-(\d+)")
QUERY_TIMEOUT = ApiError(400, "QUERY_TIMEOUT", "Your query request was running for too long.")


def batch_size(header: str | None) -> int | None:
    """The ``batchSize`` of a ``Sforce-Query-Options`` header, clamped to 200..2000."""
    match = re.search(r"batchSize\s*=\s*(\d+)", header or "")
    return min(max(int(match.group(1)), MIN_BATCH), DEFAULT_BATCH) if match else None


def soql_error(error: SoqlError, text: str) -> ApiError:
    return ApiError(400, error.error_code, error.located(text))


@dataclass
class Cursor:
    locator: str
    user_id: str
    endpoint: str
    compiled: Compiled
    conn: sqlite3.Connection
    rowids: array[int]
    batch: int
    last_used: datetime
    lock: threading.Lock = field(default_factory=threading.Lock)


class QueryService:
    """Runs REST queries against the org's store and keeps their cursors."""

    def __init__(
        self, store: Callable[[], Store], catalog: Callable[[], Catalog], clock: SandboxClock, faults: Faults
    ) -> None:
        self._store = store
        self._catalog = catalog
        self.clock = clock
        self.faults = faults
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._lock = threading.Lock()

    def query(self, text: str, *, include_deleted: bool, version: str, batch: int | None, user_id: str) -> bytes:
        """The first page of a query (the JSON body)."""
        if not text:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            compiled = compile_query(text, self._catalog(), include_deleted=include_deleted, today=self.clock.today())
        except SoqlError as error:
            raise soql_error(error, text) from None
        store = self._store()
        if compiled.count_only:
            with store.snapshot() as conn:
                total = int(conn.execute(compiled.count_sql(), compiled.params).fetchone()[0])
            return _page(total, True, None, [])
        conn = store.open_snapshot()
        try:
            rowids = array("q", (r[0] for r in conn.execute(compiled.rowid_sql(), compiled.params)))
            if self.faults.query_timeout("query", len(rowids)):
                raise QUERY_TIMEOUT
            size = batch or DEFAULT_BATCH
            endpoint = "queryAll" if include_deleted else "query"
            if len(rowids) <= size:
                records = self._records(conn, compiled, rowids, version)
                store.release(conn)
                return _page(len(rowids), True, None, records)
            cursor = Cursor(
                locator="01g" + _random_id(15),
                user_id=user_id,
                endpoint=endpoint,
                compiled=compiled,
                conn=conn,
                rowids=rowids,
                batch=size,
                last_used=self.clock.now(),
            )
            self._register(cursor)
            return self._page_of(cursor, 0, version, size)
        except BaseException:
            if not any(c.conn is conn for c in self._cursors.values()):
                store.release(conn)
            raise

    def more(self, locator_text: str, *, version: str, batch: int | None) -> bytes:
        """A further page: ``locator_text`` is ``<locator>-<offset>`` from ``nextRecordsUrl``."""
        match = _LOCATOR.fullmatch(locator_text)
        if match is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self._expire_idle()
        with self._lock:
            cursor = self._cursors.get(match.group(1))
            if cursor is not None:
                self._cursors.move_to_end(cursor.locator)
        if cursor is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(match.group(2))
        if offset > len(cursor.rowids):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page_of(cursor, offset, version, batch or cursor.batch)

    def _page_of(self, cursor: Cursor, offset: int, version: str, size: int) -> bytes:
        with cursor.lock:
            cursor.last_used = self.clock.now()
            ids = cursor.rowids[offset : offset + size]
            records = self._records(cursor.conn, cursor.compiled, ids, version)
        end = offset + len(ids)
        done = end >= len(cursor.rowids)
        next_url = None if done else f"/services/data/v{version}/{cursor.endpoint}/{cursor.locator}-{end}"
        return _page(len(cursor.rowids), done, next_url, records)

    def _records(self, conn: sqlite3.Connection, compiled: Compiled, rowids: array[int], version: str) -> list[str]:
        if not rowids:
            return []
        columns = ", ".join(json_columns(compiled.sobject, compiled.fields))
        sql = (
            f"SELECT t.rowid, {columns} FROM {compiled.sobject.table} t "
            "WHERE t.rowid IN (SELECT value FROM json_each(:rowids))"
        )
        params = {
            **compiled.params,
            "today": self.clock.today().isoformat(),
            "ver": version,
            "rowids": json.dumps(rowids.tolist()),
        }
        by_rowid = {row[0]: record_json(row[1:]) for row in conn.execute(sql, params)}
        return [by_rowid[r] for r in rowids if r in by_rowid]

    def _register(self, cursor: Cursor) -> None:
        closing = []
        with self._lock:
            self._cursors[cursor.locator] = cursor
            mine = [c for c in self._cursors.values() if c.user_id == cursor.user_id]
            for old in mine[: max(len(mine) - MAX_CURSORS_PER_USER, 0)]:
                closing.append(self._cursors.pop(old.locator))
        for old in closing:
            self._close(old)

    def _expire_idle(self) -> None:
        cutoff = self.clock.now() - IDLE_TIMEOUT
        with self._lock:
            stale = [c for c in self._cursors.values() if c.last_used < cutoff]
            for cursor in stale:
                del self._cursors[cursor.locator]
        for cursor in stale:
            self._close(cursor)

    def _close(self, cursor: Cursor) -> None:
        with cursor.lock:
            self._store().release(cursor.conn)

    def open_cursors(self) -> int:
        with self._lock:
            return len(self._cursors)

    def close_all(self) -> None:
        with self._lock:
            cursors = list(self._cursors.values())
            self._cursors.clear()
        for cursor in cursors:
            self._close(cursor)


def _random_id(length: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _page(total: int, done: bool, next_url: str | None, records: list[str]) -> bytes:
    head: dict[str, Any] = {"totalSize": total, "done": done}
    if next_url is not None:
        head["nextRecordsUrl"] = next_url
    prefix = json.dumps(head, separators=(",", ":"))[:-1]
    return f'{prefix},"records":[{",".join(records)}]}}'.encode()
