"""How messages (quarantine reasons, validation reports, errors) quote a record's value.

A value of a column whose schema PII class is not ``none`` is never quoted, whatever the PII policy
does to the column in the warehouse (``keep`` included): reasons and reports are read by more people,
and kept longer, than the data. It becomes ``<masked:CLASS>``; other values are clipped.
"""

from __future__ import annotations

from typing import Any

from lumina_integration.canonical.schema import PiiClass

MAX_SHOWN_CHARS = 80


def mask(pii: PiiClass) -> str:
    return f"<masked:{pii.value}>"


def clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def shown_value(value: Any, pii: PiiClass) -> str:
    """A value as a message quotes it: its mask when its column is personal, else its repr (text) or str, clipped."""
    if pii is not PiiClass.NONE:
        return mask(pii)
    return clip(repr(value) if isinstance(value, str) else str(value))
