"""Key rotation: re-encrypt every encrypted value in the warehouse under one key id.

``lumina pii new-key`` adds a key and makes it active (new loads use it); ``lumina pii rotate --to KEY`` then moves
what is already stored: per canonical table (the newest schema of each entity) the columns the policy encrypts,
and the quarantine table's records (their encrypted fields). One transaction per table, read and rewritten in
batches of ``batch_rows`` by primary key, so a failure leaves a table wholly on the old or wholly on the new key
and memory stays bounded; afterwards no value of those tables is under another key id (:func:`remaining`
counts them). Then ``lumina pii retire-key OLD`` removes the old key.

A load that read the keys before ``new-key`` may still write a value under the old key: run the rotation again
(it only touches values under other keys) before retiring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from lumina_integration.protection.crypto import CIPHERTEXT_PREFIX, DecryptError, decrypt_text, encrypt_text

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from lumina_integration.canonical.schema import EntitySchema
    from lumina_integration.protection.keys import PiiKeys
    from lumina_integration.protection.settings import PiiSettings
    from lumina_integration.warehouse.dialects import Dialect

BATCH_ROWS = 5_000


@dataclass
class RotationReport:
    key_id: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows re-encrypted
    values: dict[str, int] = field(default_factory=dict)  # table -> values re-encrypted

    def describe(self) -> list[str]:
        lines = [f"{t}: {self.rows[t]:,} rows, {self.values[t]:,} values re-encrypted" for t in sorted(self.rows)]
        return [*lines, f"every encrypted value is under {self.key_id}"]


def _stale(d: Dialect, column: str, prefix: str) -> str:
    """SQL: ``column`` holds a ciphertext under another key than ``prefix``'s (no LIKE: key ids may hold '_')."""
    q = d.quote(column)
    return (
        f"({q} IS NOT NULL AND SUBSTR({q}, 1, {len(CIPHERTEXT_PREFIX)}) = '{CIPHERTEXT_PREFIX}' "
        f"AND SUBSTR({q}, 1, {len(prefix)}) <> '{prefix}')"
    )


def encrypted_tables(settings: PiiSettings | None = None) -> list[tuple[EntitySchema, list[str]]]:
    """Each canonical entity (newest version) with the columns its policy encrypts, when any."""
    from lumina_integration.canonical.registry import load_entity, schema_files
    from lumina_integration.protection.policy import entity_policy

    found = []
    for entity in sorted({name for name, _ in schema_files()}):
        schema = load_entity(entity)
        columns = [c for c, action in entity_policy(schema, settings).actions.items() if action == "encrypt"]
        if columns:
            found.append((schema, columns))
    return found


def _prefix(key_id: str) -> str:
    return f"{CIPHERTEXT_PREFIX}{key_id}:"


def _rotate_entity(
    conn: Connection,
    d: Dialect,
    schema_name: str,
    entity: EntitySchema,
    columns: list[str],
    keys: PiiKeys,
    to: str,
    batch_rows: int,
) -> tuple[int, int] | None:
    from lumina_integration.warehouse.ddl import existing_columns

    present = existing_columns(conn, schema_name, entity.entity)
    columns = [c for c in columns if c in present]
    if not columns:
        return None
    key = entity.primary_key
    stale = " OR ".join(_stale(d, c, _prefix(to)) for c in columns)
    select = text(
        f"SELECT {', '.join(d.quote(c) for c in [*key, *columns])} FROM {d.table(schema_name, entity.entity)} "
        f"WHERE {stale} ORDER BY {', '.join(d.quote(k) for k in key)} LIMIT {int(batch_rows)}"
    )
    sets = ", ".join(f"{d.quote(c)} = :v{i}" for i, c in enumerate(columns))
    where = " AND ".join(f"{d.quote(k)} = :k{i}" for i, k in enumerate(key))
    update = text(f"UPDATE {d.table(schema_name, entity.entity)} SET {sets} WHERE {where}")
    rows = values = 0
    # Rewritten rows no longer match the filter: each round reads the next batch, until none is left.
    while batch := conn.execute(select).all():
        params = []
        for row in batch:
            item: dict[str, Any] = {f"k{i}": row[i] for i in range(len(key))}
            for i, column in enumerate(columns):
                value = row[len(key) + i]
                if isinstance(value, str) and value.startswith(CIPHERTEXT_PREFIX) and not value.startswith(_prefix(to)):
                    clear = decrypt_text(keys, entity.entity, column, value)
                    value = encrypt_text(keys, entity.entity, column, clear, key_id=to)
                    values += 1
                item[f"v{i}"] = value
            params.append(item)
        conn.execute(update, params)
        rows += len(batch)
    return rows, values


