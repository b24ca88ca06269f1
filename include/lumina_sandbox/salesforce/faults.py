"""Injected faults for the Salesforce sandbox (``common.faults`` with Salesforce's categories and error shape).

A rule affects ``times`` matching requests (None: until cleared) after skipping the first ``after``. Kinds:

* ``status``: answer ``status`` with a Salesforce error body (403 REQUEST_LIMIT_EXCEEDED, 429/503 with
  ``Retry-After``, 500 UNKNOWN_EXCEPTION, or the given errorCode/message);
* ``delay``: answer after ``delay`` seconds;
* ``drop``: send the headers and part of the body, then close the connection (an incomplete read);
* ``expire_session``: invalidate the caller's session and answer 401 INVALID_SESSION_ID;
* ``query_timeout``: a REST query (category ``query``) or Bulk query job (category ``bulk_create``) whose
  result would exceed ``threshold`` records fails with QUERY_TIMEOUT.
"""

from __future__ import annotations

from typing import Any

from lumina_sandbox.common import faults as common

CATEGORIES = (
    "token",
    "soap_login",
    "versions",
    "query",
    "query_more",
    "describe",
    "sobjects",
    "limits",
    "deleted",
    "updated",
    "bulk_create",
    "bulk_status",
    "bulk_results",
    "ingest",
    "any",
)
KINDS = (*common.BASE_KINDS, "query_timeout")
_DEFAULT_ERRORS = {
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1946380131-41937 (-1589123471)",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please retry after the Retry-After interval."),
}


class FaultRule(common.FaultRule):
    """One injected fault, rendered as Salesforce errors are."""

    def error(self) -> tuple[int, list[dict[str, Any]], dict[str, str]]:
        """(status, Salesforce error body, extra headers) for a ``status`` fault."""
        code, message = _DEFAULT_ERRORS.get(self.status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
        body = [{"message": self.message or message, "errorCode": self.error_code or code}]
        return self.status, body, self.extra_headers()


class Faults(common.Faults):
    """The active fault rules; thread-safe."""

    categories = CATEGORIES
    kinds = KINDS
    rule_class = FaultRule
    handler_kinds = ("query_timeout",)

    def validate(self, kind: str, options: dict[str, Any]) -> None:
        if kind == "query_timeout" and options.get("threshold") is None:
            raise ValueError("a query_timeout fault needs threshold (the record count that times out)")

    def query_timeout(self, category: str, records: int) -> bool:
        """True when a query_timeout rule fires for a query of ``records`` results."""
        with self._lock:
            for rule in self._rules:
                if (
                    rule.kind == "query_timeout"
                    and rule.category in (category, "any")
                    and records > (rule.threshold or 0)
                    and self._fire(rule)
                ):
                    return True
        return False
