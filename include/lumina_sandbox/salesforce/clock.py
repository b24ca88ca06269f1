"""Salesforce's datetime text formats; the sandbox clock (``common.clock.SandboxClock``, milliseconds) re-exported.

Every write stamps ``SystemModstamp``/``LastModifiedDate`` from this clock, the HTTP ``Date`` header comes from
it, and date formulas read its TODAY. Datetimes are stored as fixed-width UTC text
(``YYYY-MM-DDTHH:MM:SS.sssZ``) so that text order is chronological order and Bulk CSV needs no reformatting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lumina_sandbox.common.clock import SandboxClock, http_date

__all__ = ["SandboxClock", "http_date", "parse_datetime", "rest_text", "to_storage"]


def to_storage(moment: datetime) -> str:
    """``2026-11-20T10:15:30.000Z``: the stored (and Bulk CSV) form of a datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def rest_text(stored: str) -> str:
    """REST JSON's form of a stored datetime: ``2026-11-20T10:15:30.000+0000``."""
    return stored[:23] + "+0000"


def parse_datetime(text: str) -> datetime:
    """Parse Salesforce or ISO-8601 datetime text (``Z``, ``+0000``, ``+00:00``; naive is UTC) to aware UTC.

    A ``+`` that arrived unencoded in a query string turns into a space; it is read back as ``+``.
    """
    value = text.strip()
    if len(value) > 19 and value[-5] == " " and value[-4:].isdigit():
        value = value[:-5] + "+" + value[-4:]
    elif len(value) > 19 and value[-6] == " " and value[-3] == ":":
        value = value[:-6] + "+" + value[-5:]
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) >= 5 and value[-5] in "+-" and value[-4:].isdigit() and "T" in value:
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
