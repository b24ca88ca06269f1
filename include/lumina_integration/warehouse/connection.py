"""SQLAlchemy engines for warehouse connections held in Airflow.

``postgres`` connections: read by the official provider's :class:`PostgresHook`, so they mean what they
mean to every other Postgres task: host/port/login/password, ``schema`` field = database, and every other
extra (``sslmode``, ``sslcert``, ``sslkey``, ``sslrootcert``, ``sslcrl``, ``connect_timeout``, ``options``,
IAM auth...) handled as the hook's ``get_conn`` handles it: the URL from ``PostgresHook.sqlalchemy_url`` and
the extras, minus the hook's own (``PostgresHook.ignored_extra_options``) and ours, passed to psycopg as
connection parameters. Ours: ``warehouse_schema``, the schema tables live in (default ``public``). The
driver is always psycopg 3 (``sqlalchemy_scheme`` is not ours to change), and libpq refuses TLS below 1.2
(``ssl_min_protocol_version``; a connection may raise it). ``duckdb`` connections: ``host`` = the database
file, extra ``warehouse_schema`` (default ``main``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from lumina_integration.private import private_dir, private_file

POSTGRES_DRIVER = "postgresql+psycopg"
# Extras that are this project's, not libpq's (psycopg refuses a parameter it does not know).
OWN_EXTRAS = frozenset({"warehouse_schema"})


@dataclass(frozen=True)
class WarehouseTarget:
    engine: Engine
    schema: str


@dataclass(frozen=True)
class WarehouseUrl:
    url: URL
    schema: str
    connect_args: dict[str, Any] = field(default_factory=dict)


def postgres_url(conn_id: str) -> WarehouseUrl:
    """The URL and psycopg connection parameters of a ``postgres`` connection, as the provider's hook reads it."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from lumina_integration.tls import libpq_minimum

    hook = PostgresHook(postgres_conn_id=conn_id, sqlalchemy_scheme=POSTGRES_DRIVER)
    extra = hook.connection.extra_dejson
    # What PostgresHook.get_conn hands psycopg.connect, so a TLS extra means the same here as in any
    # SQL operator on this connection.
    connect_args = {
        name: value
        for name, value in extra.items()
        if name not in PostgresHook.ignored_extra_options and name not in OWN_EXTRAS
    }
    connect_args["ssl_min_protocol_version"] = libpq_minimum(connect_args.get("ssl_min_protocol_version"))
    return WarehouseUrl(hook.sqlalchemy_url, extra.get("warehouse_schema", "public"), connect_args)


def _url_and_schema(conn_id: str) -> WarehouseUrl:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    if conn.conn_type in ("postgres", "postgresql"):
        return postgres_url(conn_id)
    if conn.conn_type == "duckdb":
        if not conn.host:
            raise ValueError(f"duckdb connection {conn_id!r} needs the database file path in host")
        path = Path(conn.host).expanduser()
        private_dir(path.parent)
        return WarehouseUrl(URL.create("duckdb", database=str(path)), extra.get("warehouse_schema", "main"))
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


def _keep_private(engine: Engine, path: Path) -> None:
    """DuckDB creates its file and WAL under the umask: tighten them (0600) once connected."""

    @event.listens_for(engine, "connect")
    def tighten(dbapi_conn: Any, conn_rec: Any) -> None:
        private_file(path)
        private_file(path.with_name(path.name + ".wal"))


# SQLAlchemy's errors quote the statement's bound parameters, and Airflow logs the error: a failed insert of
# quarantine rows would print whole records (their JSON) into the task log. The statement stays.
HIDE_PARAMETERS = True


@lru_cache(maxsize=8)
def warehouse_target(conn_id: str) -> WarehouseTarget:
    """One engine per connection per process (tasks are processes; pools stay small)."""
    target = _url_and_schema(conn_id)
    if target.url.drivername.startswith("postgresql"):
        engine = create_engine(
            target.url,
            connect_args=target.connect_args,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=2,
            hide_parameters=HIDE_PARAMETERS,
        )
    else:
        # DuckDB allows one writing process per file: never keep it open between uses, and wait
        # for the file while another task (a parallel run on LocalExecutor) holds it.
        engine = create_engine(target.url, poolclass=NullPool, hide_parameters=HIDE_PARAMETERS)
        _wait_for_file_lock(engine)
        _keep_private(engine, Path(str(target.url.database)))
    return WarehouseTarget(engine=engine, schema=target.schema)
