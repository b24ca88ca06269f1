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


def _postgres_conn(monkeypatch: pytest.MonkeyPatch, name: str, extra: dict[str, object]) -> str:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{name.upper()}",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": "postgres",
                "schema": "test",
                "extra": extra,
            }
        ),
    )
    warehouse_target.cache_clear()
    return name


def _handed_to_psycopg(engine: object) -> dict[str, object]:
    """What SQLAlchemy passed to psycopg.connect on the next connection (the engine's real connect args)."""
    from sqlalchemy import event

    seen: dict[str, object] = {}

    @event.listens_for(engine, "do_connect")
    def capture(dialect: object, conn_rec: object, cargs: object, cparams: dict[str, object]) -> None:
        seen.update(cparams)

    return seen


def _server_ssl_on(monkeypatch: pytest.MonkeyPatch) -> bool:
    engine = warehouse_target(_postgres_conn(monkeypatch, "pg_probe", {"sslmode": "disable"})).engine
    with engine.connect() as conn:
        value = conn.execute(text("SHOW ssl")).scalar_one()
    engine.dispose()
    return value == "on"


def test_sslmode_disable_reaches_libpq_with_the_tls_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = _postgres_conn(
        monkeypatch, "pg_plain", {"warehouse_schema": "analytics", "sslmode": "disable", "connect_timeout": 5}
    )
    target = warehouse_target(conn_id)
    seen = _handed_to_psycopg(target.engine)
    with target.engine.connect() as conn:
        on_tls = conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one()
    assert on_tls is False
    assert seen["sslmode"] == "disable" and seen["connect_timeout"] == 5
    assert seen["ssl_min_protocol_version"] == "TLSv1.2"
    assert "warehouse_schema" not in seen, "our own extra must not reach libpq (it refuses unknown parameters)"
    assert target.engine.url.drivername == "postgresql+psycopg" and target.schema == "analytics"
    target.engine.dispose()


def test_sslmode_require_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy.exc

    server_tls = _server_ssl_on(monkeypatch)
    target = warehouse_target(_postgres_conn(monkeypatch, "pg_tls", {"sslmode": "require"}))
    seen = _handed_to_psycopg(target.engine)
    if server_tls:
        with target.engine.connect() as conn:
            assert conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one() is True
    else:
        # The local server has no TLS: libpq must refuse rather than fall back to clear text.
        with pytest.raises(sqlalchemy.exc.OperationalError, match="server does not support SSL"):
            target.engine.connect()
    assert seen["sslmode"] == "require"
    target.engine.dispose()


def test_tls_file_extras_are_handed_to_libpq_as_the_provider_hook_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """sslrootcert/sslcert/sslkey/sslcrl go to psycopg as PostgresHook.get_conn hands them; its own keys do not."""
    from lumina_integration.warehouse.connection import postgres_url

    extra = {
        "sslmode": "verify-full",
        "sslrootcert": str(tmp_path / "ca.pem"),
        "sslcert": str(tmp_path / "client.pem"),
        "sslkey": str(tmp_path / "client.key"),
        "sslcrl": str(tmp_path / "crl.pem"),
        "ssl_min_protocol_version": "TLSv1.3",
        "cursor": "dictcursor",
        "sqlalchemy_scheme": "postgresql+psycopg2",
        "warehouse_schema": "lumina",
    }
    built = postgres_url(_postgres_conn(monkeypatch, "pg_files", extra))
    assert built.connect_args == {
        "sslmode": "verify-full",
        "sslrootcert": str(tmp_path / "ca.pem"),
        "sslcert": str(tmp_path / "client.pem"),
        "sslkey": str(tmp_path / "client.key"),
        "sslcrl": str(tmp_path / "crl.pem"),
        "ssl_min_protocol_version": "TLSv1.3",  # a connection may raise the floor
    }
    assert built.url.drivername == "postgresql+psycopg", "the driver stays psycopg 3"
    assert built.schema == "lumina"


def test_a_floor_below_tls_1_2_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"below the project's floor TLSv1\.2"):
        warehouse_target(_postgres_conn(monkeypatch, "pg_old", {"ssl_min_protocol_version": "TLSv1.1"}))


def test_duckdb_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "state" / "wh.duckdb"
    monkeypatch.setenv("AIRFLOW_CONN_DUCK_PRIV", json.dumps({"conn_type": "duckdb", "host": str(database)}))
    warehouse_target.cache_clear()
    with warehouse_target("duck_priv").engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (a INT)"))
        conn.commit()
    assert (database.parent.stat().st_mode & 0o777) == 0o700
    assert (database.stat().st_mode & 0o777) == 0o600
    warehouse_target.cache_clear()
