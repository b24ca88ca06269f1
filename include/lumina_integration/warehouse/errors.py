"""Warehouse errors as task logs may show them: what failed and where, never the values involved.

Postgres details a constraint violation with the whole failing row (``DETAIL: Failing row contains
(...)``) and a bad cast with the value (``invalid input syntax for type integer: "..."``); DuckDB quotes
values in its conversion errors. Airflow logs a task's exception, so a load that fails on a quarantine
row would print the record. :func:`values_withheld` re-raises such an error as :class:`WarehouseError`
naming the error class, SQLSTATE, table, column and constraint (Postgres reports them apart from the
message) and the start of the statement; parameters are already hidden by the engines
(``hide_parameters``, see :mod:`.connection`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

_STATEMENT_CHARS = 200


class WarehouseError(RuntimeError):
    """A warehouse statement failed; the message holds no value the statement read or wrote."""


def describe(error: DBAPIError) -> str:
    orig = error.orig
    parts = [type(orig).__name__ if orig is not None else type(error).__name__]
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg: the fields Postgres sends apart from its message
        parts += [
            f"{label} {value}"
            for label, value in (
                ("SQLSTATE", getattr(orig, "sqlstate", None)),
                ("table", diag.table_name),
                ("column", diag.column_name),
                ("constraint", diag.constraint_name),
                ("type", diag.datatype_name),
            )
            if value
        ]
    elif orig is not None:
        # DuckDB: "Conversion Error: Could not convert string '...' to INT32": the kind, not the rest.
        parts.append(str(orig).split(":", 1)[0][:80])
    statement = " ".join(str(error.statement or "").split())[:_STATEMENT_CHARS]
    return f"{', '.join(parts)}; statement: {statement}"


@contextmanager
def values_withheld() -> Iterator[None]:
    """Re-raise warehouse errors raised inside as :class:`WarehouseError` without the values."""
    try:
        yield
    except DBAPIError as exc:
        # ``from None``: the original, whose message may quote the row, is not printed with the traceback.
        raise WarehouseError(f"warehouse statement failed: {describe(exc)}") from None
