"""Right to erasure: find a data subject everywhere a pipeline put it, remove it, and keep it out.

``erase_subject`` (``lumina erase --subject ...`` and the ``lumina_erasure`` DAG):

1. computes the subject's tokens (``tokenize_text`` of the value as given, trimmed, and lower-cased: the forms
   mappings write) and records the request in ``lumina_erasures`` as ``running``, committed at once, so
   that from then on every transform run withholds the subject (:class:`ErasedSubjects`);
2. finds the subject's rows in every canonical table its pipelines load: a ``direct`` PII column whose
   action is ``tokenize`` equal to a token (or, for rows loaded before the policy, the clear value), a
   ``keep`` column equal to the clear value; ``encrypt``, ``mask`` and ``drop`` columns cannot be searched;
3. rewrites every raw, canonical and quarantine Parquet part holding the subject (:mod:`.erasure_lake`);
4. in one warehouse transaction: hard-deletes the matched canonical rows and the quarantine rows whose
   record holds a token, the clear value or the key of a matched row, and marks the ledger row ``done``
   with the counts per table and the parts rewritten.

Hard delete, not a tombstone: a tombstone would keep the row's other columns, which still describe the
person; the ledger, not the row, is what keeps the subject from coming back. The clear value is never
logged, stored or returned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lumina_integration.canonical.schema import PiiClass

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.canonical.schema import EntitySchema
    from lumina_integration.protection.retention import PipelineTargets
    from lumina_integration.protection.settings import PiiSettings

ERASED_ZONES = ("raw", "canonical", "quarantine")
KEY_EXEMPT = {"source_system"}  # a key column every row of a source shares: never evidence of the subject


def subject_forms(value: str) -> list[str]:
    """The forms of the subject's value searched for: as given (trimmed) and lower-cased."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("the subject is empty")
    return sorted({stripped, stripped.lower()})


@dataclass
class ErasureResult:
    erasure_id: str
    subject_token: str
    rows_removed: dict[str, Any] = field(default_factory=dict)
    parts_rewritten: int = 0
    parts_scanned: int = 0

    def to_xcom(self) -> dict[str, Any]:
        return {
            "erasure_id": self.erasure_id,
            "subject_token": self.subject_token,
            "rows_removed": self.rows_removed,
            "parts_rewritten": self.parts_rewritten,
            "parts_scanned": self.parts_scanned,
        }


