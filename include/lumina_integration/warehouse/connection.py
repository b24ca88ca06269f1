"""SQLAlchemy engines for warehouse connections held in Airflow.

``postgres`` connections: host/port/login/password, ``schema`` field = database, extra
``warehouse_schema`` = the schema tables live in (default ``public``). ``duckdb`` connections:
``host`` = the database file, extra ``warehouse_schema`` (default ``main``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine
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


@lru_cache(maxsize=8)
def warehouse_target(conn_id: str) -> WarehouseTarget:
    """One engine per connection per process (tasks are processes; pools stay small)."""
    url, schema = _url_and_schema(conn_id)
    if url.drivername.startswith("postgresql"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
    else:
        # DuckDB allows one writing process per file: never keep it open between uses.
        engine = create_engine(url, poolclass=NullPool)
    return WarehouseTarget(engine=engine, schema=schema)