def _rotate_record(record: dict[str, Any], entity: str, candidates: list[str], keys: PiiKeys, to: str) -> int:
    """Re-encrypt the ciphertexts of one quarantine record in place; returns how many."""
    done = 0
    for name, value in record.items():
        if not (isinstance(value, str) and value.startswith(CIPHERTEXT_PREFIX)) or value.startswith(_prefix(to)):
            continue
        # The AAD is the canonical column a raw field fed: the tag tells which candidate it was.
        for column in [name, *candidates]:
            try:
                clear = decrypt_text(keys, entity, column, value)
            except DecryptError:
                continue
            record[name] = encrypt_text(keys, entity, column, clear, key_id=to)
            done += 1
            break
        else:
            raise DecryptError(f"quarantine record of {entity}: field {name!r} does not decrypt for any column")
    return done


def _rotate_quarantine(
    conn: Connection,
    d: Dialect,
    schema_name: str,
    encrypted: dict[str, list[str]],
    keys: PiiKeys,
    to: str,
    batch_rows: int,
) -> tuple[int, int]:
    from lumina_integration.protection.step import RAW_TEXT
    from lumina_integration.warehouse.ddl import QUARANTINE_TABLE, existing_columns

    if not existing_columns(conn, schema_name, QUARANTINE_TABLE) or not encrypted:
        return 0, 0
    table = d.table(schema_name, QUARANTINE_TABLE)
    entities = ", ".join(f"'{e}'" for e in sorted(encrypted))  # entity names are checked identifiers
    # The LIKE only narrows the read; each record is checked field by field in Python. Read by keyset over
    # (entity, record): a rewritten record may sort later and be read again, and then has nothing to rotate.
    select = text(
        f"SELECT DISTINCT entity, record FROM {table} WHERE entity IN ({entities}) "
        f"AND record LIKE '%{CIPHERTEXT_PREFIX}%' AND (entity > :e OR (entity = :e AND record > :r)) "
        f"ORDER BY entity, record LIMIT {int(batch_rows)}"
    )
    update = text(f"UPDATE {table} SET record = :new WHERE entity = :entity AND record = :old")
    rows = values = 0
    after = {"e": "", "r": ""}
    while batch := conn.execute(select, after).all():
        params = []
        for entity, old in batch:
            record = json.loads(old)
            count = _rotate_record(record, entity, [*encrypted[entity], RAW_TEXT], keys, to)
            if count:
                new = json.dumps(record, ensure_ascii=False, sort_keys=True)
                params.append({"entity": entity, "old": old, "new": new})
                values += count
        # Deterministic ciphertexts: equal records stay equal, so one UPDATE per distinct record rewrites them all.
        for item in params:
            rows += conn.execute(update, item).rowcount or 0
        after = {"e": batch[-1][0], "r": batch[-1][1]}
    return rows, values


def rotate(
    engine: Engine,
    schema_name: str,
    keys: PiiKeys,
    to: str,
    *,
    settings: PiiSettings | None = None,
    batch_rows: int = BATCH_ROWS,
) -> RotationReport:
    """Re-encrypt every encrypted value of the warehouse under ``to`` (a key id of ``keys``)."""
    from lumina_integration.warehouse.dialects import dialect_for

    keys.encryption_key(to)  # unknown ids fail before any table is touched
    report = RotationReport(to)
    tables = encrypted_tables(settings)
    for entity, columns in tables:
        with engine.begin() as conn:
            done = _rotate_entity(conn, dialect_for(conn), schema_name, entity, columns, keys, to, batch_rows)
        if done is not None:  # None: the warehouse has no such table (or not those columns)
            report.rows[entity.entity], report.values[entity.entity] = done
    from lumina_integration.warehouse.ddl import QUARANTINE_TABLE

    with engine.begin() as conn:
        report.rows[QUARANTINE_TABLE], report.values[QUARANTINE_TABLE] = _rotate_quarantine(
            conn, dialect_for(conn), schema_name, {e.entity: c for e, c in tables}, keys, to, batch_rows
        )
    return report


def remaining(engine: Engine, schema_name: str, to: str, settings: PiiSettings | None = None) -> dict[str, int]:
    """Rows of the canonical tables still holding a value under another key than ``to`` (all 0 after a rotation)."""
    from lumina_integration.warehouse.ddl import existing_columns
    from lumina_integration.warehouse.dialects import dialect_for

    counts = {}
    with engine.connect() as conn:
        d = dialect_for(conn)
        for entity, columns in encrypted_tables(settings):
            present = [c for c in columns if c in existing_columns(conn, schema_name, entity.entity)]
            if present:
                stale = " OR ".join(_stale(d, c, _prefix(to)) for c in present)
                query = f"SELECT COUNT(*) FROM {d.table(schema_name, entity.entity)} WHERE {stale}"
                counts[entity.entity] = int(conn.execute(text(query)).scalar_one())
    return counts
