"""The transform step's guard: erased subjects' rows are withheld whether the value is tokenized yet or not."""

from __future__ import annotations

import pyarrow as pa

from lumina_integration.protection.crypto import tokenize_text
from lumina_integration.protection.erasure import ErasedSubjects

KEY = b"k" * 32


def test_rows_holding_an_erased_token_or_its_clear_value_are_withheld_and_counted() -> None:
    token = tokenize_text(KEY, "jane@example.org")
    guard = ErasedSubjects(frozenset({token}), KEY, ["email", "phone"])
    table = pa.table(
        {
            "source_id": ["1", "2", "3", "4"],
            "email": [token, "jane@example.org", "john@example.org", None],  # tokenized, clear (keep), other, null
            "phone": [None, None, None, None],
        }
    )
    kept = guard.withhold(table)
    assert kept.column("source_id").to_pylist() == ["3", "4"]
    assert guard.withheld == 2
    guard.withhold(table.slice(0, 1))
    assert guard.withheld == 3, "counts add up over the run's batches"


def test_no_erasure_recorded_leaves_every_batch_as_it_is() -> None:
    guard = ErasedSubjects(frozenset(), b"", [])
    table = pa.table({"email": ["jane@example.org"]})
    assert guard.withhold(table) is table and guard.withheld == 0
