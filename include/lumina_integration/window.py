"""Extraction windows: half-open ``[start, end)`` ranges of a source's change cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def parse_instant(value: str | None) -> datetime | None:
    """ISO 8601 text -> aware datetime in UTC (naive text is taken as UTC)."""
    if value is None or value == "":
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """``start`` is inclusive (None: the beginning of time); ``end`` is exclusive."""

    start: datetime | None
    end: datetime

    def __post_init__(self) -> None:
        if self.start is not None and self.start > self.end:
            raise ValueError(f"window start {self.start.isoformat()} is after its end {self.end.isoformat()}")

    def contains(self, instant: datetime) -> bool:
        return (self.start is None or instant >= self.start) and instant < self.end

    def to_xcom(self) -> dict[str, Any]:
        return {"start": self.start.isoformat() if self.start else None, "end": self.end.isoformat()}

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> Window:
        end = parse_instant(data["end"])
        assert end is not None
        return cls(parse_instant(data.get("start")), end)
