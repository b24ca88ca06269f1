"""``SandboxState``: what every sandbox's state object (Salesforce ``Org``, ServiceNow ``Instance``, ...) has —
its clock and the per-category request counts the control API reports."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime

from lumina_sandbox.common.clock import SandboxClock


class SandboxState:
    """The clock verbs and request counting; thread-safe. Subclasses call ``__init__`` with their clock."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._request_counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()

    # -- clock ------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        return self.clock.advance(seconds)

    def set_time(self, moment: datetime) -> datetime:
        return self.clock.set_time(moment)

    # -- request counts (by the edge middleware's categories) -------------------------------------------------

    def count_request(self, category: str) -> None:
        with self._counts_lock:
            self._request_counts[category] += 1

    def request_counts(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._request_counts)

    def reset_request_counts(self) -> None:
        with self._counts_lock:
            self._request_counts.clear()
