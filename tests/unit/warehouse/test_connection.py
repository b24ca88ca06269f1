"""Warehouse connections from Airflow connections; DuckDB waits for a file another task holds."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from lumina_integration.warehouse.connection import warehouse_target


def test_postgres_connection_and_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_PG_WH",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": "test",
                "extra": {"warehouse_schema": "analytics"},
            }
        ),
    )
    warehouse_target.cache_clear()
    target = warehouse_target("pg_wh")
    assert target.schema == "analytics"
    with target.engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar_one() == "test"


def test_wrong_connection_type_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HTTP_WH", json.dumps({"conn_type": "http", "host": "example.com"}))
    warehouse_target.cache_clear()
    with pytest.raises(ValueError, match="a warehouse needs postgres or duckdb"):
        warehouse_target("http_wh")


def test_duckdb_waits_while_another_process_holds_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "wh.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(database)!r})
            con.execute("CREATE TABLE held (a INT)")
            print("holding", flush=True)
            time.sleep(2)
            con.close()
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    monkeypatch.setenv("AIRFLOW_CONN_DUCK_WH", json.dumps({"conn_type": "duckdb", "host": str(database)}))
    warehouse_target.cache_clear()
    started = time.monotonic()
    with warehouse_target("duck_wh").engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM held")).scalar_one() == 0
    assert time.monotonic() - started > 0.5, "it should have waited for the other process"
    holder.wait(timeout=10)
    warehouse_target.cache_clear()
