"""The error every Jira sandbox layer raises, rendered in Jira's REST shape:

{"errorMessages": ["..."], "errors": {"field": "..."}}

The messages below are Jira's own wording where it is known (the 410 of the removed search, an unknown JQL
field, a missing issue); the expired ``nextPageToken`` wording is assumed (Atlassian does not document it).
"""

from __future__ import annotations

from typing import Any

REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
BAD_PAGE_TOKEN = "The provided next page token is invalid or expired."


class JiraError(Exception):
    """An error Jira answers with ``{"errorMessages": [...], "errors": {...}}``."""

    def __init__(self, status: int, *messages: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {'; '.join(messages) or errors}")
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


def control_error(status: int, code: str, message: str) -> JiraError:
    """The control API's refusals (``common.routes_control`` passes a code): ``"CODE: message"``."""
    return JiraError(status, f"{code}: {message}")


def bad_request(message: str) -> JiraError:
    return JiraError(400, message)


def issue_not_found() -> JiraError:
    return JiraError(404, ISSUE_NOT_FOUND)


def not_authenticated() -> JiraError:
    return JiraError(401, NOT_AUTHENTICATED)


def removed_search() -> JiraError:
    return JiraError(410, REMOVED_SEARCH)
