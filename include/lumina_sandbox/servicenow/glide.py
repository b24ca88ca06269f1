"""ServiceNow's value text: ``glide_date_time`` is ``YYYY-MM-DD HH:MM:SS`` in UTC (whole seconds), booleans are
``"true"``/``"false"``, and every value travels the Table API as a string (empty: ``""``).

Stored values are that same text, so fixed-width datetimes compare and sort as text the way the instance's
database compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

GLIDE_FORMAT = "%Y-%m-%d %H:%M:%S"


def glide_datetime(moment: datetime) -> str:
    """``2026-11-20 10:15:30``: a datetime as the instance stores and returns it (UTC, seconds)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(GLIDE_FORMAT)


def parse_glide_datetime(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) as an aware datetime."""
    return datetime.strptime(text.strip(), GLIDE_FORMAT).replace(tzinfo=UTC)


def stored_text(value: Any) -> str | None:
    """A written value as the instance keeps it: text, booleans as ``true``/``false``, empty as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return glide_datetime(value)
    text = str(value)
    return text if text != "" else None
