"""Injected faults for the ServiceNow sandbox: ``common.faults`` with the instance's categories and error shape.

Categories: ``table`` (Table API reads), ``table_write`` (Table API writes), ``stats`` (Aggregate API),
``token`` (``/oauth_token.do``), ``any``. A 429 is answered with ``Retry-After`` (1 s unless given) and the
instance's ``{"error": {...}, "status": "failure"}`` body; ``expire_session`` drops the caller's token first.
Records changed while a window is paged are a separate mechanism: ``common.hooks.PageHooks``.
"""

from __future__ import annotations

from typing import Any

from lumina_sandbox.common import faults as common

CATEGORIES = ("table", "table_write", "stats", "token", "any")
_MESSAGES = {
    429: ("Too Many Requests", "Rate limit exceeded; retry after the Retry-After interval"),
    500: ("Internal Server Error", "An unexpected error occurred while processing the request"),
    502: ("Bad Gateway", None),
    503: ("Service Unavailable", "The instance is unavailable; it may be hibernating or being upgraded"),
}


class FaultRule(common.FaultRule):
    def error(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        message, detail = _MESSAGES.get(self.status, ("Error", None))
        body = {"error": {"message": self.message or message, "detail": detail}, "status": "failure"}
        return self.status, body, self.extra_headers()


class Faults(common.Faults):
    categories = CATEGORIES
    rule_class = FaultRule
