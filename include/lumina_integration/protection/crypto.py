"""The protected value formats: tokens, ciphertexts, masks; one value at a time and over Arrow arrays.

- token: 64 lower-case hex characters, HMAC-SHA256(tokenize key, value as UTF-8). Deterministic, so joins and
  dedupe across systems still work. Computed with the standard library's one-shot ``hmac.digest`` (OpenSSL's
  HMAC, the same primitive ``cryptography`` wraps, and a single C call per value: the hot path of tokenising
  a million rows).
- ciphertext: ``enc:v1:<key id>:<base64url, no padding, of nonce(12) || ciphertext || tag(16)>``, AES-256-GCM
  from ``cryptography`` with AAD ``"<entity>.<column>"`` (a value copied into another column does not decrypt
  there). The nonce is synthetic, as in SIV modes: the first 12 bytes of HMAC-SHA256 over AAD and value under a
  key derived from the encryption key (HKDF-SHA256). The same value in the same column under the same key
  therefore encrypts the same: the loader's change detection, the cursor guard's "unchanged" and dedupe keep
  working (a random nonce made every re-read row look changed). It reveals equality of values within a
  column, as a token does; two different values share a nonce only on a 96-bit HMAC collision (about n^2/2^97
  for n values: 2^-33 at four billion), and only that would break GCM.
- mask: a fixed shape keeping a hint (see :func:`mask_text`), deterministic.

Arrays: every format is computed once per distinct value (dictionary-encode, map the dictionary, take).
Errors never quote a value.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


@lru_cache(maxsize=16)
def _nonce_key(key: bytes) -> bytes:
    """The synthetic-nonce key of an encryption key (never the encryption key itself)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lumina pii synthetic nonce v1").derive(key)


class _Sealer:
    """Encrypts values of one entity column under one key."""

    def __init__(self, keys: PiiKeys, entity: str, column: str, key_id: str | None = None) -> None:
        self.key_id = key_id or keys.active_key_id
        key = keys.encryption_key(self.key_id)
        self.cipher, self.aad = AESGCM(key), _aad(entity, column)
        self.nonce_mac = hmac.new(_nonce_key(key), self.aad + b"\x00", digestmod="sha256")
        self.prefix = f"{CIPHERTEXT_PREFIX}{self.key_id}:"

    def __call__(self, value: str) -> str:
        clear = value.encode("utf-8")
        mac = self.nonce_mac.copy()  # HMAC(nonce key, AAD || 0x00 || value), the keyed state built once
        mac.update(clear)
        nonce = mac.digest()[:NONCE_BYTES]
        return self.prefix + _b64(nonce + self.cipher.encrypt(nonce, clear, self.aad))


def encrypt_text(keys: PiiKeys, entity: str, column: str, value: str, key_id: str | None = None) -> str:
    """One value encrypted under ``key_id`` (default: the active key)."""
    return _Sealer(keys, entity, column, key_id)(value)


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


def tokenize_array(key: bytes, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Tokens of every value (as :func:`tokenize_text`): the keyed HMAC state is copied, not rebuilt, per value."""
    keyed = hmac.new(key, digestmod="sha256")

    def token(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode("utf-8"))
        return mac.hexdigest()

    return map_distinct(values, token)


def mask_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return map_distinct(values, mask_text)


def encrypt_array(
    keys: PiiKeys, entity: str, column: str, values: pa.Array | pa.ChunkedArray, key_id: str | None = None
) -> pa.Array:
    return map_distinct(values, _Sealer(keys, entity, column, key_id))


def decrypt_array(keys: PiiKeys, entity: str, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return map_distinct(values, lambda v: decrypt_text(keys, entity, column, v))
