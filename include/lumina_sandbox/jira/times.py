"""Jira's datetime text and JQL's date literals.

The REST API writes datetimes as ``2026-12-04T17:47:41.123+0000``, in the calling user's time zone (the
sandbox user's ``timeZone``, UTC unless set). JQL date literals (``"yyyy-MM-dd HH:mm"``, ``"yyyy/MM/dd HH:mm"``,
``"yyyy-MM-dd"``, ``"yyyy/MM/dd"``, relative ``-1d``/``-4h``/``-30m``/``-2w``) are read in that zone too and
are minute values: JQL compares dates at the minute (``updated > "2026-12-04 17:47"`` is false for every issue
updated during 17:47). Stored times are UNIX milliseconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MINUTE_MS = 60_000
_ABSOLUTE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_RELATIVE = re.compile(r"([-+]?)(\d+)\s*([wdhm])")
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def jira_text(value: int | None, zone: str = "UTC") -> str | None:
    """``2026-12-04T17:47:41.123+0000`` for UNIX ms ``value`` in ``zone`` (None stays None)."""
    if value is None:
        return None
    moment = datetime.fromtimestamp(value / 1000, tz=ZoneInfo(zone))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value % 1000:03d}" + moment.strftime("%z")


def parse_jira_text(text: str) -> datetime:
    """A Jira datetime text (or any ISO form) as aware UTC."""
    value = text.strip().replace("Z", "+00:00")
    match = re.fullmatch(r"(.*[T ]\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(\d\d)", value)
    if match:
        value = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def date_literal(text: str, now_ms: int, zone: str = "UTC") -> int | None:
    """The minute (UNIX ms, minute-aligned) a JQL date literal names, or None when ``text`` is not one."""
    value = text.strip()
    absolute = _ABSOLUTE.fullmatch(value)
    if absolute:
        year, month, day, hour, minute = (int(g) if g else 0 for g in absolute.groups())
        try:
            moment = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))
        except ValueError:
            return None
        return to_ms(moment)
    if value.lower() == "now()":
        return now_ms - now_ms % MINUTE_MS
    relative = _RELATIVE.fullmatch(value)
    if relative:
        sign, amount, unit = relative.groups()
        seconds = int(amount) * _UNITS[unit] * (-1 if sign == "-" else 1)
        shifted = now_ms + seconds * 1000
        return shifted - shifted % MINUTE_MS
    return None
