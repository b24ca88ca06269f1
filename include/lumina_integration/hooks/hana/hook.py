"""The SAP HANA / SAP ERP adapter hook: SQL on HANA tables and CDS views, never ODP over RFC.

Third-party extraction through ODP-over-RFC is not permitted by SAP (Note 3255746); reading the
ABAP tables and CDS views with SQL on HANA is. This hook is a common-sql ``DbApiHook`` (so the
SQL check operators work on a ``hana`` connection) and a source adapter:

- every read runs in one snapshot: autocommit off, ``REPEATABLE READ`` (HANA's transaction-level
  snapshot), keyset pages on ``(change stamp, key)``, rolled back and closed when done;
- statements are SQLAlchemy Core over reflected tables (:mod:`.sql`), streamed with
  ``fetchmany`` into Arrow batches (:mod:`.reader`);
- the same statements run through hdbcli on a real HANA and through SQLAlchemy on the
  SAP-shaped sandbox (connection extra ``sqlalchemy_url``; see :mod:`.settings`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.sql.hooks.sql import DbApiHook

from lumina_integration.hooks.base import SourceObject, SourceVersion
from lumina_integration.hooks.capabilities import ExtractUsage
from lumina_integration.hooks.hana.errors import hana_errors
from lumina_integration.hooks.hana.options import HanaOptions

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy import Connection, Engine, Table
    from sqlalchemy.engine import URL

    from lumina_integration.hooks.hana.settings import HanaSettings
    from lumina_integration.hooks.hana.sql import ReadPlan
    from lumina_integration.window import Window

RECONCILE_KEYS_PER_QUERY = 500


def _dbapi() -> Any:
    """hdbcli's DB-API module (a function, so tests can put a fake DB-API in its place)."""
    from hdbcli import dbapi

    return dbapi


