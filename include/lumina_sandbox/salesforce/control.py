"""``SandboxControl``: the HTTP client of the control API (mirrors ``Org``'s test methods).

Use it against a detached sandbox (``SandboxControl.from_state_dir(".lumina")``) or the ``control`` attribute of
an in-process ``SandboxServer``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lumina_sandbox.common.control import ControlClient, ControlError
from lumina_sandbox.common.control import iso as _iso
from lumina_sandbox.common.routes_control import CONTROL_HEADER

__all__ = ["CONTROL_HEADER", "SandboxControl", "SandboxControlError"]


class SandboxControlError(ControlError):
    """The control API refused a call (status and body in the message)."""


class SandboxControl(ControlClient):
    """Drives a running Salesforce sandbox over HTTPS with the control key."""

    prefix = "/_sandbox"
    system = "salesforce"
    error_class = SandboxControlError

    # -- data -------------------------------------------------------------------------------------------------

    def create(self, sobject: str, records: list[dict[str, Any]], *, modstamp: datetime | None = None) -> list[str]:
        result = self._call("POST", f"objects/{sobject}/create", {"records": records, "modstamp": _iso(modstamp)})
        return list(result["ids"])

    def update(
        self, sobject: str, changes: list[dict[str, Any]], *, modstamp: datetime | None = None, touch: bool = True
    ) -> None:
        self._call(
            "POST", f"objects/{sobject}/update", {"changes": changes, "modstamp": _iso(modstamp), "touch": touch}
        )

    def delete(self, sobject: str, ids: list[str], *, modstamp: datetime | None = None) -> None:
        self._call("POST", f"objects/{sobject}/delete", {"ids": ids, "modstamp": _iso(modstamp)})

    def undelete(self, sobject: str, ids: list[str]) -> None:
        self._call("POST", f"objects/{sobject}/undelete", {"ids": ids})

    def purge(self, sobject: str, ids: list[str]) -> int:
        return int(self._call("POST", f"objects/{sobject}/purge", {"ids": ids})["purged"])

    def add_field(self, sobject: str, field: dict[str, Any], value: Any = None) -> dict[str, Any]:
        """Add a field; ``value`` (a constant) is given to existing records. Returns its describe entry."""
        result: dict[str, Any] = self._call("POST", f"objects/{sobject}/fields", {"field": field, "value": value})
        return result

    def truth(
        self, sobject: str, fields: list[str] | None = None, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        params = {"include_deleted": str(include_deleted).lower()}
        if fields:
            params["fields"] = ",".join(fields)
        result: list[dict[str, Any]] = self._call("GET", f"objects/{sobject}/truth", params=params)
        return result

    def ids(self, sobject: str, include_deleted: bool = False) -> set[str]:
        return set(
            self._call("GET", f"objects/{sobject}/ids", params={"include_deleted": str(include_deleted).lower()})
        )

    # -- limits (clock, sessions, faults, counts, settings, reset, status: ControlClient) ----------------------

    def set_api_limit(self, max: int, used: int | None = None) -> None:
        self._call("POST", "limits", {"max": max, "used": used})

    def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "limits")
        return result

    def settings(self, **options: Any) -> dict[str, Any]:
        """session_ttl_seconds, rotate_refresh_tokens, bulk_processing_delay."""
        return super().settings(**options)
