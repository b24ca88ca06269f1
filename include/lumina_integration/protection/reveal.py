"""Authorised decryption in Python: the clear values of encrypted columns, keys from the Airflow connection.

For readers allowed to see personal data (and for reverse ETL, which writes a system of record back). Every
value's GCM tag is verified: an altered ciphertext, or one copied from another column, raises
:class:`~lumina_integration.protection.crypto.DecryptError`. Tokens and masks are one-way: they stay as stored.

    from lumina_integration.protection.reveal import reveal, reveal_table
    reveal("customer", "phone", "enc:v1:k1:...")     # -> "+1 555 0100"
    reveal_table("customer", arrow_table)            # every encrypted column present, decrypted
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.protection.keys import PiiKeys


def _policy_actions(entity: str) -> dict[str, str]:
    from lumina_integration.canonical.registry import load_entity
    from lumina_integration.protection.policy import entity_policy

    return dict(entity_policy(load_entity(entity)).actions)


def reveal(entity: str, column: str, value: str | None, keys: PiiKeys | None = None) -> str | None:
    """The clear text of one ciphertext of ``entity.column`` (None stays None)."""
    from lumina_integration.protection.crypto import decrypt_text
    from lumina_integration.protection.keys import load_keys

    if value is None:
        return None
    return decrypt_text(keys or load_keys(), entity, column, value)


def reveal_table(
    entity: str, table: pa.Table, keys: PiiKeys | None = None, columns: dict[str, str] | None = None
) -> pa.Table:
    """``table`` with every column the entity's policy encrypts decrypted.

    ``columns``: table column -> entity column, when the table names them differently (default: the same).
    """
    from lumina_integration.protection.crypto import decrypt_array
    from lumina_integration.protection.keys import load_keys

    names = columns or {name: name for name in table.column_names}
    encrypted = {t: c for t, c in names.items() if _policy_actions(entity).get(c) == "encrypt"}
    if not encrypted:
        return table
    keys = keys or load_keys()
    for name, column in encrypted.items():
        i = table.column_names.index(name)
        clear = decrypt_array(keys, entity, column, table.column(name))
        table = table.set_column(i, table.schema.field(i).with_type(clear.type), clear)
    return table
