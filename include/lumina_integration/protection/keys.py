"""The PII keys: one tokenisation key and the encryption keys by id, held in an Airflow connection.

The connection (``pii.keys_conn_id``, default ``lumina_pii_keys``, conn_type ``generic``) keeps them in its
**password** as JSON::

    {"tokenize": "<base64 32 bytes>", "encrypt": {"active": "k1", "keys": {"k1": "<base64 32 bytes>"}}}

so Airflow stores them Fernet-encrypted (or a secrets backend serves them) and masks them in task logs; they
are never in YAML. Errors name the connection and what is wrong, never the key material: a repr or a
traceback of :class:`PiiKeys` shows key ids only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # no ':' (the ciphertext format separates with it)


class PiiKeyError(ValueError):
    """The keys connection is missing or malformed; the message never holds key material."""


@dataclass(frozen=True)
class PiiKeys:
    """``tokenize_key`` for HMAC tokens; ``encryption_keys`` by id, new values under ``active_key_id``."""

    tokenize_key: bytes = field(repr=False)
    active_key_id: str
    encryption_keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.tokenize_key) != KEY_BYTES:
            raise PiiKeyError(f"the tokenize key must be {KEY_BYTES} bytes, not {len(self.tokenize_key)}")
        for key_id, key in self.encryption_keys.items():
            if not _KEY_ID.match(key_id):
                raise PiiKeyError(f"encryption key id {key_id!r} must be 1-32 letters, digits, '_' or '-'")
            if len(key) != KEY_BYTES:
                raise PiiKeyError(f"encryption key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
        if self.active_key_id not in self.encryption_keys:
            raise PiiKeyError(f"the active encryption key {self.active_key_id!r} is not among the keys {self.key_ids}")

    def __repr__(self) -> str:
        return f"PiiKeys(active_key_id={self.active_key_id!r}, key_ids={self.key_ids})"

    @property
    def key_ids(self) -> list[str]:
        return sorted(self.encryption_keys)

    def encryption_key(self, key_id: str) -> bytes:
        try:
            return self.encryption_keys[key_id]
        except KeyError:
            raise PiiKeyError(f"no encryption key {key_id!r} in the keys connection (known: {self.key_ids})") from None

    def to_json(self) -> str:
        """The connection password's JSON (holds the keys: only for writing the connection)."""

        def b64(key: bytes) -> str:
            return base64.b64encode(key).decode("ascii")

        return json.dumps(
            {
                "tokenize": b64(self.tokenize_key),
                "encrypt": {
                    "active": self.active_key_id,
                    "keys": {key_id: b64(key) for key_id, key in sorted(self.encryption_keys.items())},
                },
            }
        )

    def with_new_key(self, key_id: str | None = None) -> PiiKeys:
        """These keys plus a fresh random encryption key, made active (old ids stay for decryption)."""
        if key_id is None:
            numbers = [int(k[1:]) for k in self.encryption_keys if re.fullmatch(r"k\d+", k)]
            key_id = f"k{max(numbers, default=0) + 1}"
        if key_id in self.encryption_keys:
            raise PiiKeyError(f"encryption key {key_id!r} already exists")
        keys = {**self.encryption_keys, key_id: os.urandom(KEY_BYTES)}
        return PiiKeys(self.tokenize_key, key_id, keys)

    def without_key(self, key_id: str) -> PiiKeys:
        """These keys less a retired one (after a rotation moved every value off it)."""
        if key_id == self.active_key_id:
            raise PiiKeyError(f"encryption key {key_id!r} is the active key; rotate to another first")
        self.encryption_key(key_id)
        keys = {k: v for k, v in self.encryption_keys.items() if k != key_id}
        return PiiKeys(self.tokenize_key, self.active_key_id, keys)


def generate_keys(key_id: str = "k1") -> PiiKeys:
    """Fresh random keys (``os.urandom``): what ``lumina settings-import`` stores when the connection is absent."""
    return PiiKeys(os.urandom(KEY_BYTES), key_id, {key_id: os.urandom(KEY_BYTES)})


def _decode(value: Any, what: str, source: str) -> bytes:
    if not isinstance(value, str):
        raise PiiKeyError(f"{source}: {what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PiiKeyError(f"{source}: {what} is not valid base64") from None


def parse_keys(text: str | None, source: str = "the PII keys") -> PiiKeys:
    """Read the connection password's JSON; ``source`` names the connection in errors."""
    if not text:
        raise PiiKeyError(f"{source}: the password is empty; it must hold the keys JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # The decoder's message quotes the text: leave it out.
        raise PiiKeyError(f"{source}: the password is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("encrypt"), dict):
        raise PiiKeyError(f"{source}: expected {{'tokenize': ..., 'encrypt': {{'active': ..., 'keys': {{...}}}}}}")
    encrypt = data["encrypt"]
    raw_keys = encrypt.get("keys")
    if not isinstance(raw_keys, dict) or not raw_keys:
        raise PiiKeyError(f"{source}: encrypt.keys must map key ids to base64 keys")
    active = encrypt.get("active")
    if not isinstance(active, str):
        raise PiiKeyError(f"{source}: encrypt.active must name a key id")
    try:
        return PiiKeys(
            _decode(data.get("tokenize"), "tokenize", source),
            active,
            {str(k): _decode(v, f"encrypt.keys.{k}", source) for k, v in raw_keys.items()},
        )
    except PiiKeyError as exc:
        message = str(exc)
        raise PiiKeyError(message if message.startswith(source) else f"{source}: {message}") from None


def default_conn_id() -> str:
    from lumina_integration.protection.settings import data_protection

    return data_protection().pii.keys_conn_id


def load_keys(conn_id: str | None = None) -> PiiKeys:
    """The keys from the Airflow connection (``pii.keys_conn_id`` when ``conn_id`` is None)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    conn_id = conn_id or default_conn_id()
    try:
        password = BaseHook.get_connection(conn_id).password
    except AirflowNotFoundException:
        # Outside a task, in a process that ran dag.test() (the demo's comparisons), the SDK lookup goes to the
        # finished in-process supervisor and misses the metadata database's connections: read it there.
        from sqlalchemy.exc import SQLAlchemyError

        from lumina_integration.settings import stored_connection_password

        try:
            password = stored_connection_password(conn_id)
        except SQLAlchemyError:  # no metadata database (not migrated): no such connection either
            password = None
        if password is None:
            raise PiiKeyError(
                f"no Airflow connection {conn_id!r} holds the PII keys: run `lumina settings-import` "
                "(creates it with fresh keys) or define it in the secrets backend"
            ) from None
    return parse_keys(password, f"connection {conn_id!r}")


def keys_connection(keys: PiiKeys) -> dict[str, Any]:
    """The connection's fields (``lumina_integration.settings.save_connections`` shape)."""
    return {"conn_type": "generic", "password": keys.to_json()}
