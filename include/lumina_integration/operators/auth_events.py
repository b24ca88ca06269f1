"""Step operators write the authentication events their task collected, at the end of ``execute``, failed or not.

Hooks only collect events in the process (:mod:`lumina_integration.auth_audit`); every ``execute`` of an
operator with this mixin is wrapped so that, in a ``finally``, the pending events go to the warehouse table
``lumina_auth_events`` of the operator's warehouse connection. A failed login's row must survive the
failure it caused, which is why it is a ``finally`` and not ``post_execute`` (Airflow skips that on failure).

The write never replaces the task's own outcome: if the warehouse cannot take the rows, they are logged
(they hold no secret) and the task's result or exception stands.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class FlushesAuthEvents:
    """Mixin: wrap each subclass's ``execute`` so collected authentication events are written afterwards.

    Subclasses say where with :meth:`auth_events_destination`: (warehouse connection id, pipeline id).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        execute = cls.__dict__.get("execute")
        if callable(execute) and not getattr(execute, "_flushes_auth_events", False):
            setattr(cls, "execute", _flushing(execute))  # noqa: B010 - the mixin itself has no execute

    def auth_events_destination(self) -> tuple[str, str | None]:
        raise NotImplementedError

    def flush_auth_events(self) -> int:
        """Write the pending events; returns how many were written (0 when there were none or it failed)."""
        from lumina_integration.auth_audit import drain, pending

        if not pending():
            return 0
        conn_id, pipeline_id = self.auth_events_destination()
        events = drain(pipeline_id)
        try:
            from lumina_integration.warehouse.auth_events import write_auth_events
            from lumina_integration.warehouse.connection import warehouse_target

            return write_auth_events(warehouse_target(conn_id), events)
        except Exception as exc:  # the task's own result or error stands
            log.warning(
                "%d authentication events could not be written to %s (%s: %s); they were: %s",
                len(events),
                conn_id,
                type(exc).__name__,
                str(exc)[:200],
                "; ".join(f"{e.occurred_at.isoformat()} {e.conn_id} {e.system} {e.event} {e.outcome}" for e in events),
            )
            return 0


def _flushing(execute: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(execute)
    def execute_then_flush(self: FlushesAuthEvents, *args: Any, **kwargs: Any) -> Any:
        try:
            return execute(self, *args, **kwargs)
        finally:
            self.flush_auth_events()

    execute_then_flush._flushes_auth_events = True  # type: ignore[attr-defined]
    return execute_then_flush
