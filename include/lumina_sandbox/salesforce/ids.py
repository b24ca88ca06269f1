"""Salesforce-shaped record ids: key prefix + 12 base-62 characters + the 3-character case-folding checksum."""

from __future__ import annotations

import itertools
import threading

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# Real 15-character ids carry a pod/instance part after the key prefix; ours is fixed so ids look familiar.
_POD = "5g0"


def checksum(id15: str) -> str:
    """The 3 characters Salesforce appends to a 15-character id to make it case-insensitively unique."""
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix += _SUFFIX_CHARS[bits]
    return suffix


def to_18(record_id: str) -> str:
    """Widen a 15-character id to 18 characters; 18-character ids are returned unchanged."""
    return record_id + checksum(record_id) if len(record_id) == 15 else record_id


def is_valid_id(value: str) -> bool:
    """True for a 15- or 18-character id whose checksum (if present) matches."""
    if len(value) not in (15, 18) or any(char not in BASE62 for char in value):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(reversed(chars))


class IdFactory:
    """Hands out deterministic, increasing 18-character ids per key prefix; thread-safe."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        """A fresh id with ``prefix`` (3 characters, e.g. ``001`` for Account)."""
        with self._lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            number = next(counter)
        id15 = prefix + _POD + _base62(number, 9)
        return id15 + checksum(id15)
