"""What differs between warehouses: type names, how a stage table is filled, row locking.

Everything else (merge, state, audit, quarantine) is the same SQL for every dialect here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection

from lumina_integration import failpoints
from lumina_integration.canonical.schema import check_type_name

_DECIMAL_PREFIX = "decimal("


class Dialect:
    """Base: ANSI-ish SQL shared by Postgres and DuckDB."""

    name = "ansi"
    supports_row_locks = False
    timestamp_type = "TIMESTAMP WITH TIME ZONE"
    float_type = "DOUBLE PRECISION"

    def __init__(self, connection: Connection):
        self._preparer = connection.dialect.identifier_preparer

    def quote(self, identifier: str) -> str:
        """Quote an identifier. Identifiers only ever come from schemas and mappings we validated."""
        return str(self._preparer.quote_identifier(identifier))

    def table(self, schema: str, name: str) -> str:
        return f"{self.quote(schema)}.{self.quote(name)}"

    def sql_type(self, canonical_type: str) -> str:
        check_type_name(canonical_type)
        if canonical_type.startswith(_DECIMAL_PREFIX):
            return "NUMERIC" + canonical_type.removeprefix("decimal")
        return {
            "string": "TEXT",
            "integer": "BIGINT",
            "number": self.float_type,
            "boolean": "BOOLEAN",
            "date": "DATE",
            "timestamp": self.timestamp_type,
        }[canonical_type]

    supports_copy_in = False  # copy_in below: rows straight into a table in one bulk statement

    def fill_stage(self, connection: Connection, stage: str, columns: list[str], tables: Iterable[pa.Table]) -> int:
        raise NotImplementedError

    def copy_in(self, connection: Connection, table: str, columns: list[str], tables: Iterable[pa.Table]) -> int:
        raise NotImplementedError

    def is_unique_violation(self, error: BaseException) -> bool:
        return False


class PostgresDialect(Dialect):
    """Binary COPY straight from Arrow (pgpq encodes the batches in Rust).

    Against pyarrow writing CSV for ``COPY ... (FORMAT csv)`` (ANCHORS.md's fastest text path), 1M
    canonical customer rows fill the stage in about a third of the time, and the server parses less
    (bench/README.md). Null and the empty string stay apart, as in the binary format they always do.
    """

    name = "postgresql"
    supports_row_locks = True
    supports_copy_in = True

    def fill_stage(self, connection: Connection, stage: str, columns: list[str], tables: Iterable[pa.Table]) -> int:
        return self.copy_in(connection, self.quote(stage), columns, tables)

    def copy_in(self, connection: Connection, table: str, columns: list[str], tables: Iterable[pa.Table]) -> int:
        from pgpq import ArrowToPostgresBinaryEncoder

        column_list = ", ".join(self.quote(c) for c in columns)
        dbapi: Any = connection.connection.dbapi_connection
        rows = 0
        encoder = None
        statement = f"COPY {table} ({column_list}) FROM STDIN (FORMAT binary)"
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            for whole in tables:
                part = whole.select(columns)
                if encoder is None:
                    # One encoder for the whole COPY: the binary format has one header and one trailer.
                    encoder = ArrowToPostgresBinaryEncoder(part.schema)
                    copy.write(encoder.write_header())
                for batch in part.to_batches():
                    copy.write(encoder.write_batch(batch))
                rows += part.num_rows
                failpoints.hit("load.copy")
            if encoder is not None:
                copy.write(encoder.finish())
        return rows

    def is_unique_violation(self, error: BaseException) -> bool:
        # psycopg's own error from COPY, or one SQLAlchemy wrapped from a statement.
        return any(getattr(e, "sqlstate", None) == "23505" for e in (error, getattr(error, "orig", None)))


class DuckDBDialect(Dialect):
    """The embedded default: Arrow tables are scanned in place, with no copy through text."""

    name = "duckdb"
    float_type = "DOUBLE"

    def fill_stage(self, connection: Connection, stage: str, columns: list[str], tables: Iterable[pa.Table]) -> int:
        raw: Any = connection.connection.driver_connection
        column_list = ", ".join(self.quote(c) for c in columns)
        rows = 0
        for table in tables:
            raw.register("lumina_arrow_batch", table.select(columns))
            try:
                raw.execute(
                    f"INSERT INTO {self.quote(stage)} ({column_list}) SELECT {column_list} FROM lumina_arrow_batch"
                )
            finally:
                raw.unregister("lumina_arrow_batch")
            rows += table.num_rows
        return rows


def dialect_for(connection: Connection) -> Dialect:
    name = connection.dialect.name
    if name == "postgresql":
        return PostgresDialect(connection)
    if name == "duckdb":
        return DuckDBDialect(connection)
    raise LookupError(f"no warehouse loader for SQLAlchemy dialect {name!r}; supported: postgresql, duckdb")
