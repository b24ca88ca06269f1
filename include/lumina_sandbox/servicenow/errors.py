"""The error every ServiceNow sandbox layer raises; rendered in the Table API's shape:

{"error": {"message": "...", "detail": "..."}, "status": "failure"}
"""

from __future__ import annotations

from typing import Any

NOT_AUTHENTICATED = ("User Not Authenticated", "Required to provide Auth information")


class SnowError(Exception):
    """An error the instance answers with ``{"error": {"message", "detail"}, "status": "failure"}``."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "detail": self.detail}, "status": "failure"}


def control_error(status: int, code: str, message: str) -> SnowError:
    """The control API's refusals (``common.routes_control`` passes a code): the code becomes the message."""
    return SnowError(status, code, message)


def invalid_table(name: str) -> SnowError:
    return SnowError(400, f"Invalid table {name}", None)


def no_record() -> SnowError:
    return SnowError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def not_authenticated() -> SnowError:
    return SnowError(401, *NOT_AUTHENTICATED)
