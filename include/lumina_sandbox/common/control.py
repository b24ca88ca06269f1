"""``ControlClient``: the base of each sandbox's Python client of its control API (same verbs everywhere).

A system's client sets ``prefix`` (where its control routes live) and ``system`` (its state folder name)
and adds its data verbs; the clock, fault, request-count, page-hook, session, settings, reset, credentials and
status verbs are here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import requests

from lumina_sandbox.common.clock import parse_iso
from lumina_sandbox.common.routes_control import CONTROL_HEADER

Client = TypeVar("Client", bound="ControlClient")


class ControlError(RuntimeError):
    """The control API refused a call (status and body in the message)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"control API answered {status}: {body[:500]}")
        self.status = status
        self.body = body


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class ControlClient:
    """Drives a running sandbox over HTTPS with the control key."""

    prefix: ClassVar[str] = "/_sandbox"
    system: ClassVar[str] = ""
    error_class: ClassVar[type[ControlError]] = ControlError

    def __init__(
        self,
        base_url: str,
        control_key: str,
        ca_path: str | Path,
        timeout: float = 300,
        client_cert: str | Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_path = str(ca_path)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE would override verify
        self.session.verify = self.ca_path
        if client_cert is not None:
            self.session.cert = str(client_cert)
        self.session.headers[CONTROL_HEADER] = control_key

    @classmethod
    def from_state_dir(cls: type[Client], path: str | Path) -> Client:
        """The client for the detached sandbox whose state is in ``path`` (``.lumina`` or ``.lumina/<system>``)."""
        from lumina_sandbox.common.runner import read_state, sandbox_dir

        directory = sandbox_dir(Path(path), cls.system)
        state = read_state(directory)
        if state is None:
            raise FileNotFoundError(f"no running {cls.system} sandbox recorded in {directory}")
        key = (directory / "control.key").read_text().strip()
        client_pem = directory / "client.pem"
        cert = client_pem if client_pem.exists() else None
        return cls(state["base_url"], key, directory / "ca.pem", client_cert=cert)

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        """One control call; raises ``error_class`` on a status of 300 or more."""
        response = self.session.request(
            method, f"{self.base_url}{self.prefix}/{path}", json=body, params=params, timeout=self.timeout
        )
        if response.status_code >= 300:
            raise self.error_class(response.status_code, response.text)
        return json.loads(response.content) if response.content else None

    _call = call  # the name the first (Salesforce) client used

    # -- clock --------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return parse_iso(self.call("GET", "clock")["now"])

    def advance(self, seconds: float) -> datetime:
        return parse_iso(self.call("POST", "clock", {"advance": seconds})["now"])

    def set_time(self, moment: datetime) -> datetime:
        return parse_iso(self.call("POST", "clock", {"set": moment.isoformat()})["now"])

    # -- faults, counts, sessions -------------------------------------------------------------------------------

    def add_fault(self, category: str = "any", kind: str = "status", **options: Any) -> dict[str, Any]:
        """Add a fault rule (see ``lumina_sandbox.common.faults``); returns it."""
        result: dict[str, Any] = self.call("POST", "faults", {"category": category, "kind": kind, **options})
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "faults")
        return result

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    def request_counts(self) -> dict[str, int]:
        result: dict[str, int] = self.call("GET", "requests")
        return result

    def reset_request_counts(self) -> None:
        self.call("DELETE", "requests")

    def expire_sessions(self) -> int:
        """Invalidate every issued access token; returns how many."""
        return int(self.call("POST", "sessions/expire")["expired"])

    # -- page hooks (``common.hooks``) ----------------------------------------------------------------------------

    def add_hook(
        self,
        table: str,
        page: int = 2,
        *,
        update: list[dict[str, Any]] | None = None,
        delete: list[str] | None = None,
        create: list[dict[str, Any]] | None = None,
        stamp: datetime | None = None,
    ) -> dict[str, Any]:
        """When the ``page``-th list request of ``table`` arrives (from now), first apply these writes (their
        shape is the system's: see its ``on_page``)."""
        body = {
            "table": table,
            "page": page,
            "update": update or [],
            "delete": delete or [],
            "create": create or [],
            "stamp": iso(stamp),
        }
        result: dict[str, Any] = self.call("POST", "hooks", body)
        return result

    def hooks(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call("GET", "hooks")
        return result

    def clear_hooks(self) -> None:
        self.call("DELETE", "hooks")

    # -- the sandbox --------------------------------------------------------------------------------------------

    def settings(self, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("POST", "settings", options)
        return result

    def reset(self) -> None:
        self.call("POST", "reset")

    def credentials(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "credentials")
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "status")
        return result
