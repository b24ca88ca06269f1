"""Rotated OAuth refresh tokens, kept where the next task finds them.

Some token endpoints (ServiceNow with rotation on, Atlassian, Salesforce with refresh-token rotation) answer a
``refresh_token`` grant with a *new* refresh token and revoke the old one. The connection still holds the old
one, so without a write-back the next task's first token request is refused and every pipeline on that
connection stops until someone pastes a new token in.

Decision: the new token goes to an Airflow Variable ``lumina_oauth_refresh_token__<conn_id>``, written through
the Task SDK (in Airflow 3 a task has no metadata-DB session; the SDK's ``Variable.set`` goes through the
execution API, as the circuit breaker's state does), and is read before the connection's own ``refresh_token``.

- The name contains ``token``, one of Airflow's sensitive names: the UI and the API show it as ``***``, and
  the value is registered with the log masker when read. The metadata DB encrypts Variable values with the
  deployment's Fernet key (``[core] fernet_key``), as it does connection passwords.
- Why not the connection itself: a task cannot write connections (the execution API offers no connection
  write), and a secrets backend is read-only to Airflow (its ``BaseSecretsBackend`` has no write method).
- Limits: with a secrets backend configured, ``Variable.get`` asks the backend first, so a backend that holds
  a Variable of the same name would shadow the rotated token (do not create one). Two tasks refreshing the same
  token at the same moment race (the endpoint accepts one of them); the loser fails with the endpoint's
  ``invalid_grant`` and its retry reads the winner's token.
- A fresh token pasted into the connection wins: the Variable also holds a SHA-256 fingerprint of the
  connection's refresh token it descends from, and is ignored once the connection holds another one.
  Deleting the Variable also falls back to the connection's token.

Each write is audited (``token_rotated`` / ``persisted`` or ``not_persisted``, the Variable's name, never the
value; :mod:`lumina_integration.auth_audit`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable

from lumina_integration.auth_audit import NOT_PERSISTED, PERSISTED, TOKEN_ROTATED

log = logging.getLogger(__name__)
VARIABLE_PREFIX = "lumina_oauth_refresh_token__"


def variable_name(conn_id: str) -> str:
    return f"{VARIABLE_PREFIX}{conn_id}"


def _fingerprint(token: str | None) -> str:
    return hashlib.sha256((token or "").encode("utf-8")).hexdigest()


def stored_refresh_token(conn_id: str, from_connection: str | None) -> str | None:
    """The refresh token an earlier task stored for ``conn_id``, if it descends from the connection's own."""
    from airflow.sdk import Variable

    try:
        raw = Variable.get(variable_name(conn_id), default=None)
    except Exception as exc:  # outside a task (the UI's connection test) the SDK may have no way to ask
        log.debug("no stored refresh token for %s: %s", conn_id, type(exc).__name__)
        return None
    return stored_token(conn_id, None if raw is None else str(raw), from_connection)


def stored_token(conn_id: str, raw: str | None, from_connection: str | None) -> str | None:
    """The token in a Variable's value ``raw``, if it descends from the connection's refresh token."""
    if not raw:
        return None
    try:
        stored = json.loads(raw)
        token, origin = str(stored["refresh_token"]), str(stored["replaces"])
    except (ValueError, KeyError, TypeError):
        log.warning("Variable %s is not a stored refresh token; using the connection's", variable_name(conn_id))
        return None
    from airflow.sdk.log import mask_secret

    mask_secret(token)
    if origin != _fingerprint(from_connection):
        log.info("Connection %s holds a new refresh token since the last rotation; using it", conn_id)
        return None
    return token


def stored_value(token: str, from_connection: str | None) -> str:
    """What the Variable holds: the token and the fingerprint of the connection's token it descends from."""
    return json.dumps({"refresh_token": token, "replaces": _fingerprint(from_connection)})


def refresh_token_for(conn_id: str, from_connection: str | None) -> str | None:
    """The refresh token to start from: the stored rotated one, else the connection's."""
    return stored_refresh_token(conn_id, from_connection) or from_connection


def save_refresh_token(conn_id: str, token: str, from_connection: str | None) -> bool:
    """Store a rotated refresh token for the next task; False (logged) when the Variable cannot be written.

    ``from_connection`` is the connection's own refresh token, whose fingerprint is stored with it.
    """
    from airflow.sdk import Variable
    from airflow.sdk.log import mask_secret

    mask_secret(token)
    value = stored_value(token, from_connection)
    mask_secret(value)
    try:
        Variable.set(
            variable_name(conn_id),
            value,
            description=f"The latest OAuth refresh token of connection {conn_id}, rotated by its token endpoint; "
            "read before the connection's own. Written by Lumina.",
        )
    except Exception as exc:
        log.warning(
            "The rotated refresh token of %s could not be stored (%s): the next task starts from the connection's",
            conn_id,
            type(exc).__name__,
        )
        return False
    return True


def rotation_handler(
    conn_id: str, from_connection: str | None, audit: Callable[[str, str, str], object] | None
) -> Callable[[str], None]:
    """An ``on_refresh_token`` callback: store the new token and audit whether that worked."""

    def rotated(token: str) -> None:
        saved = save_refresh_token(conn_id, token, from_connection)
        if saved:
            log.info("The token endpoint rotated the refresh token of %s; stored for the next task", conn_id)
        if audit is not None:
            audit(TOKEN_ROTATED, PERSISTED if saved else NOT_PERSISTED, f"Variable {variable_name(conn_id)}")

    return rotated
