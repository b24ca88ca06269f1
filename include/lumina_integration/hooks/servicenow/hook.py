"""The ServiceNow adapter hook: any table, typed by its dictionary, read in keyset windows, deletes as tombstones.

Our own ``servicenow`` connection type (:mod:`.settings`, the form in :mod:`lumina_integration.provider`).
Every call goes through one :class:`~lumina_integration.hooks.rest.client.RestClient`: the connection's TLS
(mutual TLS included), basic or OAuth 2.0 auth with token refresh, 429/``Retry-After`` and the
``X-RateLimit-*`` window through the shared governor, the connection's circuit breaker. Reads are keyset
windows on ``(sys_updated_on, sys_id)`` (:mod:`.reader`), queries are built from the catalogue's names only
(:mod:`.query`, :mod:`.catalogue`), deletions come from ``sys_audit_delete`` or the reconcile run
(:mod:`.deletes`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from lumina_integration.hooks.base import RunContext, SourceField, SourceObject, SourceVersion, StopRun
from lumina_integration.hooks.capabilities import ExtractUsage
from lumina_integration.hooks.servicenow.options import ServiceNowOptions

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.auth_audit import AuthAuditor
    from lumina_integration.hooks.governance import ApiGovernor
    from lumina_integration.hooks.rest.client import RestClient
    from lumina_integration.hooks.servicenow.catalogue import Catalogue, Column, TableSchema
    from lumina_integration.hooks.servicenow.reader import TableApi
    from lumina_integration.hooks.servicenow.settings import ServiceNowSettings
    from lumina_integration.window import Window

SYSTEM = "ServiceNow"
CLOCK_TABLE = "sys_db_object"  # every read starts from the catalogue, so its reader may read this table
VERSIONS_PAGE = 10_000  # two short columns a row: the Table API's largest sensible page


class DeletesNotAudited(StopRun):
    """``deletes: audit`` on a table whose deletes the instance does not audit: they would be lost silently."""


class ServiceNowHook(BaseHook):
    """Reads ServiceNow tables through the Table API (see the module docstring).

    Args:
        servicenow_conn_id: an Airflow ``servicenow`` connection (see :mod:`.settings`).
    """

    conn_name_attr = "servicenow_conn_id"
    default_conn_name = "servicenow_default"
    conn_type = "servicenow"
    hook_name = "ServiceNow (Lumina)"

    def __init__(self, servicenow_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.servicenow_conn_id = servicenow_conn_id
        self.run = RunContext(pipeline_id="")
        self._options = ServiceNowOptions()
        self.transport_used: str | None = None
        self.reconciled: dict[str, int] = {}

    # -- wiring ---------------------------------------------------------------------------------------------
    @cached_property
    def settings(self) -> ServiceNowSettings:
        from lumina_integration.hooks.base import masked
        from lumina_integration.hooks.servicenow.settings import settings_from_connection

        return masked(settings_from_connection(self.get_connection(self.servicenow_conn_id)))

    @cached_property
    def governor(self) -> ApiGovernor:
        from lumina_integration.hooks.governance import ApiGovernor

        return ApiGovernor(spent_calls_24h=self.run.spent_api_calls_24h, system="ServiceNow", account="instance")

    @cached_property
    def client(self) -> RestClient:
        from lumina_integration.hooks.governance import run_breaker
        from lumina_integration.hooks.rest.client import RestClient
        from lumina_integration.hooks.rest.session import Timeouts, TlsSettings, rest_session

        s = self.settings
        session = rest_session(
            TlsSettings(ca_bundle=s.ca_bundle, client_cert=s.client_cert, client_key=s.client_key),
            timeouts=Timeouts(read=s.timeout_seconds),
        )
        session.trust_env = False  # proxies and CA bundles come from the connection, not the worker's environment
        breaker = run_breaker(self.servicenow_conn_id, self.run.pipeline_id, SYSTEM)
        return RestClient(
            s.instance_url,
            session=session,
            auth=self._auth(session),
            governor=self.governor,
            breaker=breaker,
            audit=self.audit,
        )

    @property
    def audit(self) -> AuthAuditor:
        from lumina_integration.auth_audit import AuthAuditor

        return AuthAuditor(self.servicenow_conn_id, SYSTEM, self.run.pipeline_id or None)

    def _auth(self, session: Any) -> Any:
        from lumina_integration.hooks.rest.auth import BasicAuth, OAuth2TokenAuth
        from lumina_integration.hooks.rest.token_store import refresh_token_for, rotation_handler

        s = self.settings
        if s.auth_type == "basic":
            return BasicAuth(s.username or "", s.password or "")
        grant = {
            "oauth_password": "password",
            "oauth_refresh_token": "refresh_token",
            "oauth_client_credentials": "client_credentials",
        }[s.auth_type]
        return OAuth2TokenAuth(
            s.token_url,
            grant,  # type: ignore[arg-type]
            client_id=s.client_id,
            client_secret=s.client_secret,
            username=s.username,
            password=s.password,
            # A token the instance rotated in an earlier task wins over the connection's (token_store).
            refresh_token=refresh_token_for(self.servicenow_conn_id, s.refresh_token),
            session=session,
            audit=self.audit,
            on_refresh_token=rotation_handler(self.servicenow_conn_id, s.refresh_token, self.audit),
        )

    @cached_property
    def api(self) -> TableApi:
        from lumina_integration.hooks.servicenow.reader import TableApi

        return TableApi(self.client)

    @cached_property
    def catalogue(self) -> Catalogue:
        from lumina_integration.hooks.servicenow.catalogue import Catalogue

        return Catalogue(self.api)

    def bind(self, run: RunContext) -> None:
        """Take the run's checkpoint store and the pipeline's API spending (before any call)."""
        self.run = run

    def configure(self, options: Mapping[str, Any]) -> ServiceNowOptions:
        """Validate the pipeline's options and apply its API budget."""
        from lumina_integration.hooks.governance import ApiBudget

        self._options = opts = ServiceNowOptions.model_validate(dict(options))
        self.governor.budget = ApiBudget(reserve_share=opts.reserve_share, max_calls_per_run=opts.max_api_calls)
        return opts

    def get_conn(self) -> RestClient:
        return self.client

    def usage(self) -> ExtractUsage:
        return ExtractUsage(
            api_calls=self.governor.calls, transport=self.transport_used, reconciled=self.reconciled or None
        )

    # -- metadata -------------------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        try:
            now = self.server_now()
            tables = len(self.catalogue.tables())
        except Exception as exc:  # any failure is reported to the UI, not raised
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"connected to {self.settings.instance_url}: {tables} tables; instance clock {now.isoformat()}"

    def server_now(self) -> datetime:
        """The instance's clock: the ``Date`` header of a one-row catalogue request."""
        return self.api.clock(CLOCK_TABLE)

    def discover(self) -> list[SourceObject]:
        return self.catalogue.objects()

    def schema(self, obj: str) -> TableSchema:
        return self.catalogue.schema(obj)

    def fields(self, obj: str) -> list[SourceField]:
        return self.schema(obj).source_fields()

    def versions_read(self) -> list[SourceVersion]:
        return []  # record-level source: the watermark and the merge carry the state

    def _read_columns(self, obj: str, opts: ServiceNowOptions) -> tuple[TableSchema, list[Column], pa.Schema]:
        from lumina_integration.hooks.rest.arrow import arrow_schema
        from lumina_integration.hooks.servicenow.deletes import DELETED_FIELD

        schema = self.schema(obj)
        columns = schema.select(opts.fields)
        return schema, columns, arrow_schema(schema.specs(columns, opts.display_value)).append(DELETED_FIELD)

    def _deletes(self, obj: str, schema: TableSchema, opts: ServiceNowOptions) -> str:
        mode = opts.deletes
        if mode == "auto":
            return "audit" if schema.audited else "reconcile"
        if mode == "audit" and not schema.audited:
            raise DeletesNotAudited(
                f"{obj} is not audited, so its deletes leave no sys_audit_delete rows: set deletes: reconcile (or "
                f"auto) and schedule maintenance.reconcile, or turn auditing on for the table"
            )
        return mode

    # -- reads ----------------------------------------------------------------------------------------------
    def estimate(self, obj: str, window: Window, options: Mapping[str, Any]) -> dict[str, Any]:
        """Records in the window and what reading them costs (Aggregate API count); checked against the budget."""
        from lumina_integration.hooks.servicenow.query import window_query

        opts = self.configure(options)
        schema = self.schema(obj)
        records = self.api.count(obj, window_query(schema.names(), obj, window.start, window.end, ordered=False))
        pages = -(-records // opts.page_size) + (0 if opts.trust_short_pages else 1)
        deletes = 1 if self._deletes(obj, schema, opts) == "audit" else 0
        calls = 1 + max(pages, 1) + deletes
        self.governor.check(calls=calls)
        return {"records": records, "transport": "rest", "api_calls": calls}

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """Every record of ``obj`` whose ``sys_updated_on`` is in ``window``, then the window's deletes."""
        from lumina_integration.hooks.servicenow.deletes import audited_deletes, tombstones
        from lumina_integration.hooks.servicenow.query import window_query

        opts = self.configure(options)
        schema, columns, out_schema = self._read_columns(obj, opts)
        names = schema.names()
        self.transport_used = "rest"
        self.log.info(
            "Reading %s [%s, %s) by (sys_updated_on, sys_id), %d fields, pages of %d",
            obj,
            window.start,
            window.end,
            len(columns),
            opts.page_size,
        )
        yield from self._batches(
            obj,
            columns,
            lambda after: window_query(names, obj, window.start, window.end, after=after),
            opts,
        )
        if self._deletes(obj, schema, opts) == "audit":
            classes = [obj, *self.catalogue.descendants(obj)]
            deleted = audited_deletes(self.api, classes, window.start, window.end, opts.page_size)
            self.log.info("%d deletes of %s in sys_audit_delete for the window", len(deleted), obj)
            yield from tombstones(deleted, out_schema)

    def _batches(
        self, obj: str, columns: list[Column], query_for: Any, opts: ServiceNowOptions
    ) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.rest.arrow import records_to_batches
        from lumina_integration.hooks.servicenow.deletes import with_deleted_flag
        from lumina_integration.hooks.servicenow.reader import empty_as_null

        schema = self.schema(obj)
        records = self.api.window(
            obj,
            [c.name for c in columns],
            opts.page_size,
            query_for,
            display=opts.display_value,
            short_page_is_last=opts.trust_short_pages,
        )
        for batch in records_to_batches(records, schema.specs(columns, opts.display_value), opts.page_size):
            yield with_deleted_flag(empty_as_null(batch))

    def read_ids(self, obj: str, ids: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """The live records with these sys_ids (``sys_idIN`` requests of ``read_ids_batch``)."""
        from lumina_integration.hooks.rest.arrow import records_to_batch
        from lumina_integration.hooks.servicenow.deletes import with_deleted_flag
        from lumina_integration.hooks.servicenow.query import Query
        from lumina_integration.hooks.servicenow.reader import empty_as_null

        opts = self.configure(options)
        schema, columns, _ = self._read_columns(obj, opts)
        specs = schema.specs(columns, opts.display_value)
        fields = [c.name for c in columns]
        size = opts.read_ids_batch
        for at in range(0, len(ids), size):
            group = sorted(ids[at : at + size])
            query = Query(schema.names(), obj).where_in("sys_id", group).order_by("sys_id").text()
            records = self.api.list(obj, query, fields, len(group), display=opts.display_value)
            if records:
                yield with_deleted_flag(empty_as_null(records_to_batch(records, specs)))

    def versions(self, obj: str, stamp_field: str | None, options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """``(id, stamp)`` of every live record, in sys_id pages; a stamp field that is no datetime: ids only."""
        import pyarrow as pa

        from lumina_integration.hooks.rest.arrow import FieldSpec, records_to_batches
        from lumina_integration.hooks.servicenow.catalogue import TIMESTAMP
        from lumina_integration.hooks.servicenow.query import GLIDE_FORMAT
        from lumina_integration.reconcile import ID, STAMP, STAMP_TYPE

        self.configure(options)
        schema = self.schema(obj)
        stamp = schema.columns.get(stamp_field) if stamp_field else None
        if stamp_field and (stamp is None or stamp.arrow_type != TIMESTAMP):
            self.log.warning("%s.%s is not a datetime field: comparing sys_ids only", obj, stamp_field)
            stamp = None
        fields = ["sys_id", *([stamp.name] if stamp is not None else [])]
        specs = [FieldSpec(ID, pa.string(), path=("sys_id",))]
        if stamp is not None:
            specs.append(FieldSpec(STAMP, TIMESTAMP, path=(stamp.name,), fmt=GLIDE_FORMAT))
        records = self.api.by_sys_id(obj, schema.names(), fields, VERSIONS_PAGE)
        for batch in records_to_batches(records, specs, VERSIONS_PAGE):
            stamps = batch.column(1) if stamp is not None else pa.nulls(batch.num_rows, STAMP_TYPE)
            yield pa.RecordBatch.from_arrays([batch.column(0), stamps], names=[ID, STAMP])

    def reconcile(
        self,
        obj: str,
        known: pa.Table,
        as_of: datetime,
        options: Mapping[str, Any],
        *,
        stamp_field: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Compare every live ``(sys_id, stamp_field)`` with ``known`` (the warehouse's live ``(id, stamp)``).

        Tombstones stamped ``as_of`` for known ids the instance no longer has (every delete of an unaudited
        table, and audited ones below the lookback), then the records the warehouse lacks or holds older.
        """
        from lumina_integration.hooks.servicenow.deletes import tombstones
        from lumina_integration.reconcile import compare, versions_table

        opts = self.configure(options)
        self.transport_used = "rest"
        found = compare(versions_table(self.versions(obj, stamp_field, options)), known, "second")
        self.reconciled = found.counts()
        self.log.info(
            "Reconciled %s by (sys_id, %s): %d live in the instance, %d in the warehouse; %d gone, %d missing, "
            "%d changed, %d older in the instance",
            obj,
            stamp_field or "no stamp",
            found.source,
            found.known,
            len(found.gone),
            len(found.missing),
            len(found.changed),
            len(found.behind),
        )
        if found.gone and opts.deletes != "none":
            _, _, out_schema = self._read_columns(obj, opts)
            yield from tombstones(dict.fromkeys(found.gone, as_of), out_schema)
        if found.reread:
            yield from self.read_ids(obj, found.reread, options)
