"""The PII policy in the transform step: after the mapping, before anything is written.

- runs the clear-value checks of protected columns (:mod:`.checks`) and rejects the failing rows (their
  quarantine record is the canonical row, protected, under stage ``validate``: an expectation failed);
- protects the canonical columns (:mod:`.policy`);
- protects the raw source records the transform quarantines: every source field a protected column reads
  (``from``, ``coalesce``, ``concat``) gets that column's action, and a malformed record's raw text
  (``_lumina_raw``) the strictest action of the entity's protected fields, since its fields cannot be told apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lumina_integration.protection.policy import EntityPolicy, entity_policy
from lumina_integration.protection.settings import PiiAction, PiiSettings

if TYPE_CHECKING:
    import pyarrow as pa

    from lumina_integration.canonical.schema import EntitySchema
    from lumina_integration.protection.keys import PiiKeys
    from lumina_integration.quality.suite import ExpectationSpec
    from lumina_integration.transforms.apply import TransformResult
    from lumina_integration.transforms.mapping import Mapping

# When one source field feeds columns with different actions, the record gets the one that reveals least.
STRICTNESS: dict[PiiAction, int] = {"keep": 0, "mask": 1, "tokenize": 2, "encrypt": 3, "drop": 4}
RAW_TEXT = "_lumina_raw"  # transforms.apply.SOURCE_RAW (not imported: that module imports quarantine)


@dataclass(frozen=True)
class TransformProtection:
    policy: EntityPolicy
    keys: PiiKeys | None
    checks: list[ExpectationSpec] = field(default_factory=list)
    # source field (lower case) -> (action, the canonical column whose AAD an encrypted value carries)
    source_fields: dict[str, tuple[PiiAction, str]] = field(default_factory=dict)

    @classmethod
    def for_mapping(
        cls, mapping: Mapping, schema: EntitySchema, settings: PiiSettings | None = None, keys: PiiKeys | None = None
    ) -> TransformProtection:
        from lumina_integration.protection.checks import clear_checks

        policy = entity_policy(schema, settings)
        if keys is None and policy.needs_keys:
            from lumina_integration.protection.keys import load_keys

            keys = load_keys()
        fields: dict[str, tuple[PiiAction, str]] = {}
        for column, action in policy.actions.items():
            rule = mapping.columns.get(column)
            for name in rule.source_fields() if rule is not None else []:
                known = fields.get(name.lower())
                if known is None or STRICTNESS[action] > STRICTNESS[known[0]]:
                    fields[name.lower()] = (action, column)
        if fields:
            strictest = max(fields.values(), key=lambda item: STRICTNESS[item[0]])
            fields[RAW_TEXT] = (strictest[0], RAW_TEXT)
        return cls(policy, keys, clear_checks(schema, policy) if policy.actions else [], fields)

    @property
    def withheld(self) -> frozenset[str]:
        """Source fields whose values a rejection reason must not quote."""
        return frozenset(self.source_fields)

    def apply(self, result: TransformResult) -> TransformResult:
        """``result`` with clear-check failures rejected and every protected value replaced."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from lumina_integration.protection.checks import run_clear_checks
        from lumina_integration.quarantine import quarantine_rows
        from lumina_integration.transforms.apply import TransformResult

        canonical, rejected = result.canonical, self.quarantine(result.rejected)
        if self.checks:
            outcome = run_clear_checks(canonical, self.checks)
            if pc.any(outcome.failed).as_py():
                bad = self.policy.protect(canonical.filter(outcome.failed), self.keys)
                reasons = [r for r in outcome.reasons if r is not None]
                rejected = pa.concat_tables([rejected, quarantine_rows("validate", bad, reasons)])
                canonical = canonical.filter(pc.invert(outcome.failed))
        return TransformResult(self.policy.protect(canonical, self.keys), rejected)

    def quarantine(self, rows: pa.Table) -> pa.Table:
        """Quarantine rows whose ``record`` (a raw source record as JSON) holds no clear protected field."""
        import pyarrow as pa

        from lumina_integration.quarantine import RECORD

        if not self.source_fields or rows.num_rows == 0:
            return rows
        records = [
            json.dumps(self._protect_record(json.loads(r)), ensure_ascii=False, sort_keys=True)
            for r in rows.column(RECORD).to_pylist()
        ]
        i = rows.column_names.index(RECORD)
        return rows.set_column(i, rows.schema.field(i), pa.array(records, pa.string()))

    def _protect_record(self, record: dict[str, Any]) -> dict[str, Any]:
        from lumina_integration.protection import crypto

        for name, value in record.items():
            found = self.source_fields.get(name.lower())
            if found is None or value is None:
                continue
            action, column = found
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            if action == "drop":
                record[name] = None
            elif action == "mask":
                record[name] = crypto.mask_text(text)
            elif action == "tokenize":
                assert self.keys is not None
                record[name] = crypto.tokenize_text(self.keys.tokenize_key, text)
            elif action == "encrypt":
                assert self.keys is not None
                record[name] = crypto.encrypt_text(self.keys, self.policy.entity, column, text)
        return record
