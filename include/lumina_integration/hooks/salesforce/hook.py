"""The Salesforce adapter hook: discovery, incremental windows, deletes, refreshes, write-back.

Keeps the official provider's ``salesforce`` connection type. Every call goes through one
:class:`~lumina_integration.hooks.salesforce.client.SalesforceClient` (breaker, budget, one
re-login on expiry, retries); reads go through :mod:`reader` (REST or Bulk 2.0 by one decision
that plan's estimate shares, identical typing, QUERY_TIMEOUT splitting by time, then Bulk, then
Id range); SOQL is built only from identifiers ``describe`` returned.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from lumina_integration.hooks.base import RunContext, SourceField, SourceObject, SourceVersion
from lumina_integration.hooks.capabilities import ExtractUsage
from lumina_integration.hooks.salesforce.options import SalesforceOptions

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.hooks.salesforce.client import SalesforceClient
    from lumina_integration.hooks.salesforce.reader import QueryReader, Slice
    from lumina_integration.hooks.salesforce.resilience import QuotaGovernor
    from lumina_integration.hooks.salesforce.settings import SalesforceSettings
    from lumina_integration.window import Window

CURSOR_PREFERENCE = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
# The deleted-records endpoint refuses a start more than 30 days before the server's now
# (INVALID_REPLICATION_DATE) and only knows the last 15 days (the recycle bin); ask from no
# earlier than an hour inside those 15 days, counted from the server's clock.
DELETED_HORIZON = timedelta(days=15) - timedelta(hours=1)
DELETED_MIN_SPAN = timedelta(minutes=2)


class SalesforceAdapterHook(BaseHook):
    """Reads sObjects incrementally by ``(cursor, Id)`` (cursor: SystemModstamp where it exists).

    Args:
        salesforce_conn_id: an Airflow ``salesforce`` connection (user in login/password; extras:
            ``auth_mode``, ``client_id``, ``client_secret``, ``security_token``, ``private_key``,
            ``refresh_token``, ``version``, ``ca_bundle``, ``domain``: see :mod:`.settings`; ``host`` is not read).
    """

    conn_name_attr = "salesforce_conn_id"
    default_conn_name = "salesforce_default"
    conn_type = "salesforce"
    hook_name = "Salesforce (Lumina adapter)"

    def __init__(self, salesforce_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.salesforce_conn_id = salesforce_conn_id
        self.run = RunContext(pipeline_id="")
        self.transport_used: str | None = None
        self._described: dict[str, dict[str, Any]] = {}
        self._options = SalesforceOptions()
        self.reconciled: dict[str, int] | None = None  # the last reconcile's counts

    # -- wiring ------------------------------------------------------------------------------
    @cached_property
    def settings(self) -> SalesforceSettings:
        from lumina_integration.hooks.base import masked
        from lumina_integration.hooks.salesforce.settings import settings_from_connection

        return masked(settings_from_connection(self.get_connection(self.salesforce_conn_id)))

    @cached_property
    def governor(self) -> QuotaGovernor:
        from lumina_integration.hooks.salesforce.resilience import QuotaGovernor

        return QuotaGovernor(
            spent_calls_24h=self.run.spent_api_calls_24h, spent_bulk_jobs_24h=self.run.spent_bulk_jobs_24h
        )

    @cached_property
    def client(self) -> SalesforceClient:
        from lumina_integration.auth_audit import AuthAuditor
        from lumina_integration.hooks.governance import run_breaker
        from lumina_integration.hooks.salesforce.client import SalesforceClient

        breaker = run_breaker(self.salesforce_conn_id, self.run.pipeline_id, "Salesforce")
        audit = AuthAuditor(self.salesforce_conn_id, "Salesforce", self.run.pipeline_id or None)
        return SalesforceClient(self.settings, self.governor, breaker, audit=audit, conn_id=self.salesforce_conn_id)

    def bind(self, run: RunContext) -> None:
        """Take the run's checkpoint store and the pipeline's API spending (before any call)."""
        self.run = run

    def configure(self, options: Mapping[str, Any]) -> SalesforceOptions:
        """Validate the pipeline's options and apply its API budget."""
        from lumina_integration.hooks.governance import ApiBudget

        self._options = opts = SalesforceOptions.model_validate(dict(options))
        self.governor.budget = ApiBudget(
            reserve_share=opts.reserve_share,
            pipeline_share=opts.api_budget_share,
            bulk_job_share=opts.bulk_job_budget_share,
            max_calls_per_run=opts.max_api_calls,
        )
        return opts

    def get_conn(self) -> Any:
        return self.client.sf

    def _reader(self) -> QueryReader:
        """A reader for this read's options (Bulk settings included; a hook may read several times)."""
        from lumina_integration.hooks.salesforce.bulk import BulkQuery, BulkSettings
        from lumina_integration.hooks.salesforce.reader import QueryReader

        o = self._options
        bulk = BulkQuery(
            self.client,
            self.run.checkpoint,
            BulkSettings(
                poll_seconds=o.bulk_poll_seconds,
                timeout_seconds=o.bulk_timeout_seconds,
                page_records=o.bulk_page_records,
            ),
        )
        return QueryReader(self.client, bulk, o)

    # -- metadata ----------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        try:
            limits = self.limits()
        except Exception as exc:  # any failure is reported to the UI, not raised
            return False, f"{type(exc).__name__}: {exc}"
        daily = limits.get("DailyApiRequests", {})
        return True, f"connected; {daily.get('Remaining')} of {daily.get('Max')} daily API requests left"

    def limits(self) -> dict[str, Any]:
        limits: dict[str, Any] = self.client.request("GET", "limits/").json()
        self.governor.observe_limits(limits)
        return limits

    def server_now(self) -> datetime:
        response = self.client.request("GET", "limits/")
        self.governor.observe_limits(response.json())
        header = response.headers.get("Date")
        if not header:
            raise RuntimeError("Salesforce sent no Date header; cannot bound the window by its clock")
        return parsedate_to_datetime(header).astimezone(UTC)

    def discover(self) -> list[SourceObject]:
        described = self.client.call(lambda: self.client.sf.describe())
        return [
            SourceObject(name=o["name"], description=o.get("label", ""))
            for o in described["sobjects"]
            if o.get("queryable")
        ]

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe (cached for the life of the hook: one task)."""
        from lumina_integration.hooks.salesforce.soql import checked

        key = sobject.lower()
        if key not in self._described:
            name = checked(sobject, [o.name for o in self.discover()], "sObject")
            self._described[key] = self.client.call(lambda: getattr(self.client.sf, name).describe())
        return self._described[key]

    def fields(self, obj: str) -> list[SourceField]:
        return [
            SourceField(
                name=f["name"],
                type=f["type"],
                length=f.get("length") or None,
                precision=f.get("precision") or None,
                scale=f.get("scale") if f.get("precision") else None,
                calculated=bool(f.get("calculated")),
                values=tuple(sorted(p["value"] for p in f.get("picklistValues") or [] if p.get("active", True))),
            )
            for f in self.describe(obj)["fields"]
        ]

    def calculated_fields(self, obj: str) -> list[str]:
        return [f.name for f in self.fields(obj) if f.calculated]

    def cursor_field(self, obj: str) -> str:
        names = {f["name"] for f in self.describe(obj)["fields"] if f.get("filterable", True)}
        cursor = next((c for c in CURSOR_PREFERENCE if c in names), None)
        if cursor is None:
            raise ValueError(f"{obj} has none of {CURSOR_PREFERENCE} to filter on; it cannot be read incrementally")
        return cursor

    def usage(self) -> ExtractUsage:
        """The calls and bulk jobs this hook's governor counted, the transports the last read took,
        the last reconcile's counts."""
        return ExtractUsage(
            api_calls=self.governor.calls,
            bulk_jobs=self.governor.bulk_jobs,
            transport=self.transport_used,
            reconciled=self.reconciled,
        )

    def versions_read(self) -> list[SourceVersion]:
        return []  # record-level source: the watermark and the merge carry the state

    # -- reads -------------------------------------------------------------------------------
    def _schema(self, obj: str, wanted: list[str] | None) -> pa.Schema:
        from lumina_integration.hooks.salesforce.typing import extract_schema

        return extract_schema(self.describe(obj)["fields"], wanted)

    def _allowed(self, obj: str) -> dict[str, Any]:
        described = self.describe(obj)
        return {"allowed_objects": [described["name"]], "allowed_fields": [f["name"] for f in described["fields"]]}

    def estimate(self, obj: str, window: Window, options: Mapping[str, Any]) -> dict[str, Any]:
        """Records in the window and what reading them costs; raises BudgetExceeded up front."""
        from lumina_integration.hooks.salesforce import soql

        opts = self.configure(options)
        schema, allowed = self._schema(obj, opts.fields), self._allowed(obj)
        cursor = self.cursor_field(obj)
        query = soql.select_window(obj, schema.names, cursor, window.start, window.end, **allowed)
        reader = self._reader()
        records = reader.count(soql.count_window(obj, cursor, window.start, window.end, **allowed))
        # The very decision the read makes for the same window (see QueryReader.transport_for).
        bulk = reader.transport_for(query, records=records) == "bulk"
        if bulk:
            # create + ~6 polls (0.25 s, then 1.5x longer waits: 8 s of job) + one call per result page + the clock
            # and the deleted-records call
            calls, jobs = 9 + -(-records // opts.bulk_page_records), 1
        else:
            calls, jobs = 3 + -(-records // opts.page_size), 0
        self.governor.check(calls=calls, bulk_jobs=jobs)
        return {"records": records, "transport": "bulk" if bulk else "rest", "api_calls": calls, "bulk_jobs": jobs}

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """Every record of ``obj`` whose cursor is in ``window``, deletions included as tombstones."""
        from lumina_integration.hooks.salesforce import soql
        from lumina_integration.hooks.salesforce.reader import split_on_timeout

        opts = self.configure(options)
        schema, allowed = self._schema(obj, opts.fields), self._allowed(obj)
        cursor = self.cursor_field(obj)
        reader = self._reader()
        deleted_ids: set[str] = set()

        def read_slice(part: Slice) -> Iterator[pa.RecordBatch]:
            query = soql.select_window(obj, schema.names, cursor, part.start, part.end, ids=part.ids, **allowed)
            count_query = soql.count_window(obj, cursor, part.start, part.end, ids=part.ids, **allowed)
            transport = part.transport or reader.transport_for(query, count_query)
            self.log.info("Reading %s %s by %s over %s", obj, part, cursor, transport)
            yield from reader.read(query, schema, transport)

        batches = split_on_timeout(
            read_slice,
            window.start,
            window.end,
            lambda: self._earliest(obj, cursor),
            lambda part: self._id_bounds(obj, cursor, part),
            # transport: rest is honoured where it can be: a slice is split by id range instead.
            bulk_allowed=opts.transport != "rest",
        )
        for batch in batches:
            if "IsDeleted" in batch.schema.names:
                self._note_deleted(batch, deleted_ids)
            yield batch
        self.transport_used = "+".join(sorted(reader.transports)) or None
        if opts.deleted_endpoint:
            extra = self._deleted_tombstones(obj, window, schema, cursor, deleted_ids)
            if extra is not None:
                yield extra

    @staticmethod
    def _note_deleted(batch: pa.RecordBatch, seen: set[str]) -> None:
        import pyarrow.compute as pc

        flags = batch.column(batch.schema.get_field_index("IsDeleted"))
        if pc.any(flags).as_py():
            seen.update(batch.column(batch.schema.get_field_index("Id")).filter(flags).to_pylist())

    def _earliest(self, obj: str, cursor: str) -> datetime | None:
        """The oldest cursor value of the object (a lower bound to split a first load on)."""
        from lumina_integration.hooks.salesforce import soql
        from lumina_integration.hooks.salesforce.reader import parse_datetime

        query = soql.select_earliest(obj, cursor, **self._allowed(obj))
        include = self._options.include_deleted
        records = self.client.call(lambda: self.client.sf.query(query, include_deleted=include))["records"]
        return parse_datetime(records[0][cursor]) if records else None

    def _id_bounds(self, obj: str, cursor: str, part: Slice) -> tuple[str, str] | None:
        """The lowest and highest Id in a slice of a window (None: it has no records)."""
        from lumina_integration.hooks.salesforce import soql

        include, allowed = self._options.include_deleted, self._allowed(obj)
        bounds: list[str] = []
        for last in (False, True):
            query = soql.select_id_bound(obj, cursor, part.start, part.end, last=last, ids=part.ids, **allowed)
            found = self.client.call(lambda: self.client.sf.query(query, include_deleted=include))  # noqa: B023
            if not found["records"]:
                return None
            bounds.append(str(found["records"][0]["Id"]))
        return bounds[0], bounds[1]

    def _deleted_tombstones(
        self, obj: str, window: Window, schema: pa.Schema, cursor: str, seen: set[str]
    ) -> pa.RecordBatch | None:
        from lumina_integration.hooks.salesforce.reader import parse_datetime, tombstones

        # Bounded by the server's now, not the window's end: Salesforce refuses a start more than
        # 30 days back by its own clock. Older windows get their soft deletes from queryAll (the
        # IsDeleted rows still in the recycle bin) and their hard deletes from the reconcile DAG.
        horizon = self.server_now() - DELETED_HORIZON
        if window.end <= horizon:
            self.log.info(
                "Not asking sobjects/%s/deleted for [%s, %s): Salesforce keeps deleted records for 15 days, "
                "so this window's deletions come from queryAll (IsDeleted rows) and the reconcile DAG only",
                obj,
                window.start,
                window.end,
            )
            return None
        start = max(window.start, horizon) if window.start is not None else horizon
        # The endpoint wants more than a minute between start and end (and ignores seconds): ask
        # for a wider span and keep what falls inside the window below.
        start = min(start, window.end - DELETED_MIN_SPAN)
        sobject = self.describe(obj)["name"]
        found = self.client.call(lambda: getattr(self.client.sf, sobject).deleted(start, window.end))
        inside = [
            (d["id"], parse_datetime(d["deletedDate"]))
            for d in found.get("deletedRecords", [])
            if d["id"] not in seen and window.contains(parse_datetime(d["deletedDate"]))
        ]
        return tombstones([i for i, _ in inside], [t for _, t in inside], schema, cursor)

    def read_ids(self, obj: str, ids: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """The records with these ids (deleted ones included), in groups as large as the transport takes."""
        from lumina_integration.hooks.salesforce import soql

        opts = self.configure(options)
        schema, allowed = self._schema(obj, opts.fields), self._allowed(obj)
        yield from self._reader().read_ids(
            lambda group: soql.select_by_ids(obj, schema.names, group, **allowed), ids, schema
        )

    def versions(self, obj: str, stamp_field: str | None, options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """``(id, stamp)`` of every live record: ``SELECT Id, <stamp_field> FROM obj``, one Bulk 2.0 job when
        the object is big. ``stamp_field`` None, or not a datetime field: ids only (null stamps)."""
        import pyarrow as pa

        from lumina_integration.hooks.salesforce import soql
        from lumina_integration.reconcile import ID, STAMP, STAMP_TYPE

        self.configure(options)
        allowed = self._allowed(obj)
        schema = self._schema(obj, ["Id", *([stamp_field] if stamp_field else [])])
        stamp = next((f for f in schema if stamp_field and f.name.lower() == stamp_field.lower()), None)
        if stamp_field and (stamp is None or not pa.types.is_timestamp(stamp.type)):
            self.log.warning("%s.%s is not a datetime field: comparing ids only", obj, stamp_field)
            stamp = None
        schema = pa.schema([schema.field("Id"), *([stamp] if stamp is not None else [])])
        reader = self._reader()
        query = soql.select_all(obj, schema.names, **allowed)
        count_query = soql.count_all(obj, allowed_objects=allowed["allowed_objects"])
        for batch in reader.read(query, schema, reader.transport_for(query, count_query), include_deleted=False):
            stamps = batch.column(1).cast(STAMP_TYPE) if stamp is not None else pa.nulls(batch.num_rows, STAMP_TYPE)
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
        """Compare every live source ``(Id, stamp_field)`` with ``known`` (the warehouse's live ``(id, stamp)``).

        Yields tombstones stamped ``as_of`` for known ids the source no longer has (hard deletes,
        purged recycle bins), then the full records of source ids the warehouse lacks (gaps) or
        holds with an older stamp (updates stamped below the lookback); :meth:`usage` reports the
        counts (see :mod:`lumina_integration.reconcile`).
        """
        from lumina_integration.hooks.salesforce.reader import tombstones
        from lumina_integration.reconcile import compare, versions_table

        opts = self.configure(options)
        found = compare(versions_table(self.versions(obj, stamp_field, options)), known, "millisecond")
        self.reconciled = found.counts()
        self.log.info(
            "Reconciled %s by (Id, %s): %d live in the source, %d in the warehouse; %d gone from the source, "
            "%d missing from the warehouse, %d changed since the warehouse's version, %d older in the source",
            obj,
            stamp_field or "no stamp",
            found.source,
            found.known,
            len(found.gone),
            len(found.missing),
            len(found.changed),
            len(found.behind),
        )
        if found.behind:
            self.log.warning(
                "%d records of %s have an older stamp in the source than in the warehouse (a stamp moved back, "
                "a source clock stepped back), e.g. %s; the cursor guard keeps the newer version: run the "
                "pipeline's __resync DAG to rewrite the object as the source has it",
                len(found.behind),
                obj,
                found.behind[:5],
            )
        batch = tombstones(
            found.gone, [as_of] * len(found.gone), self._schema(obj, opts.fields), self.cursor_field(obj)
        )
        if batch is not None:
            yield batch
        if found.reread:
            yield from self.read_ids(obj, found.reread, options)

    def read_columns(self, obj: str, fields: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """``Id`` + ``fields`` of every live record (formula refreshes, column-only backfills)."""
        from lumina_integration.hooks.salesforce import soql

        self.configure(options)
        wanted = ["Id", *[f for f in fields if f.lower() != "id"]]
        schema, allowed = self._schema(obj, wanted), self._allowed(obj)
        reader = self._reader()
        query = soql.select_all(obj, schema.names, **allowed)
        count_query = soql.count_all(obj, allowed_objects=allowed["allowed_objects"])
        yield from reader.read(query, schema, reader.transport_for(query, count_query), include_deleted=False)

    # -- write-back ----------------------------------------------------------------------------
    def write(
        self, obj: str, operation: str, table: pa.Table, *, external_id_field: str | None = None
    ) -> tuple[str, pa.Table, pa.Table]:
        """Bulk 2.0 ingest of ``table`` (columns = field API names); returns job id, successes, failures."""
        from lumina_integration.hooks.salesforce.bulk import run_ingest
        from lumina_integration.hooks.salesforce.soql import checked

        allowed = self._allowed(obj)
        names = [checked(c, allowed["allowed_fields"], f"field of {obj}") for c in table.column_names]
        if external_id_field is not None:
            external_id_field = checked(external_id_field, allowed["allowed_fields"], f"field of {obj}")
        return run_ingest(
            self.client,
            allowed["allowed_objects"][0],
            operation,
            table.rename_columns(names),
            external_id_field=external_id_field,
        )
