"""Writing records: value validation in Salesforce's words, derived fields, stamps, the recycle bin.

``RecordWriter`` is the one write path for the REST API, Bulk ingest jobs, the control API and the seeding of
fields added mid-life. Every call stamps its records with one ``SystemModstamp`` from the sandbox clock (records
written together share it, like a data-loader batch) unless the caller passes an explicit stamp or asks not to
touch the stamps at all. ``trusted`` writes (control API, tests) may set audit fields Salesforce keeps read-only.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from lumina_sandbox.salesforce.catalog import STAGES
from lumina_sandbox.salesforce.clock import SandboxClock, parse_datetime, to_storage
from lumina_sandbox.salesforce.errors import ApiError
from lumina_sandbox.salesforce.ids import IdFactory, canonical, is_valid_id
from lumina_sandbox.salesforce.schema import Catalog, Field, SObjectType, quote_ident
from lumina_sandbox.salesforce.store import DELETED_AT, Store

AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
RECYCLE_BIN_DAYS = 15
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_STAGES = {stage: (probability, forecast, closed, won) for stage, probability, forecast, closed, won in STAGES}
_AUTO_FORMATS = {"Case": ("CaseNumber", "{0:08d}"), "Invoice__c": ("Name", "INV-{0:04d}")}


def _bad(status: int, code: str, message: str, field: Field | None = None) -> ApiError:
    return ApiError(status, code, message, [field.name] if field else [])


def _parse_error(field: Field, value: Any, kind: str) -> ApiError:
    token = "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER" if isinstance(value, int | float) else "VALUE"
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {value} or request may be missing a required field",
    )


def coerce(field: Field, value: Any) -> Any:
    """``value`` (JSON/Python/CSV text) as stored for ``field``; ApiError in Salesforce's words when invalid."""
    if value is None:
        return None
    kind = field.type
    if kind == "boolean":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return int(value.lower() in ("true", "1"))
        raise _parse_error(field, value, "boolean")
    if kind in ("int", "long"):
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool):
            raise _parse_error(field, value, "int")
        if field.digits and abs(number) >= 10**field.digits:
            raise _bad(400, "NUMBER_OUTSIDE_VALID_RANGE", f"{field.label}: value outside of valid range", field)
        return number
    if kind in ("double", "currency", "percent"):
        if isinstance(value, bool):
            raise _parse_error(field, value, "double")
        try:
            number_f = float(value)
        except (TypeError, ValueError):
            raise _parse_error(field, value, "double") from None
        if not math.isfinite(number_f):
            raise _parse_error(field, value, "double")
        if field.precision and abs(number_f) >= 10 ** (field.precision - field.scale):
            raise _bad(400, "NUMBER_OUTSIDE_VALID_RANGE", f"{field.label}: value outside of valid range", field)
        return round(number_f, field.scale) if field.scale or field.precision else number_f
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise _parse_error(field, value, "date") from None
    if kind == "datetime":
        if isinstance(value, datetime):
            return to_storage(value)
        try:
            return to_storage(parse_datetime(str(value)))
        except ValueError:
            raise _parse_error(field, value, "datetime") from None
    if kind in ("id", "reference"):
        text = str(value)
        if text == "":
            return None
        if not is_valid_id(text):
            raise _bad(400, "MALFORMED_ID", f"{field.label}: id value of incorrect type: {text}", field)
        return canonical(text)
    # text family
    if not isinstance(value, str):
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            raise _parse_error(field, value, "String")
    if value == "":
        return None  # Salesforce stores empty text as null
    if field.length and len(value) > field.length:
        raise _bad(
            400,
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {value[:80]} (max length={field.length})",
            field,
        )
    if field.type == "picklist" and field.restricted_picklist and value not in field.picklist:
        raise _bad(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.label}: bad value for restricted picklist field: {value}",
            field,
        )
    if field.type == "email" and not _EMAIL.fullmatch(value):
        raise _bad(400, "INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {value}", field)
    return value


def no_such_field(sobject: SObjectType, name: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}")


