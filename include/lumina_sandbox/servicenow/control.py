"""``ServiceNowControl``: the HTTP client of the ServiceNow sandbox's control API (``/_sandbox/...``).

Use it against a detached sandbox (``ServiceNowControl.from_state_dir(".lumina")``) or the ``control`` attribute
of an in-process ``ServiceNowServer``. The clock, fault, request-count, session, settings, reset, credentials and
status verbs come from ``common.control.ControlClient``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lumina_sandbox.common.control import ControlClient, ControlError, iso

__all__ = ["ServiceNowControl", "ServiceNowControlError"]


class ServiceNowControlError(ControlError):
    """The control API refused a call (status and body in the message)."""


class ServiceNowControl(ControlClient):
    """Drives a running ServiceNow sandbox over HTTPS with the control key."""

    prefix = "/_sandbox"
    system = "servicenow"
    error_class = ServiceNowControlError

    # -- data -------------------------------------------------------------------------------------------------

    def generate(self, table: str, count: int) -> int:
        """Add ``count`` generated records to ``table`` (core_company, sys_user, incident, sc_req_item,
        change_request); returns how many were made."""
        return int(self.call("POST", f"tables/{table}/generate", {"count": count})["generated"])

    def create(self, table: str, records: list[dict[str, Any]], *, stamp: datetime | None = None) -> list[str]:
        """Create records (values as the Table API takes them); returns their sys_ids."""
        return list(self.call("POST", f"tables/{table}/create", {"records": records, "stamp": iso(stamp)})["sys_ids"])

    def update(
        self, table: str, changes: list[dict[str, Any]], *, stamp: datetime | None = None, touch: bool = True
    ) -> int:
        """Apply ``{"sys_id": ..., field: value}`` changes; ``touch=False`` leaves sys_updated_on alone."""
        body = {"changes": changes, "stamp": iso(stamp), "touch": touch}
        return int(self.call("POST", f"tables/{table}/update", body)["updated"])

    def delete(
        self, table: str, sys_ids: list[str], *, stamp: datetime | None = None, audit: bool | None = None
    ) -> int:
        """Delete records; ``audit`` None: as the table says (audited tables write sys_audit_delete), False: an
        unaudited delete (a table cleaner), True: audited even on an unaudited table."""
        body = {"sys_ids": sys_ids, "stamp": iso(stamp), "audit": audit}
        return int(self.call("POST", f"tables/{table}/delete", body)["deleted"])

    def add_field(self, table: str, field: dict[str, Any], value: Any = None) -> dict[str, Any]:
        """Add a dictionary field mid-life (``element``, ``internal_type``, ``max_length``, ``label``,
        ``reference``, ``choices`` ``[[value, label], ...]``); existing records get ``value`` untouched.
        Returns its sys_dictionary row."""
        result: dict[str, Any] = self.call("POST", f"tables/{table}/fields", {"field": field, "value": value})
        return result

    def truth(self, table: str, fields: list[str] | None = None) -> list[dict[str, str | None]]:
        """Every record of ``table`` (extensions included) with stored values (None for empty), by sys_id."""
        params = {"fields": ",".join(fields)} if fields else None
        result: list[dict[str, str | None]] = self.call("GET", f"tables/{table}/truth", params=params)
        return result

    def ids(self, table: str) -> set[str]:
        return set(self.call("GET", f"tables/{table}/ids"))

    def deleted_ids(self, table: str) -> set[str]:
        """sys_ids of ``table``'s records deleted since generation (audited or not): the sandbox's truth."""
        return set(self.call("GET", f"tables/{table}/deleted"))

    def count(self, table: str) -> int:
        return int(self.call("GET", f"tables/{table}/count")["count"])

    # -- rate limit, page hooks ---------------------------------------------------------------------------------

    def set_rate_limit(self, per_hour: int | None) -> dict[str, Any]:
        """A rate limit rule for all users (None: no rule); returns ``{"per_hour", "rule"}``."""
        result: dict[str, Any] = self.call("POST", "rate_limit", {"per_hour": per_hour})
        return result

    def on_page(
        self,
        table: str,
        page: int = 2,
        *,
        update: list[dict[str, Any]] | None = None,
        delete: list[str] | None = None,
        create: list[dict[str, Any]] | None = None,
        stamp: datetime | None = None,
    ) -> dict[str, Any]:
        """When the ``page``-th list request on ``table`` arrives (from now), first apply these writes."""
        return self.add_hook(table, page, update=update, delete=delete, create=create, stamp=stamp)

    def settings(self, **options: Any) -> dict[str, Any]:
        """access_token_ttl, refresh_token_ttl, rotate_refresh_tokens, invalid_query ("ignore"|"no_rows"),
        max_limit."""
        return super().settings(**options)
