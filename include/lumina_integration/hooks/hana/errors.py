"""hdbcli errors -> what the task should do: retry (Airflow's retries) or stop without retrying.

A failed login is never retried: SAP locks a user after a few failed attempts (parameter
``password_lock_time``/``maximum_invalid_connect_attempts``), and a locked technical user stops
every integration that shares it. Missing objects and privileges are configuration problems that
a retry cannot fix either. Connection drops, overload, lock waits and timeouts are retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lumina_integration.hooks.base import StopRun

SYSTEM = "SAP HANA"
# SQL error codes of SAP HANA (SAP HANA SQL reference, "SQL Error Codes").
AUTHENTICATION = {10: "authentication failed", 414: "user is forced to change password", 416: "user is locked"}
CONFIGURATION = {
    258: "insufficient privilege",
    259: "invalid table name",
    260: "invalid column name",
    362: "invalid schema name",
    397: "invalid object name",
}
RETRYABLE = {
    -10709: "connection failed",
    -10807: "connection down",
    129: "transaction rolled back by an internal error",
    131: "lock wait timeout",
    133: "deadlock",
    613: "statement timeout",
    1888: "service not available",
}


class HanaAuthenticationError(StopRun):
    """The database refused the credentials; retrying would lock the SAP user."""


class HanaConfigurationError(StopRun):
    """A table, column, schema or privilege is missing: the connection or spec needs fixing."""


def error_code(exc: BaseException) -> int | None:
    """hdbcli's ``errorcode``, whether raised directly or wrapped by SQLAlchemy (``.orig``)."""
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__):
        code = getattr(candidate, "errorcode", None)
        if isinstance(code, int):
            return code
    return None


def error_text(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(getattr(orig, "errortext", None) or orig)


@contextmanager
def hana_errors(conn_id: str) -> Iterator[None]:
    """Turn hdbcli errors that must not be retried into :class:`StopRun` subclasses.

    A refused login is also an authentication event (:mod:`lumina_integration.auth_audit`).
    """
    try:
        yield
    except StopRun:
        raise
    except Exception as exc:
        code = error_code(exc)
        if code in AUTHENTICATION:
            from lumina_integration.auth_audit import FAILURE, LOGIN, record

            record(conn_id, SYSTEM, LOGIN, FAILURE, f"hdbcli error {code}: {AUTHENTICATION[code]}")
            raise HanaAuthenticationError(
                f"SAP HANA refused the login of connection {conn_id!r} ({code}: {AUTHENTICATION[code]}); "
                "not retried, since repeated failed logins lock the SAP user"
            ) from exc
        if code in CONFIGURATION:
            raise HanaConfigurationError(
                f"SAP HANA error {code} ({CONFIGURATION[code]}) on connection {conn_id!r}: {error_text(exc)}"
            ) from exc
        raise