def _searchable(schema: EntitySchema, settings: PiiSettings) -> list[tuple[str, str]]:
    """(column, action) of the entity's direct PII string columns that can be compared."""
    return [
        (c.name, action)
        for c in schema.columns
        if c.pii == PiiClass.DIRECT
        and c.type == "string"
        and (action := settings.action(schema.entity, c)) in ("tokenize", "keep")
    ]


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def erase_subject(
    value: str,
    *,
    reason: str,
    requested_by: str,
    targets: list[PipelineTargets],
    tokenize_key: bytes,
    pii: PiiSettings,
    warehouse: Callable[[str], Any],
    lake: Callable[[str], Any],
    erasure_id: str | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> ErasureResult:
    """Erase the subject ``value`` from every target; see the module's docstring for the steps."""
    from sqlalchemy import bindparam, text

    from lumina_integration.canonical.registry import load_entity
    from lumina_integration.protection.crypto import tokenize_text
    from lumina_integration.protection.erasure_lake import LakeErasure, SubjectMatch, erase_manifest, manifest_uris
    from lumina_integration.protection.erasure_ledger import close_erasure, open_erasure
    from lumina_integration.warehouse.ddl import QUARANTINE_TABLE
    from lumina_integration.warehouse.dialects import dialect_for

    forms = subject_forms(value)
    tokens = sorted({tokenize_text(tokenize_key, f) for f in forms})
    clear = sorted({f.lower() for f in forms})
    result = ErasureResult(erasure_id or uuid.uuid4().hex, tokenize_text(tokenize_key, value.strip()))

    for target in targets:
        wh = warehouse(target.warehouse_conn_id)
        engine, schema = wh.engine, wh.schema
        open_erasure(engine, schema, result.erasure_id, result.subject_token, tokens, requested_by, reason)
        with engine.connect() as conn:
            present = {
                r[0]
                for r in conn.execute(
                    text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
                )
            }
        # 2. the subject's rows per canonical table, and their keys (to find its quarantined records)
        predicates: dict[str, tuple[str, dict[str, Any]]] = {}
        keys: list[tuple[str, ...]] = []
        with engine.connect() as conn:
            d = dialect_for(conn)
            for entity in sorted(target.entities & present):
                entity_schema = load_entity(entity)
                columns = _searchable(entity_schema, pii)
                if not columns:
                    continue
                terms = []
                for name, action in columns:
                    column = d.quote(name)
                    terms.append(f"LOWER(TRIM({column})) IN :clear")
                    if action == "tokenize":
                        terms.append(f"{column} IN :tokens")
                predicates[entity] = (" OR ".join(terms), {"clear": clear, "tokens": tokens})
                key_columns = [c for c in entity_schema.primary_key if c not in KEY_EXEMPT]
                query = text(
                    f"SELECT {', '.join(d.quote(c) for c in key_columns)} FROM {d.table(schema, entity)} "
                    f"WHERE {predicates[entity][0]}"
                ).bindparams(bindparam("clear", expanding=True), bindparam("tokens", expanding=True))
                for row in conn.execute(query, predicates[entity][1]):
                    keys.append(tuple(json.dumps(str(v), ensure_ascii=False) for v in row))
        # 3. the lake
        lake_result = LakeErasure()
        match = SubjectMatch(clear=frozenset(clear), tokens=frozenset(tokens), keys=tuple(keys))
        for (lake_conn, bucket, zone, prefix), entities in sorted(target.prefixes.items()):
            if zone not in ERASED_ZONES:
                continue
            client = lake(lake_conn)
            for uri in manifest_uris(client, bucket, prefix):
                manifest, rewritten, removed = erase_manifest(client, uri, match)
                lake_result.manifests += 1
                lake_result.parts_scanned += len(manifest.parts)
                lake_result.parts_rewritten += rewritten
                lake_result.add(zone, ",".join(sorted(entities)), removed)
                if rewritten:
                    log(f"rewrote {rewritten} part(s) of {uri}: {removed} row(s) of the subject removed")
        # 4. the warehouse, in one transaction with the ledger's 'done'
        removed_rows: dict[str, int] = {}
        with engine.begin() as conn:
            d = dialect_for(conn)
            for entity, (where, params) in predicates.items():
                query = text(f"DELETE FROM {d.table(schema, entity)} WHERE {where}").bindparams(
                    bindparam("clear", expanding=True), bindparam("tokens", expanding=True)
                )
                n = conn.execute(query, params).rowcount
                if n:
                    removed_rows[entity] = int(n)
            if QUARANTINE_TABLE in present:
                terms, params = [], {}
                for i, token in enumerate(tokens):
                    terms.append(f"record LIKE :t{i} ESCAPE '\\'")
                    params[f"t{i}"] = _like(token)
                for i, form in enumerate(clear):
                    terms.append(f"LOWER(record) LIKE :c{i} ESCAPE '\\'")
                    params[f"c{i}"] = _like(form)
                for i, key in enumerate(keys):
                    parts = [f"record LIKE :k{i}_{j} ESCAPE '\\'" for j in range(len(key))]
                    terms.append("(" + " AND ".join(parts) + ")")
                    params.update({f"k{i}_{j}": _like(v) for j, v in enumerate(key)})
                n = conn.execute(
                    text(f"DELETE FROM {d.table(schema, QUARANTINE_TABLE)} WHERE {' OR '.join(terms)}"), params
                ).rowcount
                if n:
                    removed_rows[QUARANTINE_TABLE] = int(n)
            rows_removed = {"warehouse": removed_rows, "lake": lake_result.rows}
            close_erasure(conn, d, schema, result.erasure_id, rows_removed, lake_result.parts_rewritten)
        result.rows_removed[target.warehouse_conn_id] = rows_removed
        result.parts_rewritten += lake_result.parts_rewritten
        result.parts_scanned += lake_result.parts_scanned
        for table, n in sorted(removed_rows.items()):
            log(f"{target.warehouse_conn_id}: {n} row(s) of the subject removed from {table}")
    log(f"erasure {result.erasure_id}: {result.parts_rewritten} part(s) rewritten of {result.parts_scanned} scanned")
    return result


class ErasedSubjects:
    """The transform step's guard: canonical rows of an erased subject are withheld, and counted.

    Built once per run from the pipeline's warehouse ledger; with no erasure recorded it costs one query.
    A ``direct`` column's value is compared as a token: a token as it stands (the PII policy tokenized it),
    any other value through ``tokenize_text`` (a ``keep`` column, or a run before the policy applies).
    """

    def __init__(self, tokens: frozenset[str], tokenize_key: bytes, columns: list[str]):
        self.tokens, self._key, self.columns = tokens, tokenize_key, columns
        self.withheld = 0

    @classmethod
    def for_pipeline(cls, warehouse_conn_id: str, schema: EntitySchema) -> ErasedSubjects:
        from lumina_integration.protection.erasure_ledger import erased_tokens
        from lumina_integration.warehouse.connection import warehouse_target

        target = warehouse_target(warehouse_conn_id)
        tokens = erased_tokens(target.engine, target.schema)
        if not tokens:
            return cls(frozenset(), b"", [])
        from lumina_integration.protection.keys import load_keys

        columns = [c.name for c in schema.columns if c.pii == PiiClass.DIRECT and c.type == "string"]
        return cls(tokens, load_keys().tokenize_key, columns)

    def withhold(self, table: pa.Table) -> pa.Table:
        """``table`` without the erased subjects' rows (their number is added to :attr:`withheld`)."""
        if not self.tokens or table.num_rows == 0:
            return table
        import pyarrow as pa
        import pyarrow.compute as pc

        from lumina_integration.protection.crypto import is_token, map_distinct, tokenize_text

        def as_token(v: str) -> str:
            return v if is_token(v) else tokenize_text(self._key, v)

        erased = pa.array(sorted(self.tokens), pa.string())
        mask = pa.array([False] * table.num_rows)
        for name in self.columns:
            if name not in table.column_names:
                continue
            hit = pc.is_in(map_distinct(table.column(name), as_token), value_set=erased)
            mask = pc.or_(mask, pc.fill_null(hit, False))
        found = pc.sum(mask).as_py() or 0
        if not found:
            return table
        self.withheld += found
        return table.filter(pc.invert(mask))


def run_erasure(
    value: str, *, reason: str, requested_by: str, dags_dir: Any, log: Callable[[str], None] = lambda _l: None
) -> ErasureResult:
    """Erase ``value`` across every pipeline under ``dags_dir``, with the deployment's keys and connections."""
    from lumina_integration.protection.keys import load_keys
    from lumina_integration.protection.retention import pipeline_targets
    from lumina_integration.protection.settings import data_protection
    from lumina_integration.staging.s3 import s3_client
    from lumina_integration.warehouse.connection import warehouse_target

    return erase_subject(
        value,
        reason=reason,
        requested_by=requested_by,
        targets=pipeline_targets(dags_dir),
        tokenize_key=load_keys().tokenize_key,
        pii=data_protection().pii,
        warehouse=warehouse_target,
        lake=s3_client,
        log=log,
    )
