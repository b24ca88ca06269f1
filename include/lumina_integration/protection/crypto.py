"""The protected value formats: tokens, ciphertexts, masks; one value at a time and over Arrow arrays.

- token: 64 lower-case hex characters, HMAC-SHA256(tokenize key, value as UTF-8). Deterministic, so joins and
  dedupe across systems still work. Computed with the standard library's one-shot ``hmac.digest`` (OpenSSL's
  HMAC, the same primitive ``cryptography`` wraps, and a single C call per value: the hot path of tokenising
  a million rows).
- ciphertext: ``enc:v1:<key id>:<base64url, no padding, of nonce(12) || ciphertext || tag(16)>``, AES-256-GCM
  from ``cryptography`` with a random 96-bit nonce and AAD ``"<entity>.<column>"``: a value copied into another
  column does not decrypt there.
- mask: a fixed shape keeping a hint (see :func:`mask_text`), deterministic.

Arrays: tokens and masks are computed once per distinct value (dictionary-encode, map the dictionary, take),
ciphertexts once per value (each needs its own nonce). Errors never quote a value.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lumina_integration.protection.keys import PiiKeys

if TYPE_CHECKING:
    import pyarrow as pa

CIPHERTEXT_PREFIX = "enc:v1:"
NONCE_BYTES = 12
TAG_BYTES = 16
TOKEN_CHARS = 64
MASK = "***"
_TOKEN = re.compile(r"^[0-9a-f]{64}$")
_PHONE = re.compile(r"^[0-9+()./ \-]+$")


class DecryptError(ValueError):
    """A value that is not a ciphertext of this entity column under a known key (the message omits it)."""


def tokenize_text(key: bytes, value: str) -> str:
    """The token of one value: 64 lower-case hex chars of HMAC-SHA256."""
    return hmac.digest(key, value.encode("utf-8"), "sha256").hex()


def is_token(value: str) -> bool:
    return bool(_TOKEN.match(value))


def _aad(entity: str, column: str) -> bytes:
    return f"{entity}.{column}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt_text(keys: PiiKeys, entity: str, column: str, value: str, key_id: str | None = None) -> str:
    """One value encrypted under ``key_id`` (default: the active key)."""
    key_id = key_id or keys.active_key_id
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.encryption_key(key_id)).encrypt(nonce, value.encode("utf-8"), _aad(entity, column))
    return f"{CIPHERTEXT_PREFIX}{key_id}:{_b64(nonce + sealed)}"


def split_ciphertext(value: str) -> tuple[str, bytes]:
    """(key id, nonce || ciphertext || tag) of a ciphertext; DecryptError when it is not one."""
    if not value.startswith(CIPHERTEXT_PREFIX):
        raise DecryptError(f"not a ciphertext (expected the {CIPHERTEXT_PREFIX!r} prefix)")
    key_id, sep, body = value[len(CIPHERTEXT_PREFIX) :].partition(":")
    if not sep or not key_id:
        raise DecryptError("not a ciphertext (no key id)")
    try:
        raw = _unb64(body)
    except (binascii.Error, ValueError):
        raise DecryptError("not a ciphertext (the body is not base64url)") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise DecryptError("not a ciphertext (too short)")
    return key_id, raw


def key_id_of(value: str) -> str:
    """The key id a ciphertext was made under."""
    return split_ciphertext(value)[0]


def decrypt_text(keys: PiiKeys, entity: str, column: str, value: str) -> str:
    """The clear value of a ciphertext; the GCM tag is verified (DecryptError when it fails)."""
    key_id, raw = split_ciphertext(value)
    try:
        clear = AESGCM(keys.encryption_key(key_id)).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(entity, column))
    except InvalidTag:
        raise DecryptError(
            f"ciphertext under key {key_id!r} does not authenticate for {entity}.{column} "
            "(altered, or encrypted for another column)"
        ) from None
    return clear.decode("utf-8")


def mask_text(value: str) -> str:
    """A fixed mask keeping a hint, by the value's shape.

    - an e-mail keeps its first character and its domain: ``jane.doe@example.com`` -> ``j***@example.com``;
    - a phone number (digits and ``+()./ -`` only, at least 4 digits) keeps its last two digits: ``***12``;
    - any other text keeps its first character: ``Jane`` -> ``J***``; an empty string stays empty.
    """
    if not value:
        return value
    local, at, domain = value.rpartition("@")
    if at and local and domain:
        return f"{local[0]}{MASK}@{domain}"
    digits = [c for c in value if c.isdigit()]
    if len(digits) >= 4 and _PHONE.match(value):
        return f"{MASK}{''.join(digits[-2:])}"
    return f"{value[0]}{MASK}"


def _as_string(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    import pyarrow as pa

    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not pa.types.is_string(array.type):
        if not (pa.types.is_large_string(array.type) or pa.types.is_null(array.type)):
            raise TypeError(f"PII actions apply to string values, not {array.type}")
        array = array.cast(pa.string())
    return array


def map_distinct(values: pa.Array | pa.ChunkedArray, fn: Callable[[str], str]) -> pa.Array:
    """``fn`` applied once per distinct non-null value, nulls kept: a string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = _as_string(values)
    if len(array) == 0 or array.null_count == len(array):
        return pa.nulls(len(array), pa.string())
    encoded = pc.dictionary_encode(array)
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return mapped.take(encoded.indices)


def map_each(values: pa.Array | pa.ChunkedArray, fn: Callable[[str], str]) -> pa.Array:
    """``fn`` applied to every non-null value, nulls kept: a string array."""
    import pyarrow as pa

    return pa.array([None if v is None else fn(v) for v in _as_string(values).to_pylist()], pa.string())


def tokenize_array(key: bytes, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return map_distinct(values, lambda v: tokenize_text(key, v))


def mask_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return map_distinct(values, mask_text)


def encrypt_array(
    keys: PiiKeys, entity: str, column: str, values: pa.Array | pa.ChunkedArray, key_id: str | None = None
) -> pa.Array:
    key_id = key_id or keys.active_key_id
    cipher, aad, prefix = AESGCM(keys.encryption_key(key_id)), _aad(entity, column), f"{CIPHERTEXT_PREFIX}{key_id}:"

    def seal(value: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return prefix + _b64(nonce + cipher.encrypt(nonce, value.encode("utf-8"), aad))

    return map_each(values, seal)


def decrypt_array(keys: PiiKeys, entity: str, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return map_each(values, lambda v: decrypt_text(keys, entity, column, v))
