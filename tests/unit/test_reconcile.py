"""Version comparison: every id of the source and the warehouse classified, at the source's precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from lumina_integration.reconcile import STAMP_TYPE, compare, versions_table

T = datetime(2026, 11, 20, 10, 15, 30, 123000, tzinfo=UTC)


def versions(pairs: dict[str, datetime | None]) -> pa.Table:
    return pa.table({"id": pa.array(list(pairs), pa.string()), "stamp": pa.array(list(pairs.values()), STAMP_TYPE)})


def test_every_id_gets_its_fate() -> None:
    source = versions({"same": T, "newer": T + timedelta(seconds=1), "older": T - timedelta(hours=1), "gap": T})
    known = versions({"same": T, "newer": T, "older": T, "gone": T, "no_stamp": None})
    found = compare(source, known)
    assert (found.gone, found.missing, found.changed, found.behind) == (
        ["gone", "no_stamp"],
        ["gap"],
        ["newer"],
        ["older"],
    )
    assert found.reread == ["gap", "newer"]
    assert found.counts() == {"source": 4, "known": 5, "gone": 2, "missing": 1, "changed": 1, "behind": 1}


def test_stamps_compare_at_the_sources_precision() -> None:
    # The warehouse keeps microseconds; a value with sub-millisecond noise is the same version.
    source = versions({"a": T})
    known = versions({"a": T + timedelta(microseconds=400)})
    assert compare(source, known, "millisecond").changed == compare(source, known, "millisecond").behind == []
    assert compare(source, known, "microsecond").behind == ["a"]
    assert compare(versions({"a": T.replace(microsecond=0)}), known, "second").changed == []


def test_a_null_warehouse_stamp_is_read_again_and_null_source_stamps_compare_ids_only() -> None:
    assert compare(versions({"a": T}), versions({"a": None})).changed == ["a"]
    ids_only = compare(versions({"a": None, "b": None}), versions({"a": T, "c": T}))
    assert (ids_only.gone, ids_only.missing, ids_only.changed, ids_only.behind) == (["c"], ["b"], [], [])


def test_empty_sides() -> None:
    empty = versions_table([])
    assert compare(empty, empty).counts() == {
        "source": 0,
        "known": 0,
        "gone": 0,
        "missing": 0,
        "changed": 0,
        "behind": 0,
    }
    assert compare(versions({"a": T}), empty).missing == ["a"]
    assert compare(empty, versions({"a": T})).gone == ["a"]


def test_versions_table_takes_batches_of_any_timestamp_unit() -> None:
    batch = pa.RecordBatch.from_pydict({"id": ["x", "y"], "stamp": pa.array([T, None], pa.timestamp("ms", tz="UTC"))})
    table = versions_table([batch, batch.slice(0, 0)])
    assert table.schema.field("stamp").type == STAMP_TYPE and table.column("id").to_pylist() == ["x", "y"]
