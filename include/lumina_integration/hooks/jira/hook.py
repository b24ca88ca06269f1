"""The Jira adapter hook: issues, comments, worklogs and changelogs of Jira Cloud and Data Center.

Keeps the official Atlassian provider's ``jira`` connection type (see :mod:`.settings`): the same
connection drives the provider's ``JiraHook`` in basic mode. Every call goes through one
:class:`~lumina_integration.hooks.rest.client.RestClient` (auth, retries honouring ``Retry-After``, the
breaker, the API governor); reads are :mod:`.reader`'s; JQL is :mod:`.jql`'s, from catalogue fields
only; columns are typed from the field catalogue (:mod:`.fields`).

Objects (``source.object``):

- ``issues``: by ``updated`` (the cursor) and ``id`` (the key);
- ``comments``: every comment of the issues changed in the window (the merge skips unchanged ones);
- ``worklogs``: the site-wide ``worklog/updated`` feed, with ``worklog/deleted`` as tombstones;
- ``changelog``: one row per changed field of every history entry of the issues changed in the window.

Jira reports no deleted issues: reconciliation (:meth:`JiraAdapterHook.reconcile`) compares every live
``(id, updated)`` with the warehouse's and tombstones the ids the site no longer has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from lumina_integration.hooks.base import RunContext, SourceField, SourceObject, SourceVersion
from lumina_integration.hooks.capabilities import ExtractUsage
from lumina_integration.hooks.jira.options import OBJECTS, JiraOptions, object_name

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import pyarrow as pa

    from lumina_integration.auth_audit import AuthAuditor
    from lumina_integration.hooks.governance import ApiGovernor
    from lumina_integration.hooks.jira.fields import Catalogue
    from lumina_integration.hooks.jira.reader import IssueReader, Search
    from lumina_integration.hooks.jira.settings import JiraSettings
    from lumina_integration.hooks.rest.arrow import FieldSpec
    from lumina_integration.hooks.rest.client import RestClient
    from lumina_integration.window import Window

SYSTEM = "Jira"
IDS_PER_QUERY = 100  # issue ids in one "id in (...)" clause
# Issues arrive as large JSON objects (every field, users with avatars) held as Python dicts until a batch is
# typed: 2,000 a batch keep a 100k-issue extract at 351 MB peak RSS (10,000: 533 MB) and are no slower, as the
# Parquet part being built collects the batches (bench/jira_extract.py).
BATCH_ROWS = 2_000
CURSORS = {"issues": "updated", "comments": "updated", "worklogs": "updated", "changelog": "created"}


class JiraAdapterHook(BaseHook):
    """Reads Jira objects incrementally by ``(updated, id)``; see the module docstring.

    Args:
        jira_conn_id: an Airflow ``jira`` connection (:mod:`lumina_integration.hooks.jira.settings`).
    """

    conn_name_attr = "jira_conn_id"
    default_conn_name = "jira_default"
    conn_type = "jira"
    hook_name = "Jira (Lumina adapter)"

    def __init__(self, jira_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.jira_conn_id = jira_conn_id
        self.run = RunContext(pipeline_id="")
        self.options = JiraOptions()
        self.reconciled: dict[str, int] | None = None
        self._cloud: bool | None = None
        self._parents: dict[str, str] = {}  # child id -> issue id, learnt by versions() for read_ids()

    # -- wiring ------------------------------------------------------------------------------------
    @cached_property
    def settings(self) -> JiraSettings:
        from lumina_integration.hooks.base import masked
        from lumina_integration.hooks.jira.settings import settings_from_connection

        return masked(settings_from_connection(self.get_connection(self.jira_conn_id)))

    @cached_property
    def governor(self) -> ApiGovernor:
        from lumina_integration.hooks.governance import ApiGovernor

        return ApiGovernor(spent_calls_24h=self.run.spent_api_calls_24h, system="Jira", account="site")

    @cached_property
    def client(self) -> RestClient:
        from lumina_integration.hooks.governance import run_breaker
        from lumina_integration.hooks.rest.client import RestClient
        from lumina_integration.hooks.rest.session import Timeouts, TlsSettings, rest_session

        s = self.settings
        tls = TlsSettings(ca_bundle=s.ca_bundle, client_cert=s.client_cert, client_key=s.client_key, verify=s.verify)
        session = rest_session(tls, timeouts=Timeouts(read=s.read_timeout))
        breaker = run_breaker(self.jira_conn_id, self.run.pipeline_id, SYSTEM)
        auth = self._auth(session)
        return RestClient(
            s.base_url, session=session, auth=auth, governor=self.governor, breaker=breaker, audit=self.audit
        )

    @property
    def audit(self) -> AuthAuditor:
        from lumina_integration.auth_audit import AuthAuditor

        return AuthAuditor(self.jira_conn_id, SYSTEM, self.run.pipeline_id or None)

    def _auth(self, session: Any) -> Any:
        from lumina_integration.hooks.rest.auth import BasicAuth, BearerTokenAuth, OAuth2TokenAuth
        from lumina_integration.hooks.rest.token_store import refresh_token_for, rotation_handler

        s = self.settings
        if s.auth_mode == "basic":
            return BasicAuth(s.login or "", s.password or "")
        if s.auth_mode == "bearer":
            return BearerTokenAuth(s.password or "")
        return OAuth2TokenAuth(
            s.token_url or "",
            "refresh_token" if s.grant_type == "refresh_token" else "client_credentials",
            client_id=s.client_id,
            client_secret=s.client_secret,
            # Atlassian rotates refresh tokens: the one an earlier task stored wins over the connection's.
            refresh_token=refresh_token_for(self.jira_conn_id, s.refresh_token),
            scope=s.scope,
            session=session,
            audit=self.audit,
            on_refresh_token=rotation_handler(self.jira_conn_id, s.refresh_token, self.audit),
        )

    def bind(self, run: RunContext) -> None:
        """Take the run's API spending (before any call)."""
        self.run = run

    def usage(self) -> ExtractUsage:
        return ExtractUsage(api_calls=self.governor.calls, reconciled=self.reconciled)

    def configure(self, options: Mapping[str, Any]) -> JiraOptions:
        """Validate the pipeline's options and apply its API budget."""
        from lumina_integration.hooks.governance import ApiBudget

        self.options = opts = JiraOptions.model_validate(dict(options))
        self.governor.budget = ApiBudget(reserve_share=opts.reserve_share, max_calls_per_run=opts.max_api_calls)
        if opts.flavor != "auto":
            self._cloud = opts.flavor == "cloud"
        return opts

    def get_conn(self) -> RestClient:
        return self.client

    # -- the site ----------------------------------------------------------------------------------
    @cached_property
    def server_info(self) -> dict[str, Any]:
        info = self.client.get_json("rest/api/2/serverInfo")
        return info if isinstance(info, dict) else {}

    @property
    def cloud(self) -> bool:
        """Cloud (``search/jql``, v3, ADF) or Data Center (``search``, v2), by option or ``deploymentType``."""
        if self._cloud is None:
            self._cloud = str(self.server_info.get("deploymentType", "")).lower() == "cloud"
        return self._cloud

    @property
    def api(self) -> str:
        return self.settings.api("3" if self.cloud else "2")

    @property
    def user_key(self) -> str:
        return "accountId" if self.cloud else "name"

    @cached_property
    def myself(self) -> dict[str, Any]:
        found = self.client.get_json(f"{self.api}myself")
        return found if isinstance(found, dict) else {}

    @cached_property
    def zone(self) -> ZoneInfo:
        """The API user's time zone: JQL reads date literals in it."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        name = str(self.myself.get("timeZone") or "UTC")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.log.warning("Unknown time zone %r of the Jira user; reading JQL dates as UTC", name)
            return ZoneInfo("UTC")

    @cached_property
    def catalogue(self) -> Catalogue:
        from lumina_integration.hooks.jira.fields import Catalogue

        entries = self.client.get_json(f"{self.api}field")
        return Catalogue.from_api(entries if isinstance(entries, list) else [])

    def reader(self) -> IssueReader:
        from lumina_integration.hooks.jira.reader import IssueReader

        o = self.options
        return IssueReader(self.client, cloud=self.cloud, page_size=o.page_size, max_restarts=o.max_token_restarts)

    def test_connection(self) -> tuple[bool, str]:
        try:
            me = self.myself
            flavor = "Cloud" if self.cloud else "Data Center"
        except Exception as exc:  # reported to the UI, not raised
            return False, f"{type(exc).__name__}: {exc}"
        who = me.get("displayName") or me.get("name") or me.get("accountId")
        return True, f"connected to Jira {flavor} {self.server_info.get('version', '')} as {who}"

    def server_now(self) -> datetime:
        from lumina_integration.hooks.jira.reader import parse_stamp

        response = self.client.request("GET", "rest/api/2/serverInfo")
        info = self.client.parse_json(response)
        stamp = parse_stamp(info.get("serverTime")) if isinstance(info, dict) else None
        if stamp is not None:
            return stamp
        header = response.headers.get("Date")
        if not header:
            raise RuntimeError("Jira sent neither serverTime nor a Date header; cannot bound the window by its clock")
        return parsedate_to_datetime(header).astimezone(UTC)

    def discover(self) -> list[SourceObject]:
        return [SourceObject(name=o) for o in OBJECTS]

    def versions_read(self) -> list[SourceVersion]:
        return []  # record-level source: the watermark and the merge carry the state

    # -- columns -----------------------------------------------------------------------------------
    def specs(self, obj: str, wanted: list[str] | None = None) -> list[FieldSpec]:
        from lumina_integration.hooks.jira import fields

        object_name(obj)
        if obj == "issues":
            return fields.issue_specs(self.catalogue, wanted, user_key=self.user_key, named=self.options.field_names)
        fixed = {
            "comments": fields.comment_specs,
            "worklogs": fields.worklog_specs,
            "changelog": fields.changelog_specs,
        }
        return fixed[obj](self.user_key)

    def fields(self, obj: str) -> list[SourceField]:
        from lumina_integration.hooks.jira import fields

        if obj == "issues":
            return fields.issue_fields(self.catalogue, user_key=self.user_key)
        return fields.fixed_fields(self.specs(obj))

    def _batches(self, records: Iterable[Any], specs: list[FieldSpec]) -> Iterator[pa.RecordBatch]:
        from lumina_integration.hooks.rest.arrow import records_to_batches

        yield from records_to_batches(records, specs, BATCH_ROWS)

    # -- searches ----------------------------------------------------------------------------------
    def _search(
        self,
        lower: datetime | None,
        end: datetime | None,
        fields: list[str],
        *,
        ids: tuple[str, ...] = (),
        changelog: bool = False,
    ) -> Search:
        from lumina_integration.hooks.jira.jql import IssueQuery, issue_jql
        from lumina_integration.hooks.jira.reader import Search

        o, zone, allowed = self.options, self.zone, self.catalogue.clause_names()

        def jql(restart: datetime | None) -> str:
            query = IssueQuery(restart or lower, end, tuple(o.projects or ()), tuple(o.jql_filter), ids)
            return issue_jql(query, zone, allowed)

        jql(None)  # refuse a bad jql_filter before the first call
        return Search(jql=jql, fields=fields, end=end, expand_changelog=changelog)

    def _lower(self, window: Window) -> datetime | None:
        return window.start - self.options.lookback if window.start is not None else None

    def _issue_fields(self, specs: list[FieldSpec]) -> list[str]:
        """The field ids a search asks for: each column's field (a named column's is in its path)."""
        known = self.catalogue.by_id()
        return sorted({"updated", *(s.keys[1] for s in specs if len(s.keys) > 1 and s.keys[1] in known)})

    # -- reads -------------------------------------------------------------------------------------
    def estimate(self, obj: str, window: Window, options: Mapping[str, Any]) -> dict[str, Any]:
        """Issues in the window and what reading them costs; raises BudgetExceeded up front."""
        opts = self.configure(options)
        search = self._search(self._lower(window), window.end, ["updated"])
        issues = self.reader().count(search.jql(None))
        pages = -(-(issues or 0) // opts.page_size) + 1
        # Comments and changelogs cost one call per changed issue at least; worklogs come from the feed.
        calls = pages + (issues or 0 if obj in ("comments", "changelog") else 0) + 2
        self.governor.check(calls=calls)
        return {"records": issues, "api_calls": calls, "transport": "search/jql" if self.cloud else "search"}

    def read(
        self,
        obj: str,
        window: Window,
        options: Mapping[str, Any],
        *,
        already_loaded: frozenset[tuple[str, str]] = frozenset(),
    ) -> Iterator[pa.RecordBatch]:
        """The records of ``obj`` changed within ``window`` (worklog deletions as tombstones)."""
        from lumina_integration.hooks.jira.reader import SearchEndpointGone

        opts = self.configure(options)
        specs = self.specs(obj, opts.fields if obj == "issues" else None)
        try:
            yield from self._batches(self._records(obj, window, specs), specs)
        except SearchEndpointGone:
            if opts.flavor != "auto":
                raise
            # Nothing was yielded: the very first search call failed. Read it again the Cloud way.
            self.log.warning("The site removed /rest/api/2/search (410): it is Jira Cloud; using search/jql")
            self._cloud = True
            specs = self.specs(obj, opts.fields if obj == "issues" else None)
            yield from self._batches(self._records(obj, window, specs), specs)

    def _records(self, obj: str, window: Window, specs: list[FieldSpec]) -> Iterator[dict[str, Any]]:
        from lumina_integration.hooks.jira.fields import DELETED
        from lumina_integration.hooks.jira.reader import history_rows

        reader, lower, o = self.reader(), self._lower(window), self.options
        if obj == "issues":
            for issue in reader.issues(self._search(lower, window.end, self._issue_fields(specs))):
                issue[DELETED] = False
                yield issue
        elif obj == "comments":
            # Every comment of every issue changed in the window, not only those updated inside it: an issue
            # updated again while a window paged is read by a later window than its comment's change.
            for issue in reader.issues(self._search(lower, window.end, ["updated"])):
                yield from reader.comments(str(issue["id"]), o.detail_page_size)
        elif obj == "changelog":
            for issue in reader.issues(self._search(lower, window.end, ["updated"], changelog=True)):
                for history in reader.histories(issue, o.detail_page_size):
                    yield from history_rows(str(issue["id"]), history)
        else:
            yield from self._worklogs(reader, lower, window.end)

    def _worklogs(self, reader: IssueReader, lower: datetime | None, end: datetime) -> Iterator[dict[str, Any]]:
        """Worklogs updated in ``[lower, end)`` from the feed, then tombstones for those deleted in it."""
        from lumina_integration.hooks.jira.fields import DELETED

        end_ms = int(end.timestamp() * 1000)
        ids: list[str] = []
        for change in reader.worklog_changes("updated", lower):
            if int(change.get("updatedTime") or 0) < end_ms:
                ids.append(str(change.get("worklogId")))
                if len(ids) >= 1000:
                    yield from reader.worklogs_by_id(ids)
                    ids = []
        yield from reader.worklogs_by_id(ids)
        for change in reader.worklog_changes("deleted", lower):
            stamp = int(change.get("updatedTime") or 0)
            if stamp < end_ms:
                yield {"id": str(change.get("worklogId")), "updated": _iso(stamp), DELETED: True}

    # -- reconciliation ----------------------------------------------------------------------------
    def versions(self, obj: str, stamp_field: str | None, options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """``(id, stamp)`` of every live record of ``obj`` (the stamp: its cursor; null without ``stamp_field``)."""
        import pyarrow as pa

        from lumina_integration.reconcile import ID, STAMP, STAMP_TYPE

        self.configure(options)
        schema = pa.schema([pa.field(ID, pa.string()), pa.field(STAMP, STAMP_TYPE)])
        ids: list[str] = []
        stamps: list[datetime | None] = []

        def batch() -> pa.RecordBatch:
            return pa.RecordBatch.from_arrays([pa.array(ids, pa.string()), pa.array(stamps, STAMP_TYPE)], schema=schema)

        for record_id, stamp in self._live(obj):
            ids.append(record_id)
            stamps.append(stamp if stamp_field else None)
            if len(ids) >= BATCH_ROWS:
                yield batch()
                ids, stamps = [], []
        if ids:
            yield batch()

    def _live(self, obj: str) -> Iterator[tuple[str, datetime | None]]:
        from lumina_integration.hooks.jira.reader import history_rows, parse_stamp

        object_name(obj)
        reader, size = self.reader(), self.options.detail_page_size
        if obj == "worklogs":
            for change in reader.worklog_changes("updated", None):
                yield str(change.get("worklogId")), _from_ms(change.get("updatedTime"))
            return
        search = self._search(None, None, ["updated"], changelog=obj == "changelog")
        for issue in reader.issues(search):
            issue_id = str(issue.get("id"))
            if obj == "issues":
                yield issue_id, parse_stamp((issue.get("fields") or {}).get("updated"))
            elif obj == "comments":
                for comment in reader.comments(issue_id, size):
                    self._parents[str(comment.get("id"))] = issue_id
                    yield str(comment.get("id")), parse_stamp(comment.get("updated"))
            else:
                for history in reader.histories(issue, size):
                    for row in history_rows(issue_id, history):
                        self._parents[row["id"]] = issue_id
                        yield row["id"], parse_stamp(row["created"])

    def reconcile(
        self,
        obj: str,
        known: pa.Table,
        as_of: datetime,
        options: Mapping[str, Any],
        *,
        stamp_field: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Tombstones (stamped ``as_of``) for known ids the site no longer has, then the records it has newer."""
        from lumina_integration.hooks.jira.fields import DELETED
        from lumina_integration.reconcile import compare, versions_table

        opts = self.configure(options)
        found = compare(versions_table(self.versions(obj, stamp_field, options)), known, "millisecond")
        self.reconciled = found.counts()
        self.log.info(
            "Reconciled %s by (id, %s): %d live in Jira, %d in the warehouse; %d gone, %d missing, %d changed, "
            "%d behind",
            obj,
            stamp_field or "no stamp",
            found.source,
            found.known,
            len(found.gone),
            len(found.missing),
            len(found.changed),
            len(found.behind),
        )
        cursor, stamp = CURSORS[obj], _iso(int(as_of.timestamp() * 1000))
        gone = (
            {"id": i, DELETED: True, **({"fields": {cursor: stamp}} if obj == "issues" else {cursor: stamp})}
            for i in found.gone
        )
        specs = self.specs(obj, opts.fields if obj == "issues" else None)
        yield from self._batches(gone, specs)
        if found.reread:
            yield from self.read_ids(obj, found.reread, options)

    def read_ids(self, obj: str, ids: list[str], options: Mapping[str, Any]) -> Iterator[pa.RecordBatch]:
        """The live records with these ids (an id the site no longer has is simply absent)."""
        opts = self.configure(options)
        specs = self.specs(obj, opts.fields if obj == "issues" else None)
        yield from self._batches(self._records_by_id(obj, ids, specs), specs)

    def _records_by_id(self, obj: str, ids: list[str], specs: list[FieldSpec]) -> Iterator[dict[str, Any]]:
        from lumina_integration.hooks.jira.fields import DELETED
        from lumina_integration.hooks.jira.reader import history_rows

        reader, size = self.reader(), self.options.detail_page_size
        if obj == "worklogs":
            yield from reader.worklogs_by_id([i for i in ids if i.isdigit()])
            return
        if obj == "issues":
            wanted = [i for i in ids if i.isdigit()]
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = tuple(wanted[start : start + IDS_PER_QUERY])
                for issue in reader.issues(self._search(None, None, self._issue_fields(specs), ids=chunk)):
                    issue[DELETED] = False
                    yield issue
            return
        asked = set(ids)
        parents = sorted({self._parents[i] for i in asked if i in self._parents})
        for start in range(0, len(parents), IDS_PER_QUERY):
            chunk = tuple(parents[start : start + IDS_PER_QUERY])
            search = self._search(None, None, ["updated"], ids=chunk, changelog=obj == "changelog")
            for issue in reader.issues(search):
                issue_id = str(issue["id"])
                if obj == "comments":
                    yield from (c for c in reader.comments(issue_id, size) if str(c.get("id")) in asked)
                else:
                    for history in reader.histories(issue, size):
                        yield from (r for r in history_rows(issue_id, history) if r["id"] in asked)


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="milliseconds")


def _from_ms(value: Any) -> datetime | None:
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(value))
    except (TypeError, ValueError, OverflowError):
        return None
