"""The site's data in SQLite: issues, changelog histories, comments, worklogs and worklog deletions.

Times are UNIX milliseconds (Jira keeps milliseconds); an issue's field values are one JSON object (``data``:
names for status/type/priority, account ids for users, ADF for the description, ``customfield_*`` values), so
a custom field added mid-life needs no schema change. Column names are fixed here; values are always bound
parameters. One connection, one lock: the HTTP worker threads take turns.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE issues (
    id INTEGER PRIMARY KEY, project TEXT NOT NULL COLLATE NOCASE, num INTEGER NOT NULL,
    created INTEGER NOT NULL, updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE UNIQUE INDEX ix_issues_key ON issues (project, num);
CREATE INDEX ix_issues_updated ON issues (updated, id);
CREATE INDEX ix_issues_project_updated ON issues (project, updated, id);
CREATE TABLE histories (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, created INTEGER NOT NULL, author TEXT, items TEXT NOT NULL);
CREATE INDEX ix_histories_issue ON histories (issue_id, id);
CREATE TABLE comments (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL,
    author TEXT, update_author TEXT, body TEXT NOT NULL, visibility TEXT);
CREATE INDEX ix_comments_issue ON comments (issue_id, id);
CREATE TABLE worklogs (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, started INTEGER NOT NULL, created INTEGER NOT NULL,
    updated INTEGER NOT NULL, author TEXT, update_author TEXT, seconds INTEGER NOT NULL, comment TEXT);
CREATE INDEX ix_worklogs_issue ON worklogs (issue_id, id);
CREATE INDEX ix_worklogs_updated ON worklogs (updated, id);
CREATE TABLE worklog_deletions (id INTEGER PRIMARY KEY, deleted INTEGER NOT NULL);
CREATE INDEX ix_worklog_deletions ON worklog_deletions (deleted, id);
"""
TABLES = ("issues", "histories", "comments", "worklogs", "worklog_deletions")


class Store:
    """SQLite tables of one site; thread-safe through ``lock``."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="lumina-jira-"))
        self.connection = sqlite3.connect(self._dir / "site.db", check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=OFF")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-65536")
        self.connection.executescript(SCHEMA)
        self.lock = threading.RLock()

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        marks = ", ".join("?" * len(columns))
        with self.lock:
            self.connection.execute("BEGIN")
            try:
                self.connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            finally:
                self.connection.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.lock:
            return self.connection.execute(sql, params).rowcount

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
