"""A DB-API 2.0 stand-in for ``hdbcli.dbapi``: records connect arguments, statements and
transaction calls, and answers the few statements the hook and the HANA dialect send."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

paramstyle = "qmark"


class Error(Exception):
    """hdbcli's Error carries ``errorcode`` and ``errortext``."""

    def __init__(self, errorcode: int, errortext: str) -> None:
        super().__init__(errorcode, errortext)
        self.errorcode, self.errortext = errorcode, errortext


@dataclass
class FakeDatabase:
    """Scripted answers: regex on the statement -> (column names, rows)."""

    answers: list[tuple[str, list[str], list[tuple[Any, ...]]]] = field(default_factory=list)
    connects: list[dict[str, Any]] = field(default_factory=list)
    statements: list[tuple[str, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    refuse: Error | None = None
    now: datetime = datetime(2026, 11, 20, 8, 0, 0)

    def connect(self, **kwargs: Any) -> FakeConnection:
        self.connects.append(kwargs)
        if self.refuse is not None:
            raise self.refuse
        return FakeConnection(self, autocommit=kwargs.get("autocommit", True))

    def answer(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        fixed = {
            r"SYS\.M_DATABASE": (["VERSION"], [("2.00.079.00",)]),
            r"CURRENT_USER FROM DUMMY": (["CURRENT_USER"], [("LUMINA_READER",)]),
            r"CURRENT_TRANSACTION_ISOLATION_LEVEL": (["LEVEL"], [("READ COMMITTED",)]),
            r"CURRENT_UTCTIMESTAMP\s+FROM\s+\"?DUMMY": (["NOW"], [(self.now,)]),
        }
        for pattern, (names, rows) in [*fixed.items(), *[(a[0], (a[1], a[2])) for a in self.answers]]:
            if re.search(pattern, sql):
                return names, list(rows)
        return [], []


class FakeConnection:
    def __init__(self, db: FakeDatabase, autocommit: bool) -> None:
        self.db, self._autocommit, self.closed = db, autocommit, False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def setautocommit(self, value: bool) -> None:
        self.db.events.append(f"autocommit={value}")
        self._autocommit = value

    def getautocommit(self) -> bool:
        return self._autocommit

    def isconnected(self) -> bool:
        return not self.closed

    def commit(self) -> None:
        self.db.events.append("commit")

    def rollback(self) -> None:
        self.db.events.append("rollback")

    def close(self) -> None:
        self.db.events.append("close")
        self.closed = True


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self._rows: list[tuple[Any, ...]] = []

    def __enter__(self) -> FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def execute(self, sql: str, params: Any = None) -> None:
        db = self.conn.db
        db.statements.append((sql, params))
        if db.events[-1:] != ["execute"]:
            db.events.append("execute")
        names, self._rows = db.answer(sql)
        self.description = [(n, None, None, None, None, None, None) for n in names] if names else None
        self.rowcount = len(self._rows)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        out, self._rows = self._rows[:size], self._rows[size:]
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        out, self._rows = self._rows, []
        return out

    def close(self) -> None:
        pass
