"""A failed warehouse statement's error (what Airflow logs) does not quote the rows it was given."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lumina_integration.warehouse.connection import warehouse_target
from lumina_integration.warehouse.errors import WarehouseError, values_withheld

EMAIL, PHONE = "jane.doe.leak@example.org", "+49 30 5550199"
RECORD = json.dumps({"email": EMAIL, "phone": PHONE})


@pytest.fixture(params=["postgres", "duckdb"])
def target(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if request.param == "postgres":
        conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres", "schema": "test"}
    else:
        conn = {"conn_type": "duckdb", "host": str(tmp_path / "wh.duckdb")}
    monkeypatch.setenv("AIRFLOW_CONN_LUMINA_ERRORS_WH", json.dumps(conn))
    warehouse_target.cache_clear()
    yield warehouse_target("lumina_errors_wh")
    warehouse_target.cache_clear()


def failed(target: Any, statement: str, params: list[dict[str, Any]]) -> tuple[str, str]:
    """(the error's message, the whole traceback as Airflow would log it) of a failing statement."""
    with pytest.raises(WarehouseError) as excinfo, values_withheld(), target.engine.connect() as conn:
        conn.execute(sa.text("CREATE TEMPORARY TABLE q (reason TEXT NOT NULL, record TEXT NOT NULL, n INTEGER)"))
        conn.execute(sa.text(statement), params)
    return str(excinfo.value), "".join(traceback.format_exception(excinfo.value))


def test_a_constraint_violation_names_table_and_column_but_not_the_row(target: Any) -> None:
    # An executemany like the quarantine insert; the second record breaks it (a reason must not be null).
    message, logged = failed(
        target,
        "INSERT INTO q (reason, record) VALUES (:reason, :record)",
        [{"reason": "ok", "record": RECORD}, {"reason": None, "record": RECORD}],
    )
    assert "INSERT INTO q (reason, record)" in message
    assert ("NotNullViolation, SQLSTATE 23502, table q, column reason;" in message) or (
        "ConstraintException, Constraint Error;" in message
    ), message
    assert EMAIL not in logged and PHONE not in logged, logged


def test_a_bad_cast_does_not_quote_the_value(target: Any) -> None:
    message, logged = failed(
        target, "INSERT INTO q (reason, record, n) VALUES ('r', 'x', CAST(:n AS INTEGER))", [{"n": EMAIL}]
    )
    assert message.startswith(
        (
            "warehouse statement failed: InvalidTextRepresentation, SQLSTATE 22P02;",
            "warehouse statement failed: ConversionException",
        )
    ), message
    assert EMAIL not in logged, logged
