"""``Org``: one sandbox Salesforce org — its data, clock, credentials, sessions, limits, faults and jobs.

The HTTP layer serves an ``Org``; tests drive it directly (same process) or through the control API. Data
lives in SQLite (``Store``); everything returned by ``truth`` is shaped exactly as a REST query returns it
(formulas computed), so tests compare what a client extracted with the source of truth.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from lumina_sandbox.common.state import SandboxState
from lumina_sandbox.salesforce.auth import Authenticator, Credentials, Sessions, login_domain
from lumina_sandbox.salesforce.bulk import BulkService
from lumina_sandbox.salesforce.bulk1 import Bulk1Service
from lumina_sandbox.salesforce.catalog import build_catalog
from lumina_sandbox.salesforce.clock import SandboxClock
from lumina_sandbox.salesforce.cursors import QueryService
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.faults import Faults
from lumina_sandbox.salesforce.generator import DEFAULT_COUNTS, INTEGRATION_USERNAME, generate
from lumina_sandbox.salesforce.ids import IdFactory
from lumina_sandbox.salesforce.limits import Limits
from lumina_sandbox.salesforce.records import RecordWriter, coerce
from lumina_sandbox.salesforce.schema import Catalog, Field, SObjectType, quote_ident
from lumina_sandbox.salesforce.sql import json_columns, record_json
from lumina_sandbox.salesforce.store import Store

FIELD_TYPES = (
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "email",
    "phone",
    "url",
    "boolean",
    "int",
    "double",
    "currency",
    "percent",
    "date",
    "datetime",
    "reference",
)


class Org(SandboxState):
    """A generated org. Build with ``Org.generate(seed, counts, wide_fields)``; ``close`` removes its files."""

    def __init__(self, *, seed: int = 7, counts: dict[str, int] | None = None, wide_fields: int = 450) -> None:
        self.seed = seed
        self.counts = {**DEFAULT_COUNTS, **(counts or {})}
        self.wide_fields = wide_fields
        super().__init__(SandboxClock())
        self.workdir = Path(tempfile.mkdtemp(prefix="lumina-sf-org-"))
        self.catalog: Catalog = build_catalog(wide_fields)
        self.id_factory = IdFactory()
        self.store = Store(self.catalog, self.workdir / "db")
        self.limits = Limits()
        self.faults = Faults()
        self.sessions = Sessions(self.clock)
        self.integration_user_id = ""
        self.writer = RecordWriter(
            lambda: self.store,
            lambda: self.catalog,
            self.clock,
            lambda: self.id_factory,
            lambda: self.integration_user_id,
        )
        self.queries = QueryService(lambda: self.store, lambda: self.catalog, self.clock, self.faults)
        self.bulk = self._bulk_service()
        self.bulk1 = self._bulk1_service()
        self._lock = threading.Lock()
        self._last_maintenance = ""
        self.generated: dict[str, int] = {}
        self._populate()
        self.credentials = Credentials.create(INTEGRATION_USERNAME, self.integration_user_id)
        self.auth = Authenticator(self.credentials, self.sessions)

    def _bulk_service(self) -> BulkService:
        return BulkService(
            lambda: self.store,
            lambda: self.catalog,
            self.clock,
            self.faults,
            self.limits,
            self.writer,
            self.workdir / "bulk",
        )

    def _bulk1_service(self) -> Bulk1Service:
        return Bulk1Service(lambda: self.store, lambda: self.catalog, self.clock, self.limits, self.writer)

    @classmethod
    def generate(cls, seed: int = 7, counts: dict[str, int] | None = None, wide_fields: int = 450) -> Org:
        """A fresh org with deterministic data for ``seed``; ``counts`` overrides records per object."""
        return cls(seed=seed, counts=counts, wide_fields=wide_fields)

    def _populate(self) -> None:
        self.generated = generate(
            self.store, self.catalog, self.id_factory, seed=self.seed, counts=self.counts, now=self.clock.now()
        )
        first_user = self.store.conn().execute('SELECT "Id" FROM "User" ORDER BY rowid LIMIT 1').fetchone()
        self.integration_user_id = first_user[0]
        self.writer.autonumbers = {
            "Case": self.generated.get("Case", 0),
            "Invoice__c": self.generated.get("Invoice__c", 0),
        }
        self.writer.purged_until = {}

    def set_base_url(self, base_url: str) -> None:
        """Where the org is served (instance_url, token ids, JWT audience, SOAP serverUrl)."""
        self.auth.base_url = base_url.rstrip("/")
        self.credentials.login_url = self.auth.base_url
        self.credentials.login_domain = login_domain(self.auth.base_url)

    # -- data -------------------------------------------------------------------------------------------------

    def sobject(self, name: str) -> SObjectType:
        return self.catalog.get(name)

    def create(self, sobject: str, records: list[dict[str, Any]], *, modstamp: datetime | None = None) -> list[str]:
        """Insert records (audit fields may be given); they share one SystemModstamp. Returns the new ids."""
        return self.writer.create(self.sobject(sobject), records, trusted=True, modstamp=modstamp)

    def update(
        self, sobject: str, changes: list[dict[str, Any]], *, modstamp: datetime | None = None, touch: bool = True
    ) -> None:
        """Change records (each dict has ``Id``); ``touch=False`` keeps the stamps, ``modstamp`` sets one."""
        self.writer.update(self.sobject(sobject), changes, trusted=True, modstamp=modstamp, touch=touch)

    def delete(self, sobject: str, ids: list[str], *, modstamp: datetime | None = None) -> None:
        """Soft delete to the recycle bin (IsDeleted = true, SystemModstamp bumped)."""
        self.writer.delete(self.sobject(sobject), ids, modstamp=modstamp)

    def undelete(self, sobject: str, ids: list[str]) -> None:
        self.writer.undelete(self.sobject(sobject), ids)

    def purge(self, sobject: str, ids: list[str]) -> int:
        """Hard delete: gone from queryAll and from the deleted resource."""
        return self.writer.purge(self.sobject(sobject), ids)

    def add_field(
        self, sobject: str, field: dict[str, Any], value: Any | Callable[[dict[str, Any]], Any] = None
    ) -> dict[str, Any]:
        """Add a field mid-life (visible in describe and queries); existing records get ``value`` (a constant,
        or a callable given each record as ``truth`` shows it), without a SystemModstamp bump."""
        target = self.sobject(sobject)
        new = field_from_spec(field)
        self.store.add_column(target, new)
        target.add(new)
        if value is not None:
            records = self.truth(
                sobject, ["Id", *[f.name for f in target.fields if f.name != new.name]], include_deleted=True
            )
            column = quote_ident(new.name)
            with self.store.transaction() as conn:
                if callable(value):
                    rows = [(coerce(new, value(r)), r["Id"]) for r in records]
                    conn.executemany(f'UPDATE {target.table} SET {column} = ? WHERE "Id" = ?', rows)
                else:
                    conn.execute(f"UPDATE {target.table} SET {column} = ?", (coerce(new, value),))
        from lumina_sandbox.salesforce.describe import describe_field

        return describe_field(new)

    def truth(
        self, sobject: str, fields: list[str] | None = None, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Every record (ordered by Id) with values exactly as a REST query returns them, formulas computed."""
        target = self.sobject(sobject)
        chosen: list[Field] = []
        for name in fields or [f.name for f in target.fields]:
            found = target.find(name)
            if found is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{target.name}'")
            chosen.append(found)
        self.maintain()
        where = '"IsDeleted" = 0' if target.has_is_deleted and not include_deleted else "1"
        columns = ", ".join(json_columns(target, chosen))
        sql = f'SELECT {columns} FROM {target.table} t WHERE {where} ORDER BY t."Id"'
        params = {"ver": "62.0", "today": self.clock.today().isoformat()}
        with self.store.snapshot() as conn:
            records = [json.loads(record_json(row)) for row in conn.execute(sql, params)]
        for record in records:
            record.pop("attributes", None)
        return records

    def ids(self, sobject: str, include_deleted: bool = False) -> set[str]:
        target = self.sobject(sobject)
        where = '"IsDeleted" = 0' if target.has_is_deleted and not include_deleted else "1"
        self.maintain()
        return {r[0] for r in self.store.conn().execute(f'SELECT "Id" FROM {target.table} WHERE {where}')}

    def maintain(self) -> None:
        """Empty the recycle bins of records deleted more than 15 days ago (at most once per sandbox second)."""
        second = self.clock.now().isoformat()[:19]
        if second == self._last_maintenance:
            return
        self._last_maintenance = second
        for target in self.catalog.all():
            if target.has_is_deleted:
                self.writer.empty_recycle_bin(target)

    # -- limits, sessions, counts ------------------------------------------------------------------------------

    def set_api_limit(self, max: int, used: int | None = None) -> None:
        self.limits.set_api(max, used)

    def expire_sessions(self) -> int:
        return self.sessions.expire_all()

    def settings(
        self,
        *,
        session_ttl_seconds: float | None = None,
        rotate_refresh_tokens: bool | None = None,
        bulk_processing_delay: float | None = None,
    ) -> dict[str, Any]:
        """Tune behaviour: session TTL (sandbox clock), single-use refresh tokens, Bulk job start delay."""
        if session_ttl_seconds is not None:
            self.sessions.ttl_seconds = session_ttl_seconds
        if rotate_refresh_tokens is not None:
            self.sessions.rotate_refresh_tokens = rotate_refresh_tokens
        if bulk_processing_delay is not None:
            self.bulk.processing_delay = bulk_processing_delay
        return {
            "session_ttl_seconds": self.sessions.ttl_seconds,
            "rotate_refresh_tokens": self.sessions.rotate_refresh_tokens,
            "bulk_processing_delay": self.bulk.processing_delay,
        }

    def reset(self) -> None:
        """Back to the generated state: same seed and counts, real time, no faults, zero usage."""
        self.queries.close_all()
        self.bulk.close()
        old = self.store
        self.catalog = build_catalog(self.wide_fields)
        self.id_factory = IdFactory()
        self.clock.reset()
        self.store = Store(self.catalog, self.workdir / "db2" if old.directory.name == "db" else self.workdir / "db")
        old.close()
        self.bulk = self._bulk_service()
        self.bulk1 = self._bulk1_service()
        self._populate()
        self.faults.clear()
        self.limits.reset()
        self.reset_request_counts()
        self._last_maintenance = ""

    def close(self) -> None:
        self.queries.close_all()
        self.bulk.close()
        self.store.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def field_from_spec(spec: dict[str, Any]) -> Field:
    """A Field from a describe-like dict: name, type, label, length, precision, scale, picklistValues, ..."""
    name = str(spec.get("name") or "")
    kind = str(spec.get("type") or "string")
    if kind not in FIELD_TYPES:
        raise ApiError(400, "INVALID_TYPE", f"unsupported field type {kind}; one of {', '.join(FIELD_TYPES)}")
    try:
        quote_ident(name)
    except ValueError:
        raise ApiError(400, "INVALID_FIELD", f"invalid field name {name!r}") from None
    values = [v["value"] if isinstance(v, dict) else str(v) for v in spec.get("picklistValues", [])]
    length = int(spec.get("length") or (255 if kind in ("string", "picklist", "url", "multipicklist") else 0))
    if kind == "textarea":
        length = int(spec.get("length") or 32768)
    if kind in ("email", "phone"):
        length = int(spec.get("length") or 80)
    return Field(
        name=name,
        type=kind,
        label=str(spec.get("label") or name.removesuffix("__c").replace("_", " ")),
        length=length,
        precision=int(spec.get("precision") or (18 if kind in ("double", "currency", "percent") else 0)),
        scale=int(spec.get("scale") or 0),
        digits=int(spec.get("digits") or (9 if kind == "int" else 0)),
        nillable=kind != "boolean",
        custom=name.endswith("__c"),
        external_id=bool(spec.get("externalId", False)),
        unique=bool(spec.get("unique", False)),
        id_lookup=bool(spec.get("externalId", False)),
        picklist=tuple(values),
        restricted_picklist=bool(spec.get("restrictedPicklist", False)),
        default_value=False if kind == "boolean" else spec.get("defaultValue"),
        defaulted_on_create=kind == "boolean",
        reference_to=tuple(spec.get("referenceTo", [])),
        relationship_name=spec.get("relationshipName"),
    )
