"""The file-drop hook against a real S3 server: connection test, discovery, windows, versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from lumina_integration.hooks.base import SOURCE_KEY, SOURCE_VERSION, SourceAdapter
from lumina_integration.hooks.file_drop import FileDropHook, split_location
from lumina_integration.window import Window

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def hook(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> FileDropHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_TEST_DROP",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}}),
    )
    return FileDropHook("test_drop")


def test_it_is_a_source_adapter(hook: FileDropHook) -> None:
    assert isinstance(hook, SourceAdapter)


def test_connection_and_server_clock(hook: FileDropHook, bucket: str) -> None:
    ok, message = hook.test_connection()
    assert ok and "bucket(s) visible" in message
    assert abs(hook.server_now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_broken_connection_reports_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DEAD_DROP",
        json.dumps(
            {
                "conn_type": "aws",
                "extra": {
                    "endpoint_url": "http://127.0.0.1:9",
                    "region_name": "us-east-1",
                    "config_kwargs": {"retries": {"max_attempts": 1}},
                },
            }
        ),
    )
    ok, message = FileDropHook("dead_drop").test_connection()
    assert not ok and message


def test_discover_lists_prefixes(hook: FileDropHook, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="crm/a.csv", Body=b"x\n1\n")
    s3.put_object(Bucket=bucket, Key="erp/b.xml", Body=b"<r/>")
    names = {o.name for o in hook.discover()}
    assert {f"s3://{bucket}/crm/", f"s3://{bucket}/erp/"} <= names


def test_read_skips_loaded_versions_and_tags_origin(hook: FileDropHook, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="in/one.csv", Body=b"id,name\n1,a\n2,b\n")
    s3.put_object(Bucket=bucket, Key="in/two.jsonl", Body=b'{"id": 3, "name": "c"}\n')
    s3.put_object(Bucket=bucket, Key="in/ignored.txt", Body=b"nope")
    window = Window(None, FAR_FUTURE)
    table = pa.Table.from_batches(list(hook.read(f"s3://{bucket}/in/", window, {"pattern": "*.*sv*"})))
    assert table.column("id").to_pylist() == ["1", "2"]
    assert set(table.column(SOURCE_KEY).to_pylist()) == {"in/one.csv"}

    everything = list(hook.read(f"s3://{bucket}/in/", window, {"pattern": "*.[cj]s*"}))
    versions = {(v.key, v.version) for v in hook.versions_read()}
    assert {v[0] for v in versions} == {"in/one.csv", "in/two.jsonl"}
    assert sum(b.num_rows for b in everything) == 3
    again = list(hook.read(f"s3://{bucket}/in/", window, {"pattern": "*.[cj]s*"}, already_loaded=frozenset(versions)))
    assert again == [] and hook.versions_read() == []
    etag = s3.head_object(Bucket=bucket, Key="in/one.csv")["ETag"].strip('"')
    assert pa.Table.from_batches(everything[:1]).column(SOURCE_VERSION)[0].as_py() == etag


def test_window_bounds_by_last_modified(hook: FileDropHook, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="w/a.csv", Body=b"id\n1\n")
    modified = s3.head_object(Bucket=bucket, Key="w/a.csv")["LastModified"].astimezone(UTC)
    assert hook.list_files(f"s3://{bucket}/w/", Window(modified, modified + timedelta(seconds=1)))
    assert not hook.list_files(f"s3://{bucket}/w/", Window(None, modified)), "the end is exclusive"


def test_unknown_format_is_a_clear_error(hook: FileDropHook, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="u/data.bin", Body=b"\x00")
    with pytest.raises(ValueError, match="cannot tell the format"):
        list(hook.read(f"s3://{bucket}/u/", Window(None, FAR_FUTURE), {}))


def test_a_run_refuses_relative_steps_by_the_rule_lint_applies(hook: FileDropHook, bucket: str) -> None:
    from pydantic import ValidationError

    from lumina_integration.hooks.file_drop_options import key_path

    with pytest.raises(ValueError) as lint_side:
        key_path("a/../b/", "file drop prefix")
    with pytest.raises(ValueError) as run_side:
        list(hook.read(f"s3://{bucket}/a/../b/", Window(None, FAR_FUTURE), {}))
    assert str(run_side.value) == str(lint_side.value)
    with pytest.raises(ValidationError, match=r"pattern '\.\./\*\.csv' has a '\.' or '\.\.' segment"):
        list(hook.read(f"s3://{bucket}/a/", Window(None, FAR_FUTURE), {"pattern": "../*.csv"}))


@pytest.mark.parametrize(
    ("location", "expected"),
    [("s3://b/p/q/", ("b", "p/q/")), ("b/p/", ("b", "p/")), ("s3://b", ("b", ""))],
)
def test_split_location(location: str, expected: tuple[str, str]) -> None:
    assert split_location(location) == expected
