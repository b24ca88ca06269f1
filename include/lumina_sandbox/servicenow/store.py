"""The instance's rows in SQLite: one physical table per hierarchy root (``task`` holds incidents, requested items
and changes, told apart by the hidden ``_class`` column), every value text as the instance keeps it.

Columns come from the catalog only (names checked against ``schema.NAME``), so quoting them is safe; values are
always bound parameters. Strings compare case-insensitively (``COLLATE NOCASE``), as on the instance's
MySQL/MariaDB. One connection, one lock: the HTTP worker threads take turns.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lumina_sandbox.servicenow.schema import NAME, Field

ROW = "_row"  # insertion order: the order of a query without ORDERBY
CLASS = "_class"  # the record's table (sys_class_name) inside its hierarchy's physical table


def quote(name: str) -> str:
    if not (NAME.fullmatch(name) or name in (ROW, CLASS)):
        raise ValueError(f"invalid column name {name!r}")
    return f'"{name}"'


def physical(root: str) -> str:
    return quote("t_" + root) if NAME.fullmatch(root) else quote(root)


def _column(field: Field) -> str:
    collation = "" if field.numeric else " COLLATE NOCASE"
    return f"{quote(field.element)} TEXT{collation}"


class Store:
    """SQLite tables for the hierarchies; thread-safe through ``lock``."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="lumina-servicenow-"))
        self.connection = sqlite3.connect(self._dir / "instance.db", check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=OFF")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-65536")
        self.lock = threading.RLock()

    def create(self, root: str, fields: Iterable[Field]) -> None:
        columns = ", ".join(_column(f) for f in fields)
        table = physical(root)
        with self.lock:
            self.connection.execute(f"DROP TABLE IF EXISTS {table}")
            self.connection.execute(
                f"CREATE TABLE {table} ({ROW} INTEGER PRIMARY KEY, {CLASS} TEXT NOT NULL, {columns})"
            )
            self.connection.execute(f'CREATE UNIQUE INDEX "ix_{root}_sys_id" ON {table} ("sys_id")')
            # Keyset windows read (class, sys_updated_on, sys_id) in order: one index serves filter and sort.
            self.connection.execute(
                f'CREATE INDEX "ix_{root}_updated" ON {table} ({CLASS}, "sys_updated_on", "sys_id")'
            )

    def add_column(self, root: str, field: Field, value: str | None) -> None:
        with self.lock:
            self.connection.execute(f"ALTER TABLE {physical(root)} ADD COLUMN {_column(field)}")
            if value is not None:
                self.connection.execute(f"UPDATE {physical(root)} SET {quote(field.element)} = ?", (value,))

    def insert(self, root: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows given as ``(class, *values)`` in ``columns`` order."""
        names = ", ".join([CLASS, *(quote(c) for c in columns)])
        marks = ", ".join("?" * (len(columns) + 1))
        with self.lock:
            self.connection.execute("BEGIN")
            try:
                self.connection.executemany(f"INSERT INTO {physical(root)} ({names}) VALUES ({marks})", rows)
            finally:
                self.connection.execute("COMMIT")

    def update(self, root: str, sys_id: str, values: dict[str, str | None]) -> int:
        if not values:
            return 0
        sets = ", ".join(f"{quote(c)} = ?" for c in values)
        with self.lock:
            cursor = self.connection.execute(
                f'UPDATE {physical(root)} SET {sets} WHERE "sys_id" = ?', (*values.values(), sys_id)
            )
            return cursor.rowcount

    def delete(self, root: str, sys_ids: Sequence[str]) -> int:
        with self.lock:
            total = 0
            for start in range(0, len(sys_ids), 500):
                chunk = sys_ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                cursor = self.connection.execute(
                    f'DELETE FROM {physical(root)} WHERE "sys_id" IN ({marks})', tuple(chunk)
                )
                total += cursor.rowcount
            return total

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.connection.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        with self.lock:
            self.connection.close()
        shutil.rmtree(self._dir, ignore_errors=True)
