"""SQLite storage of the org's records: one table per sObject in a temporary database file (WAL mode).

Each thread gets its own connection (FastAPI runs handlers in a thread pool), writes are serialised by
``write_lock``, and ``snapshot()`` opens a dedicated connection whose read transaction pins one consistent view
of the data (a query cursor or a Bulk job reads through it while others keep writing). Columns are named by
API name; ``_deleted_at`` (when a record went to the recycle bin) is the only column describe does not show.
Text comparison helpers beyond ASCII are registered as SQL functions: ``sf_lower`` and ``sf_like``.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lumina_integration.private import private_dir
from lumina_sandbox.salesforce.schema import Catalog, Field, SObjectType, quote_ident, sql_affinity

DELETED_AT = "_deleted_at"


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


def _like(value: Any, pattern: str) -> int:
    return int(isinstance(value, str) and _regex(pattern).fullmatch(value) is not None)


class Store:
    """The org's tables in one SQLite file; removed again by ``close``."""

    def __init__(self, catalog: Catalog, directory: Path | None = None) -> None:
        self.catalog = catalog
        self._own_dir = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="lumina-sf-")) if directory is None else directory
        private_dir(self.directory)
        self.path = self.directory / "org.sqlite"
        for stale in self.directory.glob("org.sqlite*"):
            stale.unlink()
        self.write_lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._closed = False
        with self.write_lock:
            conn = self.conn()
            conn.execute("PRAGMA journal_mode=WAL")
            for sobject in catalog.all():
                self.create_table(sobject, indexes=False)

    # -- connections ------------------------------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        """A new connection with the sandbox's pragmas and SQL functions (autocommit; BEGIN explicitly)."""
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=60)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-32768")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.create_function("sf_lower", 1, _lower, deterministic=True)
        conn.create_function("sf_like", 2, _like, deterministic=True)
        with self._registry_lock:
            self._connections.append(conn)
        return conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
        return conn

    def release(self, conn: sqlite3.Connection) -> None:
        """Close a connection from ``connect``/``snapshot``."""
        with self._registry_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a read transaction: one consistent view until the block ends."""
        conn = self.connect()
        try:
            conn.execute("BEGIN")
            yield conn
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")
            self.release(conn)

    def open_snapshot(self) -> sqlite3.Connection:
        """Like ``snapshot`` but left open for the caller (a query cursor); end it with ``release``."""
        conn = self.connect()
        conn.execute("BEGIN")
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside a write transaction, serialised with every other writer."""
        with self.write_lock:
            conn = self.conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._registry_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            for path in self.directory.glob("org.sqlite*"):
                with contextlib.suppress(OSError):
                    path.unlink()

    # -- schema -----------------------------------------------------------------------------------------------

    def create_table(self, sobject: SObjectType, *, indexes: bool = True) -> None:
        """(Re)create the table; seeding passes ``indexes=False`` and builds them afterwards (much faster)."""
        columns = [f"{quote_ident(f.name)} {sql_affinity(f.type)}" for f in sobject.stored_fields()]
        columns.append(f"{DELETED_AT} TEXT")
        conn = self.conn()
        conn.execute(f"DROP TABLE IF EXISTS {sobject.table}")
        conn.execute(f"CREATE TABLE {sobject.table} ({', '.join(columns)})")
        if indexes:
            self.create_indexes(sobject)

    def create_indexes(self, sobject: SObjectType) -> None:
        """Id (unique), the replication cursors with Id as tie-breaker, the recycle bin, external ids, parents."""
        name = sobject.name
        conn = self.conn()
        statements = [f'CREATE UNIQUE INDEX IF NOT EXISTS "ix_{name}_id" ON {sobject.table} ("Id")']
        for cursor in ("SystemModstamp", "LastModifiedDate", "CreatedDate"):
            if sobject.has(cursor):
                statements.append(
                    f'CREATE INDEX IF NOT EXISTS "ix_{name}_{cursor}" ON {sobject.table} ("{cursor}", "Id")'
                )
        statements.append(
            f'CREATE INDEX IF NOT EXISTS "ix_{name}_bin" ON {sobject.table} ({DELETED_AT}) '
            f"WHERE {DELETED_AT} IS NOT NULL"
        )
        for field in sobject.stored_fields():
            if field.external_id or (
                field.type == "reference" and field.name not in ("CreatedById", "LastModifiedById")
            ):
                column = quote_ident(field.name)
                statements.append(f'CREATE INDEX IF NOT EXISTS "ix_{name}_{field.name}" ON {sobject.table} ({column})')
        with self.write_lock:
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"ANALYZE {sobject.table}")

    def add_column(self, sobject: SObjectType, field: Field) -> None:
        with self.write_lock:
            self.conn().execute(
                f"ALTER TABLE {sobject.table} ADD COLUMN {quote_ident(field.name)} {sql_affinity(field.type)}"
            )

    # -- bulk writes ------------------------------------------------------------------------------------------

    def insert_many(self, sobject: SObjectType, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Insert rows (tuples in ``columns`` order) in one transaction; returns how many."""
        names = ", ".join(quote_ident(c) if c != DELETED_AT else DELETED_AT for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {sobject.table} ({names}) VALUES ({marks})"
        with self.transaction() as conn:
            cursor = conn.executemany(sql, rows)
            return cursor.rowcount

    def count(self, sobject: SObjectType) -> int:
        return int(self.conn().execute(f"SELECT count(*) FROM {sobject.table}").fetchone()[0])
