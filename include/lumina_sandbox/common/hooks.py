"""Page hooks (not part of any real system): change records at a chosen moment of a paged read.

A hook on ``table`` (a ServiceNow table, a Jira object such as ``issues``) fires when the ``page``-th list
request for it arrives (counted from when the hook was added), before the page is read: the system applies its
``update``, ``delete`` and ``create`` writes, so "a record updated while its window is being paged" happens
exactly between two pages. Each hook fires once. ServiceNow and Jira share this module.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PageHook:
    table: str
    page: int = 2
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    create: list[dict[str, Any]] = field(default_factory=list)
    stamp: str | None = None  # ISO datetime of the writes (default: the instance's now)
    id: int = 0
    seen: int = 0
    fired: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PageHooks:
    def __init__(self) -> None:
        self._hooks: list[PageHook] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, hook: PageHook) -> PageHook:
        if hook.page < 1:
            raise ValueError("page counts list requests from 1")
        hook.id = next(self._ids)
        with self._lock:
            self._hooks.append(hook)
        return hook

    def due(self, table: str) -> list[PageHook]:
        """Count a list request on ``table``; the hooks that fire now (marked fired)."""
        firing = []
        with self._lock:
            for hook in self._hooks:
                if hook.table != table or hook.fired:
                    continue
                hook.seen += 1
                if hook.seen >= hook.page:
                    hook.fired = True
                    firing.append(hook)
        return firing

    def all(self) -> list[PageHook]:
        with self._lock:
            return list(self._hooks)

    def clear(self) -> None:
        with self._lock:
            self._hooks.clear()