class HanaHook(DbApiHook):
    """SAP HANA through hdbcli, as a common-sql hook and a Lumina source adapter.

    Args:
        hana_conn_id: an Airflow ``hana`` connection (see :mod:`lumina_integration.hooks.hana.settings`).
    """

    conn_name_attr = "hana_conn_id"
    default_conn_name = "hana_default"
    conn_type = "hana"
    hook_name = "SAP HANA (Lumina)"
    supports_autocommit = True
    _test_connection_sql = "SELECT 1 FROM DUMMY"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reconciled: dict[str, int] | None = None
        self._login_noted = False

    # -- connections -------------------------------------------------------------------------
    @cached_property
    def settings(self) -> HanaSettings:
        from lumina_integration.hooks.base import masked
        from lumina_integration.hooks.hana.settings import settings_from_connection

        settings = masked(settings_from_connection(self.get_connection(getattr(self, self.conn_name_attr))))
        if settings.mode == "hdbcli" and not (settings.encrypt and settings.validate_certificate):
            self.log.warning(
                "Connection %s: TLS %s; use only on a trusted network",
                settings.conn_id,
                "without certificate validation" if settings.encrypt else "off",
            )
        return settings

    def get_conn(self) -> Any:
        """A DB-API connection with autocommit off (hdbcli, or the sandbox's driver)."""
        if self.settings.mode == "sqlalchemy":
            return self.get_sqlalchemy_engine().raw_connection()
        with hana_errors(self.settings.conn_id):
            connection = _dbapi().connect(**self.settings.connect_kwargs())
        if not self._login_noted:
            # The first login of this hook; a task opens a connection per read, which would be noise.
            from lumina_integration.auth_audit import LOGIN, SUCCESS, record
            from lumina_integration.hooks.hana.errors import SYSTEM

            self._login_noted = True
            record(self.settings.conn_id, SYSTEM, LOGIN, SUCCESS, f"hdbcli connect ({self.settings.mode})")
        return connection

    def set_autocommit(self, conn: Any, autocommit: bool) -> None:
        if hasattr(conn, "setautocommit"):  # hdbcli
            conn.setautocommit(autocommit)
        else:
            super().set_autocommit(conn, autocommit)

    def get_autocommit(self, conn: Any) -> bool:
        if hasattr(conn, "getautocommit"):
            return bool(conn.getautocommit())
        return bool(super().get_autocommit(conn))

    @property
    def sqlalchemy_url(self) -> URL:
        from sqlalchemy.engine import URL, make_url

        s = self.settings
        if s.mode == "sqlalchemy":
            assert s.sqlalchemy_url is not None
            return make_url(s.sqlalchemy_url)
        return URL.create(
            "hana+hdbcli", username=s.user, password=s.password, host=s.host, port=s.port, database=s.database
        )

    @property
    def dialect_name(self) -> str:
        return "hana" if self.settings.mode == "hdbcli" else self.sqlalchemy_url.get_dialect().name

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Engine:
        return self.engine if not engine_kwargs else self._create_engine(engine_kwargs)

    @cached_property
    def engine(self) -> Engine:
        return self._create_engine({})

    def _create_engine(self, engine_kwargs: dict[str, Any]) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        # No pool: a task opens one connection per read and closes it; nothing lingers in a worker.
        kwargs = {"poolclass": NullPool, **engine_kwargs}
        if self.settings.mode == "sqlalchemy":
            return create_engine(self.sqlalchemy_url, **kwargs)
        # hdbcli connections come from our own connect (TLS, certificates, user store, autocommit
        # off); the dialect only compiles statements and reflects.
        return create_engine("hana+hdbcli://", creator=self.get_conn, **kwargs)

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One read-only transaction at snapshot isolation; always rolled back and closed."""
        with hana_errors(self.settings.conn_id), self.engine.connect() as conn:
            level = self._isolation_level(conn.dialect.name)
            snap = conn.execution_options(isolation_level=level) if level else conn
            snap.begin()
            try:
                yield snap
            finally:
                snap.rollback()

    def _isolation_level(self, dialect: str) -> str | None:
        if dialect in ("hana", "postgresql"):
            return self.settings.isolation_level  # transaction-level snapshot in both
        if dialect == "sqlite":
            return "SERIALIZABLE"
        return None  # DuckDB: every transaction is a snapshot

    # -- metadata ----------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:  # type: ignore[override]
        try:
            with self.snapshot() as conn:
                now = self._now(conn)
                names = self._names(conn)
        except Exception as exc:  # reported to the UI, not raised
            return False, f"{type(exc).__name__}: {exc}"
        schema = self.settings.sap_schema or "the default schema"
        return True, f"connected ({self.settings.mode}); {len(names)} tables and views in {schema}; clock {now}"

    def server_now(self) -> datetime:
        with self.snapshot() as conn:
            return self._now(conn)

    def _now(self, conn: Connection) -> datetime:
        from lumina_integration.hooks.hana.sql import select_clock

        clock = self._tables(conn, [self.settings.clock_table])[0] if self.settings.clock_table else None
        value = conn.execute(select_clock(conn.dialect.name, clock)).scalar_one()
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def _names(self, conn: Connection) -> dict[str, str]:
        """Upper-case SAP name -> name as reflected, for every table and view in the schema."""
        from sqlalchemy import inspect

        inspector = inspect(conn)
        schema = self.settings.sap_schema
        found = [*inspector.get_table_names(schema=schema), *inspector.get_view_names(schema=schema)]
        return {name.upper(): name for name in found}

    def _tables(self, conn: Connection, names: list[str]) -> list[Table]:
        from sqlalchemy import MetaData, Table

        from lumina_integration.hooks.hana.errors import HanaConfigurationError

        known = self._names(conn)
        metadata = MetaData(schema=self.settings.sap_schema)
        tables = []
        for name in names:
            if name.upper() not in known:
                raise HanaConfigurationError(
                    f"{name} is not a table or view in {self.settings.sap_schema or 'the schema'}"
                )
            tables.append(Table(known[name.upper()], metadata, autoload_with=conn))
        return tables

    def discover(self) -> list[SourceObject]:
        from sqlalchemy import inspect

        with self.snapshot() as conn:
            inspector = inspect(conn)
            return [
                SourceObject(
                    name=upper,
                    fields=[c["name"].upper() for c in inspector.get_columns(name, self.settings.sap_schema)],
                )
                for upper, name in sorted(self._names(conn).items())
            ]

    def usage(self) -> ExtractUsage:
        """SQL has no API quota to count; what a reconcile found."""
        return ExtractUsage(reconciled=self.reconciled)

    def versions_read(self) -> list[SourceVersion]:
        return []  # record-level source: the watermark and the merge carry the state

    # -- reads -------------------------------------------------------------------------------
    def configure(self, options: Mapping[str, Any]) -> HanaOptions:
        return HanaOptions.model_validate(dict(options))

    def _client(self, opts: HanaOptions) -> str | None:
        return opts.client or self.settings.client

    def plan(self, conn: Connection, obj: str, opts: HanaOptions) -> ReadPlan:
        """Resolve the options against the reflected catalogue (unknown names fail here)."""
        from lumina_integration.hooks.hana.plan import build_plan

        return build_plan(conn, obj, opts, self._tables)

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """Records of ``obj`` whose change stamp is in ``window`` (client-filtered), then tombstones
        for the window's change-document deletions; all in one snapshot."""
        from lumina_integration.hooks.hana import reader
        from lumina_integration.hooks.hana.sql import select_window

        opts = self.configure(options)
        client = self._client(opts)
        low = reader.stamp_text(window.start, opts.timezone) if window.start else None
        high = reader.stamp_text(window.end, opts.timezone)
        with self.snapshot() as conn:
            plan = self.plan(conn, obj, opts)
            if low is not None and plan.date_only:
                low = low[:8] + "000000"  # day-granular stamps: re-read the whole first day
            self.log.info("Reading %s client %s, stamps [%s, %s) in %s", obj, client, low, high, opts.timezone)
            after: list[Any] | None = None
            while True:
                stmt = select_window(plan, client, low, high, after=after, limit=opts.page_rows)
                result = conn.execution_options(stream_results=True).execute(stmt)
                rows = 0
                last = None
                for batch in reader.batches(result, plan, opts.timezone, opts.batch_rows):
                    rows += batch.num_rows
                    last = batch.slice(batch.num_rows - 1)
                    yield batch
                result.close()
                if rows < opts.page_rows or last is None:
                    break
                after = [last.column(reader.CURSOR)[0].as_py(), *[last.column(k.upper())[0].as_py() for k in plan.key]]
            if plan.change_docs is not None and plan.change_docs.deletions:
                gone = self._deletions(conn, plan, client, low, high, opts.timezone)
                if gone is not None:
                    yield gone

    def _deletions(
        self, conn: Connection, plan: ReadPlan, client: str | None, low: str | None, high: str, timezone: str
    ) -> pa.RecordBatch | None:
        from lumina_integration.hooks.hana import reader
        from lumina_integration.hooks.hana.sql import col, select_deletions

        widths = [
            getattr(col(plan.table, c).type, "length", None) or 0
            for c in [*([plan.client_column] if plan.client_column else []), *plan.key]
        ]
        keys, stamps = [], []
        for tabkey, stamp in conn.execute(select_deletions(plan, client, low, high)):
            parts = reader.split_tabkey(tabkey, widths)
            keys.append(parts[1:] if plan.client_column else parts)
            stamps.append(stamp)
        self.log.info("%d deletions of %s in the change documents", len(keys), plan.table.name)
        return reader.tombstones(plan, keys, stamps, timezone, client)

    def read_ids(self, obj: str, ids: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """The records with these ``_lumina_id`` values (gaps), in groups, in one snapshot."""
        from lumina_integration.hooks.hana import reader
        from lumina_integration.hooks.hana.sql import select_by_keys

        opts = self.configure(options)
        with self.snapshot() as conn:
            plan = self.plan(conn, obj, opts)
            keys = [tuple(i.split(reader.ID_SEPARATOR)) if len(plan.key) > 1 else (i,) for i in ids]
            for start in range(0, len(keys), RECONCILE_KEYS_PER_QUERY):
                stmt = select_by_keys(plan, self._client(opts), keys[start : start + RECONCILE_KEYS_PER_QUERY])
                yield from reader.batches(conn.execute(stmt), plan, opts.timezone, opts.batch_rows)

    def versions(self, obj: str, stamp_field: str | None, options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """``(id, stamp)`` of every record of ``obj`` in the client, keyset pages by key, in one snapshot.

        The stamp is the read's own cursor expression as a UTC instant (``_lumina_changed_at``); for any
        other ``stamp_field`` the stamps are null (ids only).
        """
        import pyarrow as pa

        from lumina_integration.hooks.hana import reader
        from lumina_integration.hooks.hana.sql import select_versions
        from lumina_integration.reconcile import ID, STAMP, STAMP_TYPE

        opts = self.configure(options)
        with_stamps = stamp_field is not None and stamp_field.upper() == reader.CHANGED_AT.upper()
        if stamp_field is not None and not with_stamps:
            self.log.warning("%s is not the change stamp %s: comparing ids only", stamp_field, reader.CHANGED_AT)
        with self.snapshot() as conn:
            plan = self.plan(conn, obj, opts)
            after = None
            while True:
                stmt = select_versions(plan, self._client(opts), after=after, limit=opts.page_rows)
                rows = conn.execute(stmt).all()
                if rows:
                    ids = pa.array([reader.ID_SEPARATOR.join(str(v).rstrip() for v in r[:-1]) for r in rows])
                    cursors = pa.array([r[-1] for r in rows], pa.string())
                    stamps = reader.changed_at(cursors, opts.timezone) if with_stamps else None
                    yield pa.RecordBatch.from_arrays(
                        [ids, stamps if stamps is not None else pa.nulls(len(rows), STAMP_TYPE)], names=[ID, STAMP]
                    )
                if len(rows) < opts.page_rows:
                    return
                after = list(rows[-1][:-1])

    def reconcile(
        self,
        obj: str,
        known: pa.Table,
        as_of: datetime,
        options: Mapping[str, Any],
        *,
        stamp_field: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Compare every source ``(id, change stamp)`` with ``known`` (the warehouse's live ``(id, stamp)``).

        Tombstones stamped ``as_of`` for ids the source no longer has (archived or deleted without
        change documents), then the full records of ids the warehouse lacks or holds with an older
        stamp (changes committed below the lookback); see :mod:`lumina_integration.reconcile`.
        """
        from lumina_integration.hooks.hana import reader
        from lumina_integration.reconcile import compare, versions_table

        opts = self.configure(options)
        found = compare(versions_table(self.versions(obj, stamp_field, options)), known, "second")
        self.reconciled = found.counts()
        self.log.info("Reconciled %s: %s", obj, self.reconciled)
        if found.behind:
            self.log.warning(
                "%d records of %s have an older change stamp in SAP than in the warehouse, e.g. %s; the cursor "
                "guard keeps the newer version: run the pipeline's __resync DAG to rewrite the object",
                len(found.behind),
                obj,
                found.behind[:5],
            )
        if found.gone:
            with self.snapshot() as conn:
                plan = self.plan(conn, obj, opts)
            stamp = reader.stamp_text(as_of, opts.timezone)
            keys = [tuple(i.split(reader.ID_SEPARATOR)) if len(plan.key) > 1 else (i,) for i in found.gone]
            batch = reader.tombstones(plan, keys, [stamp] * len(keys), opts.timezone, self._client(opts))
            if batch is not None:
                yield batch
        if found.reread:
            yield from self.read_ids(obj, found.reread, options)
