"""Authorised decryption in Python: the keys from the connection, every tag verified."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lumina_integration.protection.crypto import DecryptError, encrypt_text, tokenize_text
from lumina_integration.protection.keys import load_keys
from lumina_integration.protection.reveal import reveal, reveal_table


def test_reveal_decrypts_with_the_connections_keys() -> None:
    keys = load_keys()
    assert reveal("customer", "phone", encrypt_text(keys, "customer", "phone", "+1 555 0100")) == "+1 555 0100"
    assert reveal("customer", "phone", None) is None
    with pytest.raises(DecryptError, match="does not authenticate"):
        reveal("customer", "phone", encrypt_text(keys, "person", "phone", "+1 555 0100"))


def test_reveal_table_decrypts_the_encrypted_columns_only() -> None:
    keys = load_keys()
    token = tokenize_text(keys.tokenize_key, "a@b.io")
    table = pa.table(
        {
            "source_id": ["1", "2"],
            "email": [token, None],
            "phone": [encrypt_text(keys, "customer", "phone", "+1 555 0100"), None],
        }
    )
    clear = reveal_table("customer", table)
    assert clear.column("phone").to_pylist() == ["+1 555 0100", None]
    assert clear.column("email").to_pylist() == [token, None]  # a token is one-way
    assert reveal_table("customer", table.drop_columns(["phone"])).equals(table.drop_columns(["phone"]))
