"""The write path: create, update and delete records as the instance does, stamping the ``sys_*`` fields from
the instance clock (whole seconds, so writes in one second tie on ``sys_updated_on``) and recording a delete in
``sys_audit_delete`` when the record's table is audited.

``strict`` writes (the control API) refuse a field the table does not have; Table API writes ignore it, as the
instance does. Strings longer than a field's ``max_length`` are cut to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from lumina_sandbox.common.clock import SandboxClock
from lumina_sandbox.servicenow.glide import glide_datetime, stored_text
from lumina_sandbox.servicenow.ids import SysIds
from lumina_sandbox.servicenow.schema import Catalog, Field
from lumina_sandbox.servicenow.store import CLASS, Store, physical, quote

SYSTEM_FIELDS = frozenset(
    {"sys_id", "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count"}
)
# Out-of-box defaults of new records, per table (inherited by extending tables).
DEFAULTS: dict[str, dict[str, str]] = {
    "task": {
        "active": "true",
        "state": "1",
        "priority": "4",
        "impact": "3",
        "urgency": "3",
        "approval": "not requested",
    },
    "incident": {"incident_state": "1", "severity": "3", "reopen_count": "0", "contact_type": "email"},
    "sc_req_item": {"quantity": "1", "stage": "request_approved"},
    "change_request": {"state": "-5", "type": "normal", "risk": "3", "cab_required": "false"},
    "sys_user": {"active": "true", "locked_out": "false", "vip": "false"},
    "core_company": {"customer": "false", "vendor": "false"},
}


def _fit(spec: Field, value: Any) -> str | None:
    text = stored_text(value)
    if text is not None and not spec.numeric and len(text) > spec.max_length > 0:
        return text[: spec.max_length]
    return text


class Writer:
    """Writes records of any table into its hierarchy's physical table."""

    def __init__(self, catalog: Catalog, store: Store, ids: SysIds, clock: SandboxClock) -> None:
        self.catalog = catalog
        self.store = store
        self.ids = ids
        self.clock = clock
        # Every sys_id ever deleted, per class: the sandbox's own truth (compare.py tells a warehouse row that
        # should be gone from one of another table); the API shows deletes only through sys_audit_delete.
        self.graveyard: dict[str, set[str]] = {}

    # -- reading back ----------------------------------------------------------------------------------------

    def classes_sql(self, table: str) -> tuple[str, list[str]]:
        """The ``_class`` filter selecting ``table``'s records (its own and its extensions')."""
        classes = self.catalog.classes(table)
        return f"{CLASS} IN ({', '.join('?' * len(classes))})", classes

    def fetch(self, table: str, sys_ids: Sequence[str]) -> list[dict[str, str | None]]:
        """The stored values of ``table``'s records among ``sys_ids`` (each with ``_class``), in no order."""
        fields = list(self.catalog.fields(table))
        where, params = self.classes_sql(table)
        found: list[dict[str, str | None]] = []
        for start in range(0, len(sys_ids), 500):
            chunk = list(sys_ids[start : start + 500])
            rows = self.store.query(
                f"SELECT {CLASS}, {', '.join(quote(f) for f in fields)} FROM {physical(self.catalog.root(table))} "
                f'WHERE {where} AND "sys_id" IN ({", ".join("?" * len(chunk))})',
                [*params, *chunk],
            )
            found.extend({CLASS: row[0], **dict(zip(fields, row[1:], strict=True))} for row in rows)
        return found

    # -- writing ---------------------------------------------------------------------------------------------

    def _values(self, table: str, record: dict[str, Any], strict: bool) -> dict[str, str | None]:
        fields = self.catalog.fields(table)
        values: dict[str, str | None] = {}
        for name, value in record.items():
            spec = fields.get(name)
            if spec is None:
                if strict:
                    raise ValueError(f"{table} has no field {name!r}")
                continue
            if name in SYSTEM_FIELDS and name != "sys_id":
                continue
            values[name] = _fit(spec, value)
        return values

    def insert_rows(self, table: str, rows: Iterable[dict[str, str | None]], columns: Sequence[str]) -> None:
        """Insert complete rows (every ``columns`` value given, sys fields included) of class ``table``."""
        self.store.insert(self.catalog.root(table), columns, ((table, *(row.get(c) for c in columns)) for row in rows))

    def create(
        self,
        table: str,
        records: Sequence[dict[str, Any]],
        *,
        stamp: datetime | None = None,
        user: str = "admin",
        strict: bool = True,
    ) -> list[str]:
        """Create records of ``table``; returns their sys_ids (a given ``sys_id`` is kept)."""
        fields = self.catalog.fields(table)
        when = glide_datetime(stamp or self.clock.now())
        defaults: dict[str, str] = {}
        for ancestor in self.catalog.chain(table):
            defaults.update(DEFAULTS.get(ancestor.name, {}))
        prefix = next((t.number_prefix for t in reversed(self.catalog.chain(table)) if t.number_prefix), None)
        rows: list[dict[str, str | None]] = []
        for record in records:
            values: dict[str, str | None] = {k: v for k, v in defaults.items() if k in fields}
            values.update(self._values(table, record, strict))
            values["sys_id"] = values.get("sys_id") or self.ids.next()
            if prefix is not None and "number" in fields and not values.get("number"):
                values["number"] = self.ids.number(prefix)
            if "sys_class_name" in fields:
                values["sys_class_name"] = table
            if "opened_at" in fields and not values.get("opened_at"):
                values["opened_at"] = when
            values.update(
                sys_created_on=when, sys_updated_on=when, sys_created_by=user, sys_updated_by=user, sys_mod_count="0"
            )
            rows.append(values)
        self.insert_rows(table, rows, list(fields))
        return [str(row["sys_id"]) for row in rows]

    def update(
        self,
        table: str,
        changes: Sequence[dict[str, Any]],
        *,
        stamp: datetime | None = None,
        touch: bool = True,
        user: str = "admin",
        strict: bool = True,
    ) -> int:
        """Apply ``{"sys_id": ..., field: value}`` changes; ``touch`` stamps sys_updated_on and counts the update
        (False: a data fix with ``autoSysFields(false)``). Returns how many records changed."""
        when = glide_datetime(stamp or self.clock.now())
        root = self.catalog.root(table)
        current = {row["sys_id"]: row for row in self.fetch(table, [str(c["sys_id"]) for c in changes])}
        changed = 0
        for change in changes:
            sys_id = str(change["sys_id"])
            row = current.get(sys_id)
            if row is None:
                if strict:
                    raise KeyError(f"no {table} record {sys_id}")
                continue
            values = self._values(str(row[CLASS]), {k: v for k, v in change.items() if k != "sys_id"}, strict)
            if touch:
                values.update(
                    sys_updated_on=when, sys_updated_by=user, sys_mod_count=str(int(row["sys_mod_count"] or 0) + 1)
                )
            changed += self.store.update(root, sys_id, values)
        return changed

    def delete(
        self,
        table: str,
        sys_ids: Sequence[str],
        *,
        stamp: datetime | None = None,
        audit: bool | None = None,
        user: str = "admin",
    ) -> int:
        """Delete records; audited tables record each in ``sys_audit_delete`` unless ``audit`` is False (what a
        table cleaner's delete does). Returns how many were deleted."""
        rows = self.fetch(table, list(sys_ids))
        if not rows:
            return 0
        when = stamp or self.clock.now()
        audits = [
            self._audit_record(row)
            for row in rows
            if (audit if audit is not None else self.catalog.audited(str(row[CLASS])))
        ]
        removed = self.store.delete(self.catalog.root(table), [str(r["sys_id"]) for r in rows])
        with self.store.lock:
            for row in rows:
                self.graveyard.setdefault(str(row[CLASS]), set()).add(str(row["sys_id"]))
        if audits:
            self.create("sys_audit_delete", audits, stamp=when, user=user)
        return removed

    def _audit_record(self, row: dict[str, str | None]) -> dict[str, Any]:
        table = str(row[CLASS])
        display = self.catalog.display_field(table)
        fields = self.catalog.fields(table)
        body = "".join(f"<{name}>{escape(row.get(name) or '')}</{name}>" for name in sorted(fields) if name in row)
        payload = (
            f'<?xml version="1.0" encoding="UTF-8"?><record_update table="{table}">'
            f'<{table} action="DELETE">{body}</{table}></record_update>'
        )
        return {
            "tablename": table,
            "documentkey": row["sys_id"],
            "display_value": (row.get(display) if display else None) or row["sys_id"],
            "payload": payload,
        }
