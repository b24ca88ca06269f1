"""The record-for-record verdict every sandbox's ``compare`` module gives (``make demo``, integration tests):
``Comparison`` (live counts, duplicates, missing, not deleted, differing) and the comparable form of a value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

TextDatetime = Callable[[str], datetime | None]


def header(source_label: str) -> str:
    """The column titles over ``Comparison.describe()`` lines (``source_label``: "org live", "snow live", ...)."""
    return f"{'pipeline':<28}{source_label:>11}{'wh live':>11}{'missing':>9}{'not deleted':>13}{'differing':>11}"


@dataclass
class Comparison:
    pipeline: str
    source_live: int
    warehouse_live: int
    duplicates: int
    missing: list[str] = field(default_factory=list)  # live at the source, not live in the warehouse
    not_deleted: list[str] = field(default_factory=list)  # live in the warehouse, gone from the source
    differing: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.duplicates or self.missing or self.not_deleted or self.differing)

    def describe(self) -> str:
        verdict = "equal" if self.equal else "DIFFERENT"
        return (
            f"{self.pipeline:<28}{self.source_live:>11}{self.warehouse_live:>11}{len(self.missing):>9}"
            f"{len(self.not_deleted):>13}{len(self.differing):>11}   {verdict}"
        )


def normal(value: Any, text_datetime: TextDatetime | None = None) -> Any:
    """One comparable form for a warehouse value and a source value: aware UTC datetimes (``text_datetime``
    reads the source's datetime text, None when a string is not one), numbers rounded to 6 places."""
    if isinstance(value, str) and text_datetime is not None:
        moment = text_datetime(value)
        if moment is not None:
            value = moment
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, Decimal | float) and not isinstance(value, bool):
        return round(float(value), 6)
    return value
