"""SQLAlchemy engines for warehouse connections held in Airflow.

``postgres`` connections: host/port/login/password, ``schema`` field = database, extra
``warehouse_schema`` = the schema tables live in (default ``public``). ``duckdb`` connections:
``host`` = the database file, extra ``warehouse_schema`` (default ``main``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class WarehouseTarget:
    engine: Engine
    schema: str


def _url_and_schema(conn_id: str) -> tuple[URL, str]:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    if conn.conn_type in ("postgres", "postgresql"):
        url = URL.create(
            "postgresql+psycopg",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or "127.0.0.1",
            port=conn.port or 5432,
            database=conn.schema or "postgres",
        )
        return url, extra.get("warehouse_schema", "public")
    if conn.conn_type == "duckdb":
        if not conn.host:
            raise ValueError(f"duckdb connection {conn_id!r} needs the database file path in host")
        path = Path(conn.host).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("duckdb", database=str(path)), extra.get("warehouse_schema", "main")
    raise ValueError(f"connection {conn_id!r} has type {conn.conn_type!r}; a warehouse needs postgres or duckdb")


DUCKDB_LOCK_WAIT_SECONDS = 120.0


def _wait_for_file_lock(engine: Engine) -> None:
    @event.listens_for(engine, "do_connect")
    def connect_when_free(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
        deadline = time.monotonic() + DUCKDB_LOCK_WAIT_SECONDS
        delay = 0.05
        while True:
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as exc:  # duckdb.IOException; the module is not imported at parse time
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


@lru_cache(maxsize=8)
def warehouse_target(conn_id: str) -> WarehouseTarget:
    """One engine per connection per process (tasks are processes; pools stay small)."""
    url, schema = _url_and_schema(conn_id)
    if url.drivername.startswith("postgresql"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
    else:
        # DuckDB allows one writing process per file: never keep it open between uses, and wait
        # for the file while another task (a parallel run on LocalExecutor) holds it.
        engine = create_engine(url, poolclass=NullPool)
        _wait_for_file_lock(engine)
    return WarehouseTarget(engine=engine, schema=schema)
