"""``nextPageToken``: an opaque, signed continuation of one JQL search.

A token carries the sort values of the page's last issue (the next page starts after them: keyset paging, so an
issue updated while its window is paged moves behind the cursor and shows up again later in the same search, as
a search-after cursor does), a digest of the JQL it continues, when it was issued (sandbox clock) and the
generation of tokens. A token is refused with 400 when it is malformed or tampered with, belongs to another
query, is older than ``ttl_seconds`` (Jira: 7 days) or was issued before ``expire_all()``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from typing import Any

import orjson

from lumina_sandbox.jira.errors import BAD_PAGE_TOKEN, JiraError

DEFAULT_TTL = 7 * 86400


class PageTokens:
    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._generation = 0
        self._lock = threading.Lock()
        self.ttl_seconds = DEFAULT_TTL
        self.issued = 0
        self.refused = 0
        # Tokens still to expire the moment they are issued (``expire_next``): a read's next page request
        # then carries an expired token, at an exact point of the read.
        self._expire_next = 0

    @staticmethod
    def digest(jql: str) -> str:
        return hashlib.sha256(jql.strip().encode()).hexdigest()[:16]

    def issue(self, jql: str, after: list[Any], now_ms: int) -> str:
        with self._lock:
            self.issued += 1
            payload = {"g": self._generation, "t": now_ms, "q": self.digest(jql), "a": after}
            if self._expire_next > 0:
                self._expire_next -= 1
                self._generation += 1  # this token (and every earlier one) is stale as it leaves
        raw = orjson.dumps(payload)
        signature = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(raw + signature).decode().rstrip("=")

    def read(self, token: str, jql: str, now_ms: int) -> list[Any]:
        """The sort values a valid token continues after; Jira's 400 otherwise."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            raw, signature = blob[:-12], blob[-12:]
            valid = hmac.compare_digest(signature, hmac.new(self._secret, raw, hashlib.sha256).digest()[:12])
            payload = orjson.loads(raw) if valid else None
        except (ValueError, TypeError):
            payload = None
        with self._lock:
            generation = self._generation
        fresh = (
            isinstance(payload, dict)
            and payload.get("g") == generation
            and payload.get("q") == self.digest(jql)
            and now_ms - int(payload.get("t", 0)) <= self.ttl_seconds * 1000
        )
        if not fresh or not isinstance(payload, dict):
            with self._lock:
                self.refused += 1
            raise JiraError(400, BAD_PAGE_TOKEN)
        return list(payload["a"])

    def expire_next(self, count: int = 1) -> None:
        """Let the next ``count`` tokens expire as soon as they are issued (the one after is good again)."""
        if count < 0:
            raise ValueError("count is at least 0")
        with self._lock:
            self._expire_next = count

    def expire_all(self) -> int:
        """Make every token issued so far invalid; returns how many had been issued."""
        with self._lock:
            self._generation += 1
            issued, self.issued = self.issued, 0
            return issued
