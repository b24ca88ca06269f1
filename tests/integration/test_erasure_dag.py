"""Right to erasure end to end: a loaded pipeline, the lumina_erasure DAG, then an incremental run.

Real DAG runs (dag.test) against moto's S3 server and the real Postgres. The subject is in the warehouse,
in the quarantine (a record of it failed validation) and in raw, canonical and quarantine parts; after the
erasure it is nowhere, every manifest still verifies, and a later run whose source still has it keeps it out.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lumina_sandbox import file_drops

CRM = "filedrop_crm_accounts"
SUBJECT = "Jane.Doe@Example.org"


def drop_with_subject(modified: Any, name: str, ids: range) -> file_drops.Drop:
    rng = random.Random(5)
    rows = [file_drops.account(i, rng, modified) for i in ids]
    rows[3]["Email"] = SUBJECT.lower()  # loads into the warehouse
    rows[7]["Email"] = SUBJECT  # the same person in another account, quarantined by validation
    rows[7]["Status"] = "Suspended"
    drop = file_drops.Drop()
    drop.files[f"crm/accounts/{name}.csv"] = file_drops._csv(rows)
    return drop


def lake_tables(h: Any) -> list[tuple[str, pa.Table]]:
    """Every part of every manifest in the lake, read through the checksum-verifying reader."""
    from lumina_integration.staging.parts import iter_tables, read_manifest

    pages = h.s3.get_paginator("list_objects_v2").paginate(Bucket="lumina-lake")
    found = []
    for page in pages:
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/manifest.json"):
                manifest = read_manifest(h.s3, f"s3://lumina-lake/{obj['Key']}")
                tables = list(iter_tables(h.s3, manifest))
                assert sum(t.num_rows for t in tables) == manifest.rows, obj["Key"]
                found += [(obj["Key"], t) for t in tables]
    return found


def holds(table: pa.Table, needles: list[str]) -> int:
    """Rows of ``table`` where any string column contains any needle (case-insensitive)."""
    mask = pa.array([False] * table.num_rows)
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type):
            for needle in needles:
                mask = pc.or_(mask, pc.fill_null(pc.match_substring(column, needle, ignore_case=True), False))
    return int(pc.sum(mask).as_py() or 0)


@pytest.mark.integration
def test_erasure_removes_the_subject_everywhere_and_a_later_run_keeps_it_out(harness: Any) -> None:
    from lumina_integration.protection.crypto import tokenize_text
    from lumina_integration.protection.keys import load_keys

    key = load_keys().tokenize_key
    tokens = sorted({tokenize_text(key, SUBJECT), tokenize_text(key, SUBJECT.lower())})
    needles = [SUBJECT, *tokens]
    harness.drop(drop_with_subject(file_drops.BASE_TIME, "full", range(1, 41)))
    harness.run_ok(CRM)
    customers = harness.count("customer")
    in_lake = sum(holds(t, needles) for _, t in lake_tables(harness))
    assert in_lake >= 4, "the subject is in the raw (2), canonical (2) and quarantine (1) parts before"
    assert harness.quarantined(CRM) >= 1

    run = harness.bag.dags["lumina_erasure"].test(run_conf={"subject": SUBJECT, "reason": "ticket GDPR-1"})
    assert str(run.state) == "success", harness.states(run)
    result = run.get_task_instance("erase_subject").xcom_pull(task_ids="erase_subject")
    removed = result["rows_removed"]["lumina_warehouse"]
    assert removed["warehouse"] == {"customer": 1, "lumina_quarantine": 1}
    assert set(removed["lake"]) == {"raw", "canonical", "quarantine"}
    assert result["parts_rewritten"] >= 3

    assert harness.count("customer") == customers - 1
    assert harness.quarantined(CRM) == 0, "the only quarantined record was the subject's"
    for key_name, table in lake_tables(harness):
        assert holds(table, needles) == 0, key_name
    [(token, match, status, parts, rows_json, reason)] = harness.rows(
        "SELECT subject_token, match_tokens, status, parts_rewritten, rows_removed, reason FROM {s}.lumina_erasures"
    )
    assert token == tokenize_text(key, SUBJECT) and sorted(json.loads(match)) == tokens
    assert (status, parts, reason) == ("done", result["parts_rewritten"], "ticket GDPR-1")
    assert json.loads(rows_json)["warehouse"] == {"customer": 1, "lumina_quarantine": 1}
    ledger = " ".join(str(v) for row in harness.rows("SELECT * FROM {s}.lumina_erasures") for v in row)
    assert SUBJECT.lower() not in ledger.lower(), "the ledger never holds the clear value"

    # The source still has the subject, changed since: the next run withholds it and says so.
    harness.drop(drop_with_subject(file_drops.BASE_TIME + timedelta(days=1), "delta", range(1, 41)))
    again = harness.run(CRM)
    assert str(again.state) == "success", harness.states(again)
    transform = again.get_task_instance("transform").xcom_pull(task_ids="transform")
    assert transform["withheld_erased"] == 2
    assert harness.count("customer") == customers - 1
    emails = [r[0] or "" for r in harness.rows("SELECT email FROM {s}.customer")]
    assert not [e for e in emails if e.lower() == SUBJECT.lower() or e in tokens]
    assert harness.quarantined(CRM) == 0
    canonical = [t for k, t in lake_tables(harness) if k.startswith("canonical/")]
    assert sum(holds(t, needles) for t in canonical) == 0
