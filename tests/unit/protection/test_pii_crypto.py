"""Token, ciphertext and mask formats, one value and over Arrow arrays."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pyarrow as pa
import pytest

from lumina_integration.protection.crypto import (
    DecryptError,
    decrypt_array,
    decrypt_text,
    encrypt_array,
    encrypt_text,
    key_id_of,
    mask_array,
    mask_text,
    tokenize_array,
    tokenize_text,
)
from lumina_integration.protection.keys import generate_keys

KEYS = generate_keys()


def test_a_token_is_the_hex_hmac_sha256_of_the_utf8_value() -> None:
    key = b"k" * 32
    assert (
        tokenize_text(key, "zoë@example.com") == hmac.new(key, "zoë@example.com".encode(), hashlib.sha256).hexdigest()
    )
    assert len(tokenize_text(key, "")) == 64
    assert tokenize_text(key, "a") != tokenize_text(b"j" * 32, "a")


def test_tokenize_array_matches_the_single_value_function_and_keeps_nulls() -> None:
    values = pa.chunked_array([["a@x.io", None, "b@x.io"], ["a@x.io", ""]])
    tokens = tokenize_array(KEYS.tokenize_key, values)
    assert tokens.to_pylist() == [
        tokenize_text(KEYS.tokenize_key, "a@x.io"),
        None,
        tokenize_text(KEYS.tokenize_key, "b@x.io"),
        tokenize_text(KEYS.tokenize_key, "a@x.io"),
        tokenize_text(KEYS.tokenize_key, ""),
    ]
    assert tokenize_array(KEYS.tokenize_key, pa.nulls(3, pa.string())).to_pylist() == [None] * 3
    assert tokenize_array(KEYS.tokenize_key, pa.array([], pa.string())).to_pylist() == []


def test_a_ciphertext_names_its_key_and_decrypts_only_for_its_column() -> None:
    value = encrypt_text(KEYS, "customer", "phone", "+1 555 0100")
    prefix, version, key_id, body = value.split(":")
    assert (prefix, version, key_id) == ("enc", "v1", "k1")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) == 12 + len("+1 555 0100") + 16 and "=" not in body
    assert key_id_of(value) == "k1"
    assert decrypt_text(KEYS, "customer", "phone", value) == "+1 555 0100"
    # A synthetic nonce: the same value, column and key encrypt the same; anything else changes the nonce.
    assert encrypt_text(KEYS, "customer", "phone", "+1 555 0100") == value
    others = {
        encrypt_text(KEYS, "customer", "phone", "+1 555 0101"),
        encrypt_text(KEYS, "contact", "phone", "+1 555 0100"),
        encrypt_text(KEYS.with_new_key(), "customer", "phone", "+1 555 0100"),
    }
    nonces = {base64.urlsafe_b64decode(v.rsplit(":", 1)[1] + "==")[:12] for v in {value, *others}}
    assert len(nonces) == 4
    with pytest.raises(DecryptError, match=r"does not authenticate for contact\.phone"):
        decrypt_text(KEYS, "contact", "phone", value)


def test_an_altered_ciphertext_or_unknown_key_is_refused() -> None:
    value = encrypt_text(KEYS, "customer", "phone", "+1 555 0100")
    body = value.rsplit(":", 1)[1]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(DecryptError, match="does not authenticate"):
        decrypt_text(KEYS, "customer", "phone", value.rsplit(":", 1)[0] + ":" + flipped)
    with pytest.raises(DecryptError, match="not a ciphertext"):
        decrypt_text(KEYS, "customer", "phone", "+1 555 0100")
    other = generate_keys().with_new_key()
    with pytest.raises(ValueError, match="no encryption key 'k2'"):
        decrypt_text(KEYS, "customer", "phone", encrypt_text(other, "customer", "phone", "x"))


def test_encrypt_array_round_trips_and_keeps_nulls() -> None:
    values = pa.array(["+1 555 0100", None, "+1 555 0100", "ü"])
    sealed = encrypt_array(KEYS, "person", "phone", values)
    assert sealed.null_count == 1
    assert sealed[0].as_py() == sealed[2].as_py() == encrypt_text(KEYS, "person", "phone", "+1 555 0100")
    assert decrypt_array(KEYS, "person", "phone", sealed).to_pylist() == values.to_pylist()


def test_encrypt_under_a_named_key() -> None:
    keys = KEYS.with_new_key()
    assert key_id_of(encrypt_text(keys, "a", "b", "x")) == "k2"
    assert key_id_of(encrypt_text(keys, "a", "b", "x", key_id="k1")) == "k1"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("jane.doe@example.com", "j***@example.com"),
        ("+1 (555) 010-0112", "***12"),
        ("5550100", "***00"),
        ("Jane", "J***"),
        ("123", "1***"),  # too few digits for a phone: text
        ("", ""),
        ("@example.com", "@***"),
    ],
)
def test_masks_keep_a_hint(value: str, masked: str) -> None:
    assert mask_text(value) == masked


def test_mask_array_is_per_value_and_keeps_nulls() -> None:
    assert mask_array(pa.array(["a@b.c", None, "a@b.c"])).to_pylist() == ["a***@b.c", None, "a***@b.c"]


def test_non_string_arrays_are_refused() -> None:
    with pytest.raises(TypeError, match="string values, not int64"):
        tokenize_array(KEYS.tokenize_key, pa.array([1, 2]))
