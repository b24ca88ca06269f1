"""``SandboxControl``: the HTTP client of the control API (mirrors ``Org``'s test methods).

Use it against a detached sandbox (``SandboxControl.from_state_dir(".lumina")``) or the ``control`` attribute of
an in-process ``SandboxServer``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from lumina_sandbox.salesforce.clock import parse_datetime

CONTROL_HEADER = "X-Sandbox-Control-Key"


class SandboxControlError(RuntimeError):
    """The control API refused a call (status and body in the message)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"control API answered {status}: {body[:500]}")
        self.status = status
        self.body = body


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class SandboxControl:
    """Drives a running sandbox over HTTPS with the control key."""

    def __init__(self, base_url: str, control_key: str, ca_path: str | Path, timeout: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_path = str(ca_path)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE would override verify
        self.session.verify = self.ca_path
        self.session.headers[CONTROL_HEADER] = control_key

    @classmethod
    def from_state_dir(cls, path: str | Path) -> SandboxControl:
        """The client for the detached sandbox whose state is in ``path`` (``.lumina`` or ``.lumina/salesforce``)."""
        from lumina_sandbox.salesforce.runner import read_state, sandbox_dir

        directory = sandbox_dir(Path(path))
        state = read_state(directory)
        if state is None:
            raise FileNotFoundError(f"no running Salesforce sandbox recorded in {directory}")
        key = (directory / "control.key").read_text().strip()
        return cls(state["base_url"], key, directory / "ca.pem")

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox/{path}", json=body, params=params, timeout=self.timeout
        )
        if response.status_code >= 300:
            raise SandboxControlError(response.status_code, response.text)
        return json.loads(response.content) if response.content else None

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

    # -- clock, limits, sessions, faults ----------------------------------------------------------------------

    def now(self) -> datetime:
        return parse_datetime(self._call("GET", "clock")["now"])

    def advance(self, seconds: float) -> datetime:
        return parse_datetime(self._call("POST", "clock", {"advance": seconds})["now"])

    def set_time(self, moment: datetime) -> datetime:
        return parse_datetime(self._call("POST", "clock", {"set": moment.isoformat()})["now"])

    def set_api_limit(self, max: int, used: int | None = None) -> None:
        self._call("POST", "limits", {"max": max, "used": used})

    def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "limits")
        return result

    def expire_sessions(self) -> int:
        return int(self._call("POST", "sessions/expire")["expired"])

    def request_counts(self) -> dict[str, int]:
        result: dict[str, int] = self._call("GET", "requests")
        return result

    def reset_request_counts(self) -> None:
        self._call("DELETE", "requests")

    def add_fault(self, category: str = "any", kind: str = "status", **options: Any) -> dict[str, Any]:
        """Add a fault rule (see ``lumina_sandbox.salesforce.faults``); returns it."""
        result: dict[str, Any] = self._call("POST", "faults", {"category": category, "kind": kind, **options})
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "faults")
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def settings(self, **options: Any) -> dict[str, Any]:
        """session_ttl_seconds, rotate_refresh_tokens, bulk_processing_delay."""
        result: dict[str, Any] = self._call("POST", "settings", options)
        return result

    def reset(self) -> None:
        self._call("POST", "reset")

    def credentials(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "credentials")
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "status")
        return result
