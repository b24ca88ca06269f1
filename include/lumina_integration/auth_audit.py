"""Authentication events, collected in the task's process and written to the warehouse by the step operator.

Every source login, token refresh, refused credential, rotated refresh token and circuit-breaker change is
an :class:`AuthEvent`: connection id, pipeline id, system, event, outcome, time and a short detail. Hooks
only call :func:`record` (through an :class:`AuthAuditor` bound to their connection); they never write to
the warehouse themselves (a hook has no business knowing the warehouse, and a write per token refresh would
cost a connection per call). The step operator drains the events at the end of ``execute``, also when the
task fails, into the warehouse table ``lumina_auth_events``
(:mod:`lumina_integration.warehouse.auth_events`).

Never a secret: details are built by the callers from status codes, OAuth ``error`` codes, auth modes and
breaker reasons, are clipped to :data:`DETAIL_CHARS`, and go through Airflow's secrets masker (every
connection password and extra secret, and every token the hooks ``mask_secret``-ed, becomes ``***``).

Vocabulary (``event`` / ``outcome``):

- ``login`` / ``success`` | ``failure``: a first authentication (an OAuth password or client-credentials grant,
  a Salesforce login, a HANA connect, basic auth's first answered request);
- ``token_refresh`` / ``success`` | ``failure``: an access token renewed with a refresh token;
- ``token_rotated`` / ``persisted`` | ``not_persisted``: the endpoint handed out a new refresh token;
- ``breaker`` / ``opened`` | ``closed``: the connection's circuit breaker changed state.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime

log = logging.getLogger(__name__)
DETAIL_CHARS = 300
# A process that never flushes (a hook used from a notebook, the UI's connection test) keeps at most this many.
MAX_PENDING = 1000

LOGIN = "login"
TOKEN_REFRESH = "token_refresh"
TOKEN_ROTATED = "token_rotated"
BREAKER = "breaker"
SUCCESS, FAILURE = "success", "failure"
PERSISTED, NOT_PERSISTED = "persisted", "not_persisted"
OPENED, CLOSED = "opened", "closed"


@dataclass(frozen=True)
class AuthEvent:
    occurred_at: datetime
    conn_id: str
    pipeline_id: str | None
    system: str
    event: str
    outcome: str
    detail: str


_pending: list[AuthEvent] = []
_lock = threading.Lock()


def _clean(detail: str) -> str:
    from airflow.sdk.log import redact

    # Masked before clipping, so a secret cut in half by the clip is still recognised whole.
    return str(redact(" ".join(str(detail).split())))[:DETAIL_CHARS]


def record(
    conn_id: str, system: str, event: str, outcome: str, detail: str = "", *, pipeline_id: str | None = None
) -> AuthEvent:
    """Note one event (cheap: a list append); the step operator writes it at the end of the task."""
    item = AuthEvent(datetime.now(UTC), conn_id, pipeline_id or None, system, event, outcome, _clean(detail))
    with _lock:
        if len(_pending) >= MAX_PENDING:
            del _pending[0]
        _pending.append(item)
    log.info("auth event: %s %s %s on %s", system, event, outcome, conn_id)
    return item


def drain(pipeline_id: str | None = None) -> list[AuthEvent]:
    """Take every pending event; those recorded without a pipeline get ``pipeline_id``."""
    with _lock:
        taken = list(_pending)
        _pending.clear()
    return [e if e.pipeline_id or not pipeline_id else replace(e, pipeline_id=pipeline_id) for e in taken]


def pending() -> list[AuthEvent]:
    """The events not written yet (a copy)."""
    with _lock:
        return list(_pending)


@dataclass(frozen=True)
class AuthAuditor:
    """Records events for one connection of one system (what a hook hands its auth and client objects)."""

    conn_id: str
    system: str
    pipeline_id: str | None = None

    def __call__(self, event: str, outcome: str, detail: str = "") -> AuthEvent:
        return record(self.conn_id, self.system, event, outcome, detail, pipeline_id=self.pipeline_id)
