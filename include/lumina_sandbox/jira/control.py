"""``JiraControl``: the HTTP client of the Jira sandbox's control API (``/_sandbox/...``).

Use it against a detached sandbox (``JiraControl.from_state_dir(".lumina")``) or the ``control`` attribute of an
in-process ``JiraServer``. The clock, fault, request-count, session, settings, reset, credentials and status
verbs come from ``common.control.ControlClient``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lumina_sandbox.common.control import ControlClient, ControlError, iso

__all__ = ["JiraControl", "JiraControlError"]


class JiraControlError(ControlError):
    """The control API refused a call (status and body in the message)."""


class JiraControl(ControlClient):
    """Drives a running Jira sandbox over HTTPS with the control key."""

    prefix = "/_sandbox"
    system = "jira"
    error_class = JiraControlError

    # -- issues ---------------------------------------------------------------------------------------------------

    def generate(self, count: int) -> int:
        """Add ``count`` generated issues (with changelogs, comments, worklogs); returns how many."""
        return int(self.call("POST", "issues/generate", {"count": count})["generated"])

    def create_issues(self, issues: list[dict[str, Any]], *, stamp: datetime | None = None) -> list[dict[str, str]]:
        """Create issues from field values (``project`` key, ``summary``, ``description`` ADF or text, ``status``,
        ``issuetype``, ``priority``, ``assignee`` account id, ``labels``, ``customfield_*``); returns
        ``[{"id", "key"}]``."""
        return list(self.call("POST", "issues/create", {"issues": issues, "stamp": iso(stamp)})["issues"])

    def update_issues(self, changes: list[dict[str, Any]], *, stamp: datetime | None = None, touch: bool = True) -> int:
        """Apply ``{"key" or "id": ..., field: value}`` changes (each writes a changelog history and moves
        ``updated``); ``touch=False`` changes values silently."""
        return int(
            self.call("POST", "issues/update", {"changes": changes, "stamp": iso(stamp), "touch": touch})["updated"]
        )

    def delete_issues(self, ids_or_keys: list[str]) -> int:
        """Delete issues (they vanish with their children; Jira has no deleted feed)."""
        return int(self.call("POST", "issues/delete", {"issues": ids_or_keys})["deleted"])

    # -- comments and worklogs --------------------------------------------------------------------------------

    def add_comment(
        self,
        issue: str,
        body: Any,
        *,
        stamp: datetime | None = None,
        author: str | None = None,
        visibility: dict[str, str] | None = None,
    ) -> str:
        """Comment on ``issue`` (id or key) with an ADF ``body`` (or text), restricted by ``visibility``
        (``{"type": "role" | "group", "value": name}``) if given; returns the comment id."""
        payload = {"issue": issue, "body": body, "stamp": iso(stamp), "author": author, "visibility": visibility}
        return str(self.call("POST", "comments/create", payload)["id"])

    def update_comment(self, comment_id: str, body: Any, *, stamp: datetime | None = None) -> int:
        return int(
            self.call("POST", "comments/update", {"id": comment_id, "body": body, "stamp": iso(stamp)})["updated"]
        )

    def delete_comment(self, comment_id: str, *, stamp: datetime | None = None) -> int:
        return int(self.call("POST", "comments/delete", {"id": comment_id, "stamp": iso(stamp)})["deleted"])

    def add_worklog(
        self,
        issue: str,
        seconds: int,
        *,
        started: datetime | None = None,
        comment: Any = None,
        stamp: datetime | None = None,
    ) -> str:
        payload = {"issue": issue, "seconds": seconds, "started": iso(started), "comment": comment, "stamp": iso(stamp)}
        return str(self.call("POST", "worklogs/create", payload)["id"])

    def update_worklog(
        self, worklog_id: str, *, seconds: int | None = None, comment: Any = None, stamp: datetime | None = None
    ) -> int:
        payload = {"id": worklog_id, "seconds": seconds, "comment": comment, "stamp": iso(stamp)}
        return int(self.call("POST", "worklogs/update", payload)["updated"])

    def delete_worklog(self, worklog_id: str, *, stamp: datetime | None = None) -> int:
        """Delete a worklog (listed by ``/worklog/deleted`` from then on)."""
        return int(self.call("POST", "worklogs/delete", {"id": worklog_id, "stamp": iso(stamp)})["deleted"])

    # -- catalogue, truth -----------------------------------------------------------------------------------------

    def add_field(
        self,
        name: str,
        type: str = "string",
        *,
        value: Any = None,
        options: list[str] | None = None,
        number: int | None = None,
    ) -> dict[str, Any]:
        """Add a custom field mid-life (type: number, string, option, date, datetime, array, user); existing
        issues get ``value`` untouched. Returns it as ``GET /field`` lists it."""
        spec: dict[str, Any] = {"name": name, "type": type}
        if options:
            spec["options"] = options
        if number is not None:
            spec["id"] = number
        result: dict[str, Any] = self.call("POST", "fields", {"field": spec, "value": value})
        return result

    def truth(self, kind: str = "issues") -> list[dict[str, Any]]:
        """Every live record of ``kind`` (issues, comments, worklogs, changelog), stored values, times as UNIX ms."""
        result: list[dict[str, Any]] = self.call("GET", f"truth/{kind}")
        return result

    def ids(self, kind: str = "issues") -> set[str]:
        return set(self.call("GET", f"ids/{kind}"))

    def deleted_ids(self, kind: str = "issues") -> set[str]:
        """Ids of ``kind``'s records deleted since generation: the sandbox's truth (no API shows issue deletes)."""
        return set(self.call("GET", f"deleted/{kind}"))

    # -- tokens, rate limit, page hooks ---------------------------------------------------------------------------

    def oauth_token(self, ttl: int | None = None, refresh: bool = True) -> dict[str, Any]:
        """An OAuth 2.0 access token (expiring after ``ttl`` seconds of the sandbox clock) for the integration user."""
        result: dict[str, Any] = self.call("POST", "oauth/tokens", {"ttl": ttl, "refresh": refresh})
        return result

    def expire_page_tokens(self) -> int:
        """Make every ``nextPageToken`` issued so far invalid (the next use is Jira's 400)."""
        return int(self.call("POST", "tokens/expire")["expired"])

    def expire_next_page_tokens(self, count: int = 1) -> None:
        """The next ``count`` ``nextPageToken``s expire as they are issued: the read's following page request is
        refused (400), at an exact point of the read."""
        self.call("POST", "tokens/expire", {"next": count})

    def set_rate_limit(self, limit: int | None, window: int = 60, beta: bool = False) -> dict[str, Any]:
        """``limit`` requests per ``window`` seconds per account (None: no limit); ``beta`` adds the points-based
        quota headers."""
        result: dict[str, Any] = self.call("POST", "rate_limit", {"limit": limit, "window": window, "beta": beta})
        return result

    def on_page(
        self,
        kind: str = "issues",
        page: int = 2,
        *,
        update: list[dict[str, Any]] | None = None,
        delete: list[str] | None = None,
        create: list[dict[str, Any]] | None = None,
        stamp: datetime | None = None,
    ) -> dict[str, Any]:
        """When the ``page``-th list request of ``kind`` (issues: a search page) arrives, first apply these issue
        writes (``update``: ``{"key": ..., field: value}``; ``delete``: ids or keys; ``create``: field values)."""
        return self.add_hook(kind, page, update=update, delete=delete, create=create, stamp=stamp)

    def settings(self, **options: Any) -> dict[str, Any]:
        """deployment ("cloud" | "datacenter"), time_zone, page_token_ttl, inline_changelog_limit,
        access_token_ttl, max_results."""
        return super().settings(**options)
