"""Authorised decryption in Postgres SQL, with pgcrypto only (no PL/Python here).

pgcrypto has no GCM. AES-GCM's ciphertext is AES-CTR of the clear text with the counter blocks
``nonce(12) || uint32 big-endian (2, 3, ...)`` (counter 1 encrypts the tag), so the clear text is the ciphertext
XOR ``AES-ECB(key, counter blocks)``, which pgcrypto's ``encrypt(blocks, key, 'aes-ecb/pad:none')`` computes.

What this function does NOT do: verify the GCM tag (nor, with it, the AAD ``entity.column``). A value altered in
the database, or copied from another column, decrypts to garbage or to another column's clear text without an
error. Readers who need that guarantee use the Python helper (:mod:`.reveal`), which verifies every tag.

The key is never stored in the database: the caller passes it per call, as a bind parameter, from a session
that read it from the keys connection (:func:`session_key` gives it as base64). Mind server-side statement
logging (``log_statement = all`` logs bind values) on such sessions.

    SELECT lumina_pii_decrypt(phone, decode(:key, 'base64')) FROM customer
    WHERE lumina_pii_key_id(phone) = :key_id
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from lumina_integration.protection.keys import PiiKeys

FUNCTION = "lumina_pii_decrypt"
KEY_ID_FUNCTION = "lumina_pii_key_id"


def _ddl(schema: str, crypto_schema: str) -> list[str]:
    s, c = _quote(schema), _quote(crypto_schema)
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.{KEY_ID_FUNCTION}(value text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT CASE WHEN value LIKE 'enc:v1:%' THEN split_part(value, ':', 3) END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.{FUNCTION}(value text, key bytea) RETURNS text
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
        AS $$
        -- AES-GCM decryption WITHOUT the tag check: CTR mode with counter blocks nonce || uint32(2, 3, ...).
        DECLARE
            body text;
            raw bytea;
            nonce bytea;
            sealed bytea;
            counters bytea := ''::bytea;
            stream bytea;
        BEGIN
            IF split_part(value, ':', 1) <> 'enc' OR split_part(value, ':', 2) <> 'v1' THEN
                RAISE EXCEPTION 'not a lumina ciphertext (expected enc:v1:<key id>:...)';
            END IF;
            IF length(key) <> 32 THEN
                RAISE EXCEPTION 'the key must be 32 bytes';
            END IF;
            body := translate(split_part(value, ':', 4), '-_', '+/');
            raw := decode(body || repeat('=', (4 - length(body) % 4) % 4), 'base64');
            IF length(raw) < 28 THEN
                RAISE EXCEPTION 'not a lumina ciphertext (too short)';
            END IF;
            nonce := substring(raw FROM 1 FOR 12);
            sealed := substring(raw FROM 13 FOR length(raw) - 28);
            IF length(sealed) = 0 THEN
                RETURN '';
            END IF;
            FOR i IN 0 .. (length(sealed) + 15) / 16 - 1 LOOP
                counters := counters || nonce || int4send(i + 2);
            END LOOP;
            stream := {c}.encrypt(counters, key, 'aes-ecb/pad:none');
            FOR i IN 0 .. length(sealed) - 1 LOOP
                sealed := set_byte(sealed, i, get_byte(sealed, i) # get_byte(stream, i));
            END LOOP;
            RETURN convert_from(sealed, 'UTF8');
        END
        $$""",
    ]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def install(conn: Connection, schema: str) -> str:
    """Create (or replace) the functions in ``schema``; pgcrypto must be installed (``CREATE EXTENSION pgcrypto``,
    by a role allowed to). Returns the schema pgcrypto lives in."""
    found = conn.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pgcrypto'"
        )
    ).scalar_one_or_none()
    if found is None:
        raise RuntimeError("pgcrypto is not installed in this database: CREATE EXTENSION pgcrypto (needs privileges)")
    for statement in _ddl(schema, found):
        conn.execute(text(statement))
    return str(found)


def session_key(keys: PiiKeys, key_id: str) -> str:
    """The encryption key ``key_id`` as base64, to bind as ``:key`` in a session (never store it)."""
    return base64.b64encode(keys.encryption_key(key_id)).decode("ascii")
