"""The PII keys connection: read from Airflow, errors that never show key material, new keys and retiring."""

from __future__ import annotations

import base64
import json

import pytest

from lumina_integration.protection.keys import PiiKeyError, generate_keys, load_keys, parse_keys


def test_the_session_connection_holds_generated_keys() -> None:
    keys = load_keys()  # AIRFLOW_CONN_LUMINA_PII_KEYS from conftest
    assert len(keys.tokenize_key) == 32
    assert keys.active_key_id == "k1"
    assert len(keys.encryption_key("k1")) == 32


def test_generated_keys_round_trip_through_the_password_json() -> None:
    keys = generate_keys()
    again = parse_keys(keys.to_json())
    assert again == keys
    assert generate_keys().tokenize_key != keys.tokenize_key  # random, not derived


def test_a_missing_connection_says_how_to_create_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PiiKeyError, match=r"no Airflow connection 'lumina_pii_nowhere'.*lumina settings-import"):
        load_keys("lumina_pii_nowhere")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "the password is empty"),
        ("{not json SECRETVALUE", "the password is not JSON"),
        (json.dumps({"tokenize": "x"}), "expected"),
        (json.dumps({"tokenize": "SECRET!!", "encrypt": {"active": "k1", "keys": {"k1": "QQ=="}}}), "not valid base64"),
        (
            json.dumps(
                {"tokenize": base64.b64encode(b"s" * 32).decode(), "encrypt": {"active": "k1", "keys": {"k1": "QQ=="}}}
            ),
            "encryption key 'k1' must be 32 bytes, not 1",
        ),
        (
            json.dumps(
                {
                    "tokenize": base64.b64encode(b"s" * 32).decode(),
                    "encrypt": {"active": "k9", "keys": {"k1": base64.b64encode(b"e" * 32).decode()}},
                }
            ),
            r"the active encryption key 'k9' is not among the keys \['k1'\]",
        ),
    ],
)
def test_malformed_keys_are_named_without_their_material(
    monkeypatch: pytest.MonkeyPatch, password: str, message: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LUMINA_PII_BROKEN", json.dumps({"conn_type": "generic", "password": password}))
    with pytest.raises(PiiKeyError, match=message) as excinfo:
        load_keys("lumina_pii_broken")
    text = str(excinfo.value)
    assert text.startswith("connection 'lumina_pii_broken': ")
    for secret in ("SECRET", "c3Nz", "ZWVl"):  # nor the base64 of the keys
        assert secret not in text


def test_repr_shows_key_ids_only() -> None:
    keys = generate_keys()
    shown = repr(keys)
    assert shown == "PiiKeys(active_key_id='k1', key_ids=['k1'])"
    assert base64.b64encode(keys.tokenize_key).decode() not in shown


def test_a_new_key_becomes_active_and_the_old_one_stays_for_decryption() -> None:
    keys = generate_keys()
    newer = keys.with_new_key()
    assert newer.active_key_id == "k2" and newer.key_ids == ["k1", "k2"]
    assert newer.encryption_key("k1") == keys.encryption_key("k1")
    assert newer.encryption_key("k2") != keys.encryption_key("k1")
    assert newer.tokenize_key == keys.tokenize_key  # tokens must not change
    with pytest.raises(PiiKeyError, match="already exists"):
        newer.with_new_key("k1")
    with pytest.raises(PiiKeyError, match="is the active key"):
        newer.without_key("k2")
    assert newer.without_key("k1").key_ids == ["k2"]
    with pytest.raises(PiiKeyError, match="must be 1-32 letters"):
        keys.with_new_key("bad:id")
