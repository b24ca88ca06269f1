"""Injected faults for the Jira sandbox: ``common.faults`` with the site's categories and error shape.

Categories: ``search`` (``/search/jql``, Data Center ``/search``), ``issue`` (issue reads), ``changelog``,
``comment``, ``worklog`` (issue worklogs and the updated/deleted/list feeds), ``field`` (the catalogue),
``meta`` (serverInfo, myself), ``write`` (REST writes), ``token`` (``/oauth/token``), ``any``. A 429 or 503 is
answered with ``Retry-After`` (1 s unless given) and Jira's ``{"errorMessages": [...], "errors": {}}`` body;
``expire_session`` drops the caller's OAuth token first. Records changed while a window is paged are
``common.hooks.PageHooks``; expired page tokens are the control API's ``tokens/expire`` (``{"next": n}``: the next
n tokens expire as they are issued).
"""

from __future__ import annotations

from typing import Any

from lumina_sandbox.common import faults as common

CATEGORIES = ("search", "issue", "changelog", "comment", "worklog", "field", "meta", "write", "token", "any")
_MESSAGES = {
    429: "Rate limit exceeded.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable: the site is temporarily unavailable.",
}


class FaultRule(common.FaultRule):
    def error(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        body = {"errorMessages": [self.message or _MESSAGES.get(self.status, "Error")], "errors": {}}
        return self.status, body, self.extra_headers()


class Faults(common.Faults):
    categories = CATEGORIES
    rule_class = FaultRule