class RecordWriter:
    """Creates, updates, deletes, undeletes and purges records of the org's store."""

    def __init__(
        self,
        store: Callable[[], Store],
        catalog: Callable[[], Catalog],
        clock: SandboxClock,
        ids: Callable[[], IdFactory],
        default_user: Callable[[], str],
    ) -> None:
        self._store = store
        self._catalog = catalog
        self.clock = clock
        self._ids = ids
        self._default_user = default_user
        self.autonumbers: dict[str, int] = {}
        self.purged_until: dict[str, str] = {}  # sObject -> latest deletedDate lost to a purge
        self._lock = threading.Lock()

    # -- helpers ----------------------------------------------------------------------------------------------

    def _stamp(self, modstamp: datetime | None) -> str:
        return to_storage(modstamp if modstamp is not None else self.clock.now())

    def _columns(
        self, sobject: SObjectType, values: dict[str, Any], *, creating: bool, trusted: bool
    ) -> dict[str, Any]:
        """Validate names, writability and values; returns {canonical name: stored value}."""
        result: dict[str, Any] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            field = sobject.find(name)
            if field is None:
                raise no_such_field(sobject, name)
            allowed = field.createable if creating else field.updateable
            if trusted:
                allowed = field.stored and field.name != "Id"
            if not allowed:
                raise ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {field.name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [field.name],
                )
            result[field.name] = coerce(field, value)
        return result

    def _check_references(self, conn: sqlite3.Connection, sobject: SObjectType, row: dict[str, Any]) -> None:
        catalog = self._catalog()
        for name, value in row.items():
            field = sobject.find(name)
            if value is None or field is None or field.type != "reference" or name in AUDIT_FIELDS:
                continue
            target = catalog.find(field.reference_to[0])
            if target is None or not value.startswith(target.key_prefix):
                raise _bad(
                    400, "FIELD_INTEGRITY_EXCEPTION", f"{field.label}: id value of incorrect type: {value}", field
                )
            if conn.execute(f'SELECT 1 FROM {target.table} WHERE "Id" = ?', (value,)).fetchone() is None:
                raise _bad(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", field)

    def _derive(self, sobject: SObjectType, row: dict[str, Any], current: dict[str, Any], stamp: str) -> None:
        """Fields Salesforce computes on save: full names, opportunity stage facts, case closing."""
        merged = {**current, **row}
        if sobject.has("FirstName") and sobject.has("Name") and ("FirstName" in row or "LastName" in row):
            row["Name"] = " ".join(p for p in (merged.get("FirstName"), merged.get("LastName")) if p) or None
        if sobject.name == "Opportunity" and "StageName" in row and row["StageName"] in _STAGES:
            probability, forecast, closed, won = _STAGES[row["StageName"]]
            row.setdefault("Probability", float(probability))
            row["ForecastCategory"], row["IsClosed"], row["IsWon"] = forecast, int(closed), int(won)
        if sobject.name == "Case" and "Status" in row:
            closed = row["Status"] == "Closed"
            row["IsClosed"] = int(closed)
            if closed and not merged.get("ClosedDate"):
                row["ClosedDate"] = stamp
            elif not closed:
                row["ClosedDate"] = None

    def _next_autonumber(self, sobject: SObjectType) -> tuple[str, str] | None:
        spec = _AUTO_FORMATS.get(sobject.name)
        if spec is None:
            return None
        with self._lock:
            number = self.autonumbers.get(sobject.name, 0) + 1
            self.autonumbers[sobject.name] = number
        return spec[0], spec[1].format(number)

    def _fetch(self, conn: sqlite3.Connection, sobject: SObjectType, record_id: str) -> dict[str, Any] | None:
        cursor = conn.execute(f'SELECT * FROM {sobject.table} WHERE "Id" = ?', (record_id,))
        row = cursor.fetchone()
        if row is None:
            return None
        return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}

    def _lookup_id(self, value: Any) -> str:
        text = str(value or "")
        if not is_valid_id(text):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return canonical(text)

    # -- operations -------------------------------------------------------------------------------------------

    def create(
        self,
        sobject: SObjectType,
        records: list[dict[str, Any]],
        *,
        actor: str | None = None,
        trusted: bool = False,
        modstamp: datetime | None = None,
    ) -> list[str]:
        """Insert records (all or none); returns their new ids."""
        if not sobject.createable and not trusted:
            raise ApiError(
                400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be inserted: {sobject.name}"
            )
        stamp = self._stamp(modstamp)
        user = actor or self._default_user()
        rows: list[dict[str, Any]] = []
        for record in records:
            row = self._columns(sobject, record, creating=True, trusted=trusted)
            for field in sobject.fields:
                if field.name not in row and field.default_value is not None and field.stored:
                    row[field.name] = coerce(field, field.default_value)
            missing = [f.name for f in sobject.fields if f.required and row.get(f.name) is None and f.name != "Id"]
            if missing and not trusted:
                raise ApiError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
            self._derive(sobject, row, {}, stamp)
            rows.append(row)
        ids = self._ids().take(sobject.key_prefix, len(rows)) if rows else []
        store = self._store()
        with store.transaction() as conn:
            for record_id, row in zip(ids, rows, strict=True):
                if not trusted:
                    self._check_references(conn, sobject, row)
                auto = self._next_autonumber(sobject)
                if auto and auto[0] not in row:
                    row[auto[0]] = auto[1]
                row["Id"] = record_id
                if sobject.has_is_deleted:
                    row.setdefault("IsDeleted", 0)
                row.setdefault("CreatedDate", stamp)
                row.setdefault("CreatedById", user)
                if sobject.has_modstamp:
                    row.setdefault("LastModifiedDate", stamp)
                    row.setdefault("LastModifiedById", user)
                    row.setdefault("SystemModstamp", stamp)
                if sobject.has("OwnerId"):
                    row.setdefault("OwnerId", user)
                if row.get("IsDeleted"):
                    row[DELETED_AT] = row.get("SystemModstamp", stamp)
                names = list(row)
                columns = ", ".join(quote_ident(n) if n != DELETED_AT else DELETED_AT for n in names)
                marks = ", ".join("?" for _ in names)
                conn.execute(f"INSERT INTO {sobject.table} ({columns}) VALUES ({marks})", [row[n] for n in names])
        return ids

    def update(
        self,
        sobject: SObjectType,
        changes: list[dict[str, Any]],
        *,
        actor: str | None = None,
        trusted: bool = False,
        modstamp: datetime | None = None,
        touch: bool = True,
    ) -> None:
        """Apply changes (each with ``Id``) to live records, all or none.

        ``touch=False`` leaves LastModifiedDate/SystemModstamp alone (a change Salesforce makes without a bump,
        or a late-committed change); ``modstamp`` sets an explicit stamp (ties, out-of-order commits).
        """
        if not sobject.updateable and not trusted:
            raise ApiError(
                400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be updated: {sobject.name}"
            )
        stamp = self._stamp(modstamp)
        user = actor or self._default_user()
        store = self._store()
        with store.transaction() as conn:
            for change in changes:
                values = dict(change)
                record_id = self._lookup_id(values.pop("Id", values.pop("id", None)))
                current = self._fetch(conn, sobject, record_id)
                if current is None:
                    raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
                if current.get("IsDeleted"):
                    raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
                row = self._columns(sobject, values, creating=False, trusted=trusted)
                missing = [n for n, v in row.items() if v is None and sobject.find(n) and sobject.find(n).required]  # type: ignore[union-attr]
                if missing and not trusted:
                    raise ApiError(
                        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                    )
                if not trusted:
                    self._check_references(conn, sobject, row)
                self._derive(sobject, row, current, stamp)
                if touch and sobject.has_modstamp:
                    row.setdefault("LastModifiedDate", stamp)
                    row.setdefault("LastModifiedById", user)
                    row.setdefault("SystemModstamp", stamp)
                if not row:
                    continue
                assignments = ", ".join(f"{quote_ident(n)} = ?" for n in row)
                conn.execute(f'UPDATE {sobject.table} SET {assignments} WHERE "Id" = ?', [*row.values(), record_id])

    def delete(
        self, sobject: SObjectType, ids: Iterable[str], *, actor: str | None = None, modstamp: datetime | None = None
    ) -> None:
        """Soft delete: to the recycle bin (IsDeleted = true), SystemModstamp bumped."""
        if not sobject.has_is_deleted:
            raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be deleted: {sobject.name}")
        stamp = self._stamp(modstamp)
        user = actor or self._default_user()
        with self._store().transaction() as conn:
            for raw in ids:
                record_id = self._lookup_id(raw)
                current = self._fetch(conn, sobject, record_id)
                if current is None:
                    raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
                if current.get("IsDeleted"):
                    raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
                stamps = (
                    ', "LastModifiedDate" = ?, "LastModifiedById" = ?, "SystemModstamp" = ?'
                    if sobject.has_modstamp
                    else ""
                )
                params = [stamp, user, stamp] if sobject.has_modstamp else []
                conn.execute(
                    f'UPDATE {sobject.table} SET "IsDeleted" = 1, {DELETED_AT} = ?{stamps} WHERE "Id" = ?',
                    [stamp, *params, record_id],
                )

    def undelete(
        self, sobject: SObjectType, ids: Iterable[str], *, actor: str | None = None, modstamp: datetime | None = None
    ) -> None:
        """Restore records from the recycle bin (stamps bumped)."""
        stamp = self._stamp(modstamp)
        user = actor or self._default_user()
        with self._store().transaction() as conn:
            for raw in ids:
                record_id = self._lookup_id(raw)
                current = self._fetch(conn, sobject, record_id)
                if current is None:
                    raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
                if not current.get("IsDeleted"):
                    raise ApiError(400, "UNDELETE_FAILED", "Entity is not in the recycle bin")
                stamps = (
                    ', "LastModifiedDate" = ?, "LastModifiedById" = ?, "SystemModstamp" = ?'
                    if sobject.has_modstamp
                    else ""
                )
                params = [stamp, user, stamp] if sobject.has_modstamp else []
                conn.execute(
                    f'UPDATE {sobject.table} SET "IsDeleted" = 0, {DELETED_AT} = NULL{stamps} WHERE "Id" = ?',
                    [*params, record_id],
                )

    def purge(self, sobject: SObjectType, ids: Iterable[str]) -> int:
        """Hard delete: the rows are gone (queryAll and the deleted resource no longer see them)."""
        removed = 0
        with self._store().transaction() as conn:
            for raw in ids:
                record_id = self._lookup_id(raw)
                row = conn.execute(f'SELECT {DELETED_AT} FROM {sobject.table} WHERE "Id" = ?', (record_id,)).fetchone()
                if row is None:
                    raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
                self._note_purged(sobject, row[0])
                removed += conn.execute(f'DELETE FROM {sobject.table} WHERE "Id" = ?', (record_id,)).rowcount
        return removed

    def _note_purged(self, sobject: SObjectType, deleted_at: str | None) -> None:
        if deleted_at is None:
            return
        with self._lock:
            if deleted_at > self.purged_until.get(sobject.name, ""):
                self.purged_until[sobject.name] = deleted_at

    def empty_recycle_bin(self, sobject: SObjectType) -> int:
        """Purge records that have been in the recycle bin longer than 15 days (of the sandbox clock)."""
        cutoff = to_storage(self.clock.now() - timedelta(days=RECYCLE_BIN_DAYS))
        store = self._store()
        expired = (
            store.conn()
            .execute(
                f"SELECT max({DELETED_AT}) FROM {sobject.table} WHERE {DELETED_AT} IS NOT NULL AND {DELETED_AT} < ?",
                (cutoff,),
            )
            .fetchone()[0]
        )
        if expired is None:
            return 0
        with store.transaction() as conn:
            removed = conn.execute(
                f"DELETE FROM {sobject.table} WHERE {DELETED_AT} IS NOT NULL AND {DELETED_AT} < ?", (cutoff,)
            ).rowcount
        self._note_purged(sobject, expired)
        return removed

    def upsert(
        self,
        sobject: SObjectType,
        field_name: str,
        value: str,
        record: dict[str, Any],
        *,
        actor: str | None = None,
        modstamp: datetime | None = None,
    ) -> tuple[str, bool]:
        """Create or update by an external id (or Id); returns (id, created). 300 when the value is ambiguous."""
        field = sobject.find(field_name)
        if field is None or not (field.external_id or field.id_lookup):
            raise ApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        body = {k: v for k, v in record.items() if k.lower() != field.name.lower() and k != "attributes"}
        if field.name == "Id":
            record_id = self._lookup_id(value) if value else None
            matches = [record_id] if record_id and self._exists(sobject, record_id) else []
        else:
            stored = coerce(field, value)
            compare = "= ?" if field.case_sensitive or field.type not in ("string", "email") else "= ? COLLATE NOCASE"
            matches = [
                r[0]
                for r in self._store()
                .conn()
                .execute(
                    f'SELECT "Id" FROM {sobject.table} WHERE {quote_ident(field.name)} {compare}'
                    + (' AND "IsDeleted" = 0' if sobject.has_is_deleted else ""),
                    (stored,),
                )
            ]
        if len(matches) > 1:
            raise ApiError(300, "MULTIPLE_CHOICES", f"More than one record found for {field.name}: {value}")
        if matches:
            self.update(sobject, [{"Id": matches[0], **body}], actor=actor, modstamp=modstamp)
            return matches[0], False
        if field.name == "Id" and value:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        created = {**body, field.name: value} if field.name != "Id" and field.createable else body
        return self.create(sobject, [created], actor=actor, modstamp=modstamp)[0], True

    def _exists(self, sobject: SObjectType, record_id: str) -> bool:
        row = (
            self._store()
            .conn()
            .execute(f'SELECT "IsDeleted" FROM {sobject.table} WHERE "Id" = ?', (record_id,))
            .fetchone()
        )
        return row is not None and not row[0]
