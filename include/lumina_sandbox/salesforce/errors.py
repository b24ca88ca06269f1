"""The error every sandbox layer raises; the HTTP layer renders it in Salesforce's shape."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error Salesforce would answer with ``[{"message": ..., "errorCode": ...}]``.

    Attributes:
        status: HTTP status code.
        error_code: Salesforce's ``errorCode`` (``INVALID_FIELD``, ``NOT_FOUND``, ...).
        message: Salesforce-style human text.
        fields: the field names the error concerns (rendered as ``fields`` when non-empty).
    """

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields or []

    def body(self) -> list[dict[str, Any]]:
        """The JSON body Salesforce sends for this error."""
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            entry["fields"] = self.fields
        return [entry]


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    """404 NOT_FOUND as Salesforce words it."""
    return ApiError(404, "NOT_FOUND", message)


def invalid_type(sobject: str) -> ApiError:
    """400 INVALID_TYPE for an unknown sObject name, worded as Salesforce does."""
    return ApiError(
        400,
        "INVALID_TYPE",
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )
