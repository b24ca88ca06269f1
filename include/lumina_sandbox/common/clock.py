"""``SandboxClock``: real time plus an offset that tests move, truncated to the system's stored resolution.

Salesforce stores milliseconds, ServiceNow whole seconds, Jira milliseconds (and JQL compares minutes): the
clock truncates to what the system keeps so that two writes in one unit tie as they do for real.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime


class SandboxClock:
    """Real time plus an offset; ``resolution_us`` is the stored resolution in microseconds (1000: ms)."""

    def __init__(self, resolution_us: int = 1000) -> None:
        if resolution_us < 1:
            raise ValueError("resolution_us must be at least 1")
        self.resolution_us = resolution_us
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The sandbox's current time, aware UTC, truncated to the resolution."""
        with self._lock:
            offset = self._offset
        return self.truncate(datetime.now(UTC) + offset)

    def truncate(self, moment: datetime) -> datetime:
        """``moment`` truncated to the clock's resolution (naive values are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if self.resolution_us >= 1_000_000:
            return moment.replace(microsecond=0)
        return moment.replace(microsecond=moment.microsecond // self.resolution_us * self.resolution_us)

    def today(self) -> date:
        """The sandbox date in UTC."""
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


def http_date(moment: datetime) -> str:
    """RFC 7231 ``Date`` header text for ``moment``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_iso(text: str) -> datetime:
    """ISO-8601 text (``Z`` or an offset; naive is UTC) as aware UTC: the control API's datetime form."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
