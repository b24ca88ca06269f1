"""The sandbox clock (real time plus a movable offset) and Salesforce's datetime text formats.

Every write stamps ``SystemModstamp``/``LastModifiedDate`` from this clock, the HTTP ``Date`` header comes from
it, and date formulas read its TODAY. Datetimes are stored as fixed-width UTC text
(``YYYY-MM-DDTHH:MM:SS.sssZ``) so that text order is chronological order and Bulk CSV needs no reformatting.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime


class SandboxClock:
    """Real time plus an offset that tests move forward (or set) to simulate the passing of time."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The sandbox's current time, UTC, truncated to milliseconds as Salesforce stores it."""
        with self._lock:
            offset = self._offset
        moment = datetime.now(UTC) + offset
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def today(self) -> date:
        """TODAY() for formulas: the sandbox date in UTC."""
        return self.now().date()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (or back, for a negative value); returns the new now."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set_time(self, moment: datetime) -> datetime:
        """Make ``now()`` equal ``moment`` (naive values are taken as UTC); time keeps running from there."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        with self._lock:
            self._offset = moment - datetime.now(UTC)
        return self.now()

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._offset = timedelta(0)


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


def http_date(moment: datetime) -> str:
    """RFC 7231 ``Date`` header text for ``moment``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)
