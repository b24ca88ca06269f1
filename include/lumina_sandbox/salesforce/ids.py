"""Salesforce-shaped record ids: key prefix + 12 base-62 characters + the 3-character case-folding checksum."""

from __future__ import annotations

import itertools
import threading

import numpy as np

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


def canonical(value: str) -> str:
    """The 18-character id Salesforce stores for ``value``.

    A 15-character id is widened; an 18-character id given in another case (18-character ids are
    case-insensitive) gets its case back from the checksum. Anything else is returned unchanged.
    """
    if len(value) == 15:
        return value + checksum(value)
    if len(value) != 18 or any(char not in BASE62 for char in value):
        return value
    chars = list(value[:15])
    for block, code in enumerate(value[15:].upper()):
        bits = _SUFFIX_CHARS.find(code)
        if bits < 0:
            return value
        for i in range(5):
            char = chars[block * 5 + i]
            if char.isalpha():
                chars[block * 5 + i] = char.upper() if bits & (1 << i) else char.lower()
    id15 = "".join(chars)
    return id15 + checksum(id15)


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


_CHARS = np.frombuffer(BASE62.encode(), dtype=np.uint8)
_SUFFIX = np.frombuffer(_SUFFIX_CHARS.encode(), dtype=np.uint8)


def make_ids(prefix: str, numbers: np.ndarray) -> list[str]:
    """The 18-character ids numbered ``numbers`` with ``prefix`` (vectorised ``IdFactory.new``)."""
    count = len(numbers)
    if count == 0:
        return []
    digits = np.empty((count, 9), dtype=np.int64)
    rest = numbers.astype(np.int64)
    for position in range(8, -1, -1):
        rest, digits[:, position] = np.divmod(rest, 62)
    head = (prefix + _POD).encode()
    out = np.empty((count, 18), dtype=np.uint8)
    out[:, :6] = np.frombuffer(head, dtype=np.uint8)
    out[:, 6:15] = _CHARS[digits]
    upper = (out[:, :15] >= ord("A")) & (out[:, :15] <= ord("Z"))
    weights = 1 << np.arange(5)
    for block in range(3):
        bits = (upper[:, block * 5 : block * 5 + 5] * weights).sum(axis=1)
        out[:, 15 + block] = _SUFFIX[bits]
    ids: list[str] = out.view("S18").ravel().astype(str).tolist()
    return ids


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

    def take(self, prefix: str, count: int) -> list[str]:
        """``count`` fresh ids with ``prefix`` in increasing order (one reservation; fast for seeding)."""
        with self._lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            first = next(counter)
            self._counters[prefix] = itertools.count(first + count)
        return make_ids(prefix, np.arange(first, first + count, dtype=np.int64))

    def seen(self, prefix: str, number: int) -> None:
        """Make sure later ids with ``prefix`` are numbered above ``number``."""
        with self._lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            current = next(counter)
            self._counters[prefix] = itertools.count(max(current, number + 1))
