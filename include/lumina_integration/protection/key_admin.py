"""Changing the stored PII keys: a new active encryption key, retiring one after a rotation.

Works on the connection in Airflow's metadata database (what ``lumina settings-import`` created). Keys served
by a secrets backend or an ``AIRFLOW_CONN_*`` variable are changed where they live; this says so.
"""

from __future__ import annotations

import os

from lumina_integration.protection.keys import PiiKeyError, PiiKeys, default_conn_id, keys_connection, parse_keys


def _stored(conn_id: str) -> PiiKeys:
    from lumina_integration.settings import stored_connection_password

    password = stored_connection_password(conn_id)
    if password is None:
        env = f"AIRFLOW_CONN_{conn_id.upper()}"
        where = f" (it comes from ${env}: change it there)" if env in os.environ else ""
        raise PiiKeyError(f"the metadata database holds no connection {conn_id!r}{where}; run `lumina settings-import`")
    return parse_keys(password, f"connection {conn_id!r}")


def _save(conn_id: str, keys: PiiKeys) -> None:
    from lumina_integration.settings import save_connections

    save_connections({conn_id: keys_connection(keys)})


def add_key(key_id: str | None = None, conn_id: str | None = None) -> PiiKeys:
    """Add a fresh random encryption key and make it active; older keys stay to decrypt older values."""
    conn_id = conn_id or default_conn_id()
    keys = _stored(conn_id).with_new_key(key_id)
    _save(conn_id, keys)
    return keys


def retire_key(key_id: str, conn_id: str | None = None) -> PiiKeys:
    """Remove a key that is no longer active (after ``lumina pii rotate`` moved every value off it)."""
    conn_id = conn_id or default_conn_id()
    keys = _stored(conn_id).without_key(key_id)
    _save(conn_id, keys)
    return keys
