"""sys_ids (32 lower-case hex characters) and task numbers (``INC0010001``), deterministic from the seed."""

from __future__ import annotations

import random
import threading

NUMBER_START = {"CHG": 30001}
NUMBER_DIGITS = 7


class SysIds:
    """A deterministic stream of sys_ids and per-prefix record numbers; thread-safe."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(f"sys_id:{seed}")
        self._numbers: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return f"{self._random.getrandbits(128):032x}"

    def many(self, count: int) -> list[str]:
        with self._lock:
            return [f"{self._random.getrandbits(128):032x}" for _ in range(count)]

    def number(self, prefix: str) -> str:
        with self._lock:
            value = self._numbers.get(prefix, NUMBER_START.get(prefix, 10001))
            self._numbers[prefix] = value + 1
        return f"{prefix}{value:0{NUMBER_DIGITS}d}"

    def numbers(self, prefix: str, count: int) -> list[str]:
        with self._lock:
            start = self._numbers.get(prefix, NUMBER_START.get(prefix, 10001))
            self._numbers[prefix] = start + count
        return [f"{prefix}{value:0{NUMBER_DIGITS}d}" for value in range(start, start + count)]
