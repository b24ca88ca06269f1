"""An SAP-shaped database with a simulated clock and change documents, written like SAP writes.

Stamps (``ERDAT``/``ERZET``, ``AEDAT``, ``CDHDR-UDATE``/``UTIME``) are the system's local wall
time (``timezone``), taken from the clock table the hook reads as the source's clock, so tests
move time without sleeping. Every business change writes its change document (``CDHDR`` header,
``CDPOS`` items with ``TABKEY`` = client + key fields at full CHAR width), as SAP does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, func, insert, select, update
from sqlalchemy.schema import CreateSchema

from lumina_sandbox.sap.schema import sap_metadata

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
CLOCK = "ZLUMINA_CLOCK"


@dataclass(frozen=True)
class CdItem:
    """One CDPOS line: which table row and field changed, and how (U update, I insert, D delete)."""

    table: str
    key: Sequence[str]
    field: str
    indicator: str
    new: str = ""
    old: str = ""


class SapSystem:
    """One SAP system's tables in ``schema`` of ``engine``.

    Args:
        timezone: the system time zone its stamps are written in.
        client: the production client (``MANDT``) the pipelines read.
    """

    def __init__(self, engine: Engine, schema: str | None, *, timezone: str = "Europe/Berlin", client: str = "100"):
        self.engine, self.schema, self.client = engine, schema, client
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.metadata = sap_metadata(schema)

    def table(self, name: str) -> Table:
        return self.metadata.tables[f"{self.schema}.{name}" if self.schema else name]

    # -- setup ---------------------------------------------------------------------------------
    def create(self, start: datetime = START) -> None:
        """Create the schema and the empty tables, and set the clock to ``start``."""
        with self.engine.begin() as conn:
            if self.schema and self.schema not in self._schemas(conn):
                conn.execute(CreateSchema(self.schema))
            self.metadata.drop_all(conn)
            self.metadata.create_all(conn)
            conn.execute(insert(self.table(CLOCK)), {"ID": 1, "UTC_NOW": start.replace(tzinfo=None)})

    def _schemas(self, conn: Connection) -> list[str]:
        from sqlalchemy import inspect

        return list(inspect(conn).get_schema_names())

    # -- clock ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        with self.engine.connect() as conn:
            value = conn.execute(select(self.table(CLOCK).c.UTC_NOW)).scalar_one()
        return value.replace(tzinfo=UTC)

    def advance(self, seconds: float) -> datetime:
        now = self.now() + timedelta(seconds=seconds)
        with self.engine.begin() as conn:
            conn.execute(update(self.table(CLOCK)).values(UTC_NOW=now.replace(tzinfo=None)))
        return now

    def stamp(self, at: datetime | None = None) -> tuple[str, str]:
        """``(DATS, TIMS)`` of ``at`` (default now) in the system's time zone."""
        local = (at or self.now()).astimezone(self.zone)
        return local.strftime("%Y%m%d"), local.strftime("%H%M%S")

    # -- writing -------------------------------------------------------------------------------
    def insert(self, conn: Connection, table: str, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            conn.execute(insert(self.table(table)), rows)

    def tabkey(self, table: str, key: Sequence[str], client: str | None = None) -> str:
        """CDPOS-TABKEY: the client and key fields, each padded to its full CHAR width."""
        t = self.table(table)
        columns = [c for c in t.primary_key.columns]
        values = [client or self.client, *key]
        return "".join(str(v).ljust(c.type.length or 0) for c, v in zip(columns, values, strict=True))  # type: ignore[attr-defined]

    def change_document(
        self,
        conn: Connection,
        object_class: str,
        object_id: str,
        items: Sequence[CdItem],
        *,
        at: datetime | None = None,
        tcode: str = "",
        client: str | None = None,
    ) -> str:
        """Write a change document (CDHDR + CDPOS) stamped ``at``; returns its CHANGENR."""
        client = client or self.client
        last = conn.execute(select(func.max(self.table("CDHDR").c.CHANGENR))).scalar()
        number = f"{int(last or 0) + 1:010d}"
        udate, utime = self.stamp(at)
        header_ind = "D" if any(i.indicator == "D" and i.table == items[0].table for i in items[:1]) else "U"
        self.insert(
            conn,
            "CDHDR",
            [
                {
                    "MANDANT": client,
                    "OBJECTCLAS": object_class,
                    "OBJECTID": object_id,
                    "CHANGENR": number,
                    "USERNAME": "BATCHUSER",
                    "UDATE": udate,
                    "UTIME": utime,
                    "TCODE": tcode,
                    "CHANGE_IND": header_ind,
                }
            ],
        )
        self.insert(
            conn,
            "CDPOS",
            [
                {
                    "MANDANT": client,
                    "OBJECTCLAS": object_class,
                    "OBJECTID": object_id,
                    "CHANGENR": number,
                    "TABNAME": i.table,
                    "TABKEY": self.tabkey(i.table, i.key, client),
                    "FNAME": i.field,
                    "CHNGIND": i.indicator,
                    "VALUE_NEW": i.new[:254],
                    "VALUE_OLD": i.old[:254],
                }
                for i in items
            ],
        )
        return number

    def count(self, table: str, client: str | None = None) -> int:
        t = self.table(table)
        query = select(func.count()).select_from(t)
        if client is not None and "MANDT" in t.c:
            query = query.where(t.c["MANDT"] == client)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
