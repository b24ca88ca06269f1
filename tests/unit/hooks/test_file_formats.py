"""Raw-zone file readers: every field as source text, bad records as error rows, bounded memory."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from pydantic import ValidationError

from lumina_integration.hooks import file_formats
from lumina_integration.hooks.file_formats import (
    ERROR,
    METADATA_COLUMNS,
    RAW,
    RECORD_NO,
    FileFormatOptions,
    MalformedFileError,
    format_for_key,
    read_records,
)
from lumina_integration.hooks.file_formats import _csv as csv_reader


def read(data: bytes, batch_rows: int = 50_000, **options: Any) -> list[pa.RecordBatch]:
    return list(read_records(io.BytesIO(data), FileFormatOptions(**options), batch_rows=batch_rows))


def rows(data: bytes, **options: Any) -> list[dict[str, Any]]:
    return [row for batch in read(data, **options) for row in batch.to_pylist()]


def fields(data: bytes, **options: Any) -> list[dict[str, Any]]:
    """The source fields of each record, after checking that none is an error row."""
    result = []
    for row in rows(data, **options):
        assert row[ERROR] is None and row[RAW] is None, row
        result.append({key: value for key, value in row.items() if key not in METADATA_COLUMNS})
    return result


def errors(data: bytes, **options: Any) -> list[tuple[int, str, str | None]]:
    return [(row[RECORD_NO], row[ERROR], row[RAW]) for row in rows(data, **options) if row[ERROR] is not None]


# --- layout shared by every format -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "options"),
    [
        pytest.param(b"a,b\n1,2\n3\n", {"format": "csv"}, id="csv"),
        pytest.param(b'{"a": 1}\n{"b": {"c": 2}}\nnope\n', {"format": "jsonl"}, id="jsonl"),
        pytest.param(b'[{"a": 1}, {"b": [2]}, 3]', {"format": "json"}, id="json"),
        pytest.param(b'<r><x a="1"><b>2</b></x><x/><x></r>', {"format": "xml"}, id="xml"),
    ],
)
def test_batches_are_string_fields_then_metadata_columns(data: bytes, options: dict[str, Any]) -> None:
    batches = read(data, **options)

    assert batches
    for batch in batches:
        schema = batch.schema
        assert schema.names[-3:] == list(METADATA_COLUMNS)
        assert [field.type for field in schema][-3:] == [pa.int64(), pa.string(), pa.string()]
        assert all(field.type == pa.string() for field in list(schema)[:-3])
        assert batch.num_rows > 0
    record_numbers = [n for batch in batches for n in batch.column(RECORD_NO).to_pylist()]
    assert record_numbers == list(range(1, len(record_numbers) + 1))
    assert any(row[ERROR] for batch in batches for row in batch.to_pylist())


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "xml"])
@pytest.mark.parametrize("data", [pytest.param(b"", id="empty"), pytest.param(gzip.compress(b""), id="empty-gzip")])
def test_empty_file_yields_no_batches(fmt: str, data: bytes) -> None:
    assert read(data, format=fmt) == []


@pytest.mark.parametrize(
    ("data", "options"),
    [
        pytest.param(b"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n", {"format": "csv"}, id="csv"),
        pytest.param(b"".join(b'{"a": %d}\n' % i for i in range(5)), {"format": "jsonl"}, id="jsonl"),
        pytest.param(b"[" + b",".join(b'{"a": %d}' % i for i in range(5)) + b"]", {"format": "json"}, id="json"),
        pytest.param(b"<r>" + b"<x><a>1</a></x>" * 5 + b"</r>", {"format": "xml"}, id="xml"),
    ],
)
def test_batch_rows_splits_and_record_numbers_continue(data: bytes, options: dict[str, Any]) -> None:
    batches = read(data, batch_rows=2, **options)

    assert [batch.num_rows for batch in batches] == [2, 2, 1]
    assert [n for batch in batches for n in batch.column(RECORD_NO).to_pylist()] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("fmt", "document"),
    [
        pytest.param("csv", b"a,b\n" + b"1,text to fill more than one 4 MiB block\n" * 300_000, id="csv"),
        pytest.param("jsonl", b'{"a": 1}\n' * 150_000, id="jsonl"),
        pytest.param("json", b"[" + b",".join([b'{"a": 1}'] * 150_000) + b"]", id="json"),
        pytest.param("xml", b"<r>" + b"<a><b>1</b></a>" * 90_000 + b"</r>", id="xml"),
    ],
)
@pytest.mark.parametrize("cut", [pytest.param(8, id="trailer"), pytest.param(400, id="data")])
def test_truncated_gzip_raises(fmt: str, document: bytes, cut: int) -> None:
    # Bigger than what the readers fetch ahead (two 4 MiB blocks for CSV with 1 MiB records), so the
    # damage is met after the first batches came out.
    options = FileFormatOptions(format=fmt, max_record_bytes=1 << 20)
    batches = read_records(io.BytesIO(gzip.compress(document)[:-cut]), options)
    rows_before = 0

    with pytest.raises(MalformedFileError, match="gzip data is corrupt or truncated"):
        for batch in batches:
            assert batch.column(ERROR).null_count == batch.num_rows
            rows_before += batch.num_rows

    assert rows_before > 0


def test_batch_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_rows"):
        read_records(io.BytesIO(b"a\n1\n"), FileFormatOptions(format="csv"), batch_rows=0)


def test_stream_is_read_lazily_and_left_open() -> None:
    stream = io.BytesIO(b"a\n1\n")
    batches = read_records(stream, FileFormatOptions(format="csv"))

    assert stream.tell() == 0
    assert sum(batch.num_rows for batch in batches) == 1
    assert not stream.closed


# --- options and format_for_key ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("exports/accounts.csv", "csv", id="csv"),
        pytest.param("a.CSV", "csv", id="upper-case"),
        pytest.param("a.jsonl", "jsonl", id="jsonl"),
        pytest.param("a.ndjson", "jsonl", id="ndjson"),
        pytest.param("a.json", "json", id="json"),
        pytest.param("a.xml", "xml", id="xml"),
        pytest.param("dir.v2/a.csv.gz", "csv", id="csv-gz"),
        pytest.param("a.json.gz", "json", id="json-gz"),
        pytest.param("a.gz", None, id="bare-gz"),
        pytest.param("a.txt", None, id="txt"),
        pytest.param("a.tsv", None, id="tsv"),
        pytest.param("csv", None, id="no-suffix"),
        pytest.param(".csv", None, id="dotfile"),
        pytest.param("dir.csv/readme", None, id="dot-in-folder"),
    ],
)
def test_format_for_key(key: str, expected: str | None) -> None:
    assert format_for_key(key) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"format": "parquet"}, "format", id="unknown-format"),
        pytest.param({"format": "csv", "encoding": "no-such-codec"}, "unknown encoding", id="encoding"),
        pytest.param({"format": "csv", "encoding": "base64"}, "not a text encoding", id="bytes-codec"),
        pytest.param({"format": "csv", "delimiter": ";;"}, "one ASCII character", id="long-delimiter"),
        pytest.param({"format": "csv", "delimiter": "\n"}, "one ASCII character", id="newline-delimiter"),
        pytest.param({"format": "csv", "quote_char": "«"}, "one ASCII character", id="non-ascii-quote"),
        pytest.param({"format": "csv", "delimiter": '"'}, "must differ", id="delimiter-is-quote"),
        pytest.param({"format": "json", "record_path": "data..items"}, "empty part", id="record-path"),
        pytest.param({"format": "csv", "header": True}, "Extra inputs", id="extra-field"),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FileFormatOptions(**options)


def test_options_are_frozen() -> None:
    options = FileFormatOptions(format="csv")
    with pytest.raises(ValidationError):
        options.delimiter = ";"  # type: ignore[misc]


# --- CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "options", "expected"),
    [
        pytest.param(
            b"id,name\n1,Ann\n2,Bob\n",
            {},
            [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob"}],
            id="basic",
        ),
        pytest.param(
            b'id,note\n1,"line one\nline two"\n2,"a ""quoted"" word, and a comma"\n',
            {},
            [{"id": "1", "note": "line one\nline two"}, {"id": "2", "note": 'a "quoted" word, and a comma'}],
            id="quoted-newline-and-quotes",
        ),
        pytest.param(
            b'a,b,c\n"",,x\n',
            {},
            [{"a": "", "b": None, "c": "x"}],
            id="quoted-empty-is-empty-string-unquoted-empty-is-null",
        ),
        pytest.param(
            b"a,b,c,d\nNA,NULL,nan, x \n",
            {},
            [{"a": "NA", "b": "NULL", "c": "nan", "d": " x "}],
            id="no-implicit-nulls-and-spaces-kept",
        ),
        pytest.param(
            b'a,b,c\nNULL,"NULL",\\N\n',
            {"null_values": ["NULL", "\\N"]},
            [{"a": None, "b": "NULL", "c": None}],
            id="null-values-unquoted-only",
        ),
        pytest.param(
            b" id , name ,id,,\n1,2,3,4,5\n",
            {},
            [{"id": "1", "name": "2", "id_2": "3", "column_4": "4", "column_5": "5"}],
            id="header-stripped-deduplicated-blank-named",
        ),
        pytest.param(
            b"a,a,a_2,_lumina_error\n1,2,3,4\n",
            {},
            [{"a": "1", "a_3": "2", "a_2": "3", "_lumina_error_2": "4"}],
            id="suffix-avoids-existing-and-metadata-names",
        ),
        pytest.param(
            b'"first\nname",b\n1,2\n',
            {},
            [{"first\nname": "1", "b": "2"}],
            id="quoted-newline-in-header",
        ),
        pytest.param(
            b"\xef\xbb\xbfid,name\n1,x\n",
            {},
            [{"id": "1", "name": "x"}],
            id="utf8-bom",
        ),
        pytest.param(
            b"\xef\xbb\xbfid,name\n1,x\n",
            {"encoding": "utf-8-sig"},
            [{"id": "1", "name": "x"}],
            id="utf8-sig-bom",
        ),
        pytest.param(
            "name,city\nJosé,Zürich\n".encode("latin-1"),
            {"encoding": "latin-1"},
            [{"name": "José", "city": "Zürich"}],
            id="latin-1",
        ),
        pytest.param(
            "price\n€5 “net” œ\n".encode("cp1252"),
            {"encoding": "cp1252"},
            [{"price": "€5 “net” œ"}],
            id="cp1252",
        ),
        pytest.param(
            "a;b\n1;日本\n".encode("utf-16"),
            {"encoding": "utf-16", "delimiter": ";"},
            [{"a": "1", "b": "日本"}],
            id="utf-16",
        ),
        pytest.param(
            b"a;b\n'x;y';'it''s'\n",
            {"delimiter": ";", "quote_char": "'"},
            [{"a": "x;y", "b": "it's"}],
            id="delimiter-and-quote-char",
        ),
        pytest.param(
            b"a,b\r\n1,2\r\n\r\n3,4",
            {},
            [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}],
            id="crlf-blank-line-no-final-newline",
        ),
        pytest.param(
            gzip.compress(b"a,b\n1,2\n"),
            {},
            [{"a": "1", "b": "2"}],
            id="gzip",
        ),
    ],
)
def test_csv_fields(data: bytes, options: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert fields(data, format="csv", **options) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"a,b\n", id="header-only"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
        pytest.param(b"\n\n", id="blank-lines"),
    ],
)
def test_csv_without_records_yields_nothing(data: bytes) -> None:
    assert read(data, format="csv") == []


def test_csv_wrong_field_count_becomes_error_row_in_place() -> None:
    data = b'id,name,note\n1,Ann,"two\nlines"\n2,Bob\n3,Cy,x\n4,Di,y,extra\n5,Ed,z\n6\n'

    result = rows(data, format="csv")

    assert [row[RECORD_NO] for row in result] == [1, 2, 3, 4, 5, 6]
    assert [row["id"] for row in result] == ["1", None, "3", None, "5", None]
    assert errors(data, format="csv") == [
        (2, "line 4: expected 3 fields, found 2", "2,Bob"),
        (4, "line 6: expected 3 fields, found 4", "4,Di,y,extra"),
        (6, "line 8: expected 3 fields, found 1", "6"),
    ]
    assert all(row["name"] is None and row["note"] is None for row in result if row[ERROR])


def test_csv_error_rows_keep_their_place_across_batches() -> None:
    data = b"a,b\n" + b"".join(b"%d,x\n" % i if i % 3 else b"%d\n" % i for i in range(1, 11))

    batches = read(data, batch_rows=4, format="csv")

    assert [batch.num_rows for batch in batches] == [4, 4, 2]
    result = [row for batch in batches for row in batch.to_pylist()]
    assert [row[RECORD_NO] for row in result] == list(range(1, 11))
    assert [row["a"] or row[RAW] for row in result] == [str(i) for i in range(1, 11)]
    assert [row[RECORD_NO] for row in result if row[ERROR]] == [3, 6, 9]


def test_csv_file_of_only_bad_rows() -> None:
    assert errors(b"a,b,c\n1\n2\n", format="csv") == [
        (1, "line 2: expected 3 fields, found 1", "1"),
        (2, "line 3: expected 3 fields, found 1", "2"),
    ]


def test_csv_too_many_bad_rows_before_a_good_one_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bad rows before pyarrow's first batch are held in memory; past the limit the file fails.
    monkeypatch.setattr(csv_reader, "_MIN_PENDING_LIMIT", 5)
    data = b"a,b,c\n" + b"1,2\n" * 20 + b"1,2,3\n"

    with pytest.raises(MalformedFileError, match="wrong number of fields"):
        read(data, batch_rows=2, format="csv")


def test_csv_long_raw_text_is_truncated() -> None:
    data = b"a,b\n" + b"x" * 20_000 + b"\n"

    [(_, reason, raw)] = errors(data, format="csv")

    assert reason == "line 2: expected 2 fields, found 1"
    assert raw == "x" * 10_000


@pytest.mark.parametrize(
    ("data", "options", "offset", "good"),
    [
        pytest.param(b"a,b\n1,caf\xe9\n", {}, 9, 0, id="latin-1-byte-in-utf-8"),
        pytest.param(b"a,b\n0,ok\n1,caf\xe9\n2,ok\n", {}, 14, 1, id="after-a-good-row"),
        pytest.param(b"\xef\xbb\xbfa\n\xff\n", {}, 5, 0, id="after-bom"),
        pytest.param(gzip.compress(b"a\n\xc3\n"), {}, 2, 0, id="gzip-truncated-sequence"),
        pytest.param(b"a\n\x81\n", {"encoding": "cp1252"}, 2, 0, id="undefined-cp1252-byte"),
    ],
)
def test_csv_invalid_bytes_end_in_one_error_row_with_offset(
    data: bytes, options: dict[str, Any], offset: int, good: int
) -> None:
    result = rows(data, format="csv", **options)

    assert [row[ERROR] for row in result[:good]] == [None] * good
    assert len(result) == good + 1
    assert f"at byte offset {offset} " in result[-1][ERROR]
    assert result[-1][ERROR].endswith("the rest of the file could not be read")


def test_csv_streams_large_file_in_bounded_batches() -> None:
    total_rows = 200_000

    def generate() -> Iterator[bytes]:
        yield b"id,name,amount,note\n"
        for start in range(0, total_rows, 10_000):
            yield "".join(f'{i},name {i},{i * 1.25:.2f},"note, {i}"\n' for i in range(start, start + 10_000)).encode()

    class Generated(io.RawIOBase):
        """A stream produced on the fly, never held in memory as a whole."""

        def __init__(self) -> None:
            self._chunks = generate()
            self._pending = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            while not self._pending:
                self._pending = next(self._chunks, b"")
                if not self._pending:
                    return 0
            count = min(len(buffer), len(self._pending))
            buffer[:count] = self._pending[:count]
            self._pending = self._pending[count:]
            return count

    seen = 0
    last_record = 0
    for batch in read_records(Generated(), FileFormatOptions(format="csv"), batch_rows=10_000):  # type: ignore[arg-type]
        assert 0 < batch.num_rows <= 10_000
        assert batch.column(ERROR).null_count == batch.num_rows
        numbers = batch.column(RECORD_NO).to_pylist()
        assert numbers[0] == last_record + 1
        last_record = numbers[-1]
        seen += batch.num_rows
    assert seen == total_rows
    assert last_record == total_rows


# --- JSON lines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(b'{"s": "text", "e": ""}', {"s": "text", "e": ""}, id="strings"),
        pytest.param(
            b'{"i": 10, "f": 1.50, "neg": -0, "exp": 1e5, "big": 123456789012345678901234567890}',
            {"i": "10", "f": "1.50", "neg": "-0", "exp": "1e5", "big": "123456789012345678901234567890"},
            id="numbers-keep-source-text",
        ),
        pytest.param(b'{"t": true, "f": false, "n": null}', {"t": "true", "f": "false", "n": None}, id="literals"),
        pytest.param(
            b'{"o": {"x": 1.50, "y": [true, null, "s", {"z": 2}]}, "l": []}',
            {"o": '{"x":1.50,"y":[true,null,"s",{"z":2}]}', "l": "[]"},
            id="nested-compact-json",
        ),
        pytest.param(
            '{"name": "Zoë 日本 🎉", "esc": "\\u00e9\\n", "o": {"k": "ü"}}'.encode(),
            {"name": "Zoë 日本 🎉", "esc": "é\n", "o": '{"k":"ü"}'},
            id="unicode",
        ),
        pytest.param(b'{"s": "\\ud800x"}', {"s": "\ufffdx"}, id="lone-surrogate-escape"),
    ],
)
def test_jsonl_values(line: bytes, expected: dict[str, Any]) -> None:
    assert fields(line + b"\n", format="jsonl") == [expected]


def test_jsonl_fields_in_first_seen_order_missing_are_null() -> None:
    data = b'{"b": 1, "a": 2}\n{"c": 3, "a": 4}\n'

    assert fields(data, format="jsonl") == [{"b": "1", "a": "2", "c": None}, {"b": None, "a": "4", "c": "3"}]
    assert read(data, format="jsonl")[0].schema.names[:3] == ["b", "a", "c"]


def test_jsonl_bad_lines_become_error_rows() -> None:
    data = b'{"a": 1}\n\n   \n{"a": 2,}\n[1, 2]\n"text"\n{"a": 3}\n{"a": "\xff"}\n{"a": 4}'

    result = rows(data, format="jsonl")

    assert [row[RECORD_NO] for row in result] == [1, 2, 3, 4, 5, 6, 7]
    assert [row["a"] for row in result] == ["1", None, None, None, "3", None, "4"]
    assert errors(data, format="jsonl") == [
        (
            2,
            "line 4: invalid JSON: Expecting property name enclosed in double quotes at column 9",
            '{"a": 2,}',
        ),
        (3, "line 5: expected a JSON object, found an array", "[1, 2]"),
        (4, "line 6: expected a JSON object, found a string", '"text"'),
        (6, "line 8: bytes that are not valid utf-8", '{"a": "\ufffd"}'),
    ]


@pytest.mark.parametrize(
    ("data", "options"),
    [
        pytest.param(b'\xef\xbb\xbf{"a": "\xc3\xa9"}\r\n{"a": "x"}\r\n', {}, id="bom-crlf"),
        pytest.param('{"a": "é"}\n{"a": "x"}\n'.encode("latin-1"), {"encoding": "latin-1"}, id="latin-1"),
        pytest.param(gzip.compress(b'{"a": "\xc3\xa9"}\n{"a": "x"}\n'), {}, id="gzip"),
    ],
)
def test_jsonl_encodings(data: bytes, options: dict[str, Any]) -> None:
    assert fields(data, format="jsonl", **options) == [{"a": "é"}, {"a": "x"}]


# --- JSON documents ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "record_path"),
    [
        pytest.param(b' [{"id": 1, "amount": 1.50}, {"id": 2, "tags": ["x", 2.0]}] ', None, id="top-level-array"),
        pytest.param(
            b'{"meta": {"n": 2}, "data": {"items": [{"id": 1, "amount": 1.50}, '
            b'{"id": 2, "tags": ["x", 2.0]}], "after": true}}',
            "data.items",
            id="record-path",
        ),
        pytest.param(
            gzip.compress(b'\xef\xbb\xbf[{"id": 1, "amount": 1.50}, {"id": 2, "tags": ["x", 2.0]}]'),
            None,
            id="gzip-bom",
        ),
    ],
)
def test_json_records(data: bytes, record_path: str | None) -> None:
    assert fields(data, format="json", record_path=record_path) == [
        {"id": "1", "amount": "1.50", "tags": None},
        {"id": "2", "amount": None, "tags": '["x",2.0]'},
    ]


def test_json_values_render_like_jsonl() -> None:
    data = b'[{"t": true, "n": null, "s": "\xc3\xa9", "o": {"a": [1, false]}, "big": 12345678901234567890}]'

    assert fields(data, format="json") == [
        {"t": "true", "n": None, "s": "é", "o": '{"a":[1,false]}', "big": "12345678901234567890"}
    ]


def test_json_non_object_items_become_error_rows() -> None:
    data = b'[{"a": 1}, [1, 2.5], "x", null, {"a": 2}]'

    assert [row["a"] for row in rows(data, format="json")] == ["1", None, None, None, "2"]
    assert errors(data, format="json") == [
        (2, "record 2: expected a JSON object, found an array", "[1,2.5]"),
        (3, "record 3: expected a JSON object, found a string", '"x"'),
        (4, "record 4: expected a JSON object, found null", "null"),
    ]


@pytest.mark.parametrize(
    ("data", "options", "good", "reason"),
    [
        pytest.param(
            b'[{"a": 1}, {"a": 2}, {"a": 3',
            {},
            2,
            "invalid JSON after record 2; the rest of the file could not be read: ",
            id="truncated",
        ),
        pytest.param(
            b'{"data": [{"a": 1}, {"a": 2}, {"a": tru}]}',
            {"record_path": "data"},
            2,
            "invalid JSON after record 2; the rest of the file could not be read: ",
            id="invalid-part-way",
        ),
        pytest.param(
            b'[{"a": 1}, {"a": "\xff"}]',
            {},
            1,
            "invalid JSON after record 1; the rest of the file could not be read: bytes ff at byte offset 18",
            id="invalid-utf8",
        ),
        pytest.param(
            b'{"data": [{"a": 1}]}',
            {},
            0,
            "expected a JSON array of records at the top level, found '{'; set record_path",
            id="object-without-record-path",
        ),
        pytest.param(
            b'[{"a": 1}]',
            {"record_path": "data"},
            0,
            "expected a JSON object at the top level (record_path='data'), found '['",
            id="array-with-record-path",
        ),
        pytest.param(b"  \n ", {}, 0, "the file holds only whitespace", id="whitespace"),
    ],
)
def test_json_unreadable_rest_gives_partial_records_then_one_error_row(
    data: bytes, options: dict[str, Any], good: int, reason: str
) -> None:
    result = rows(data, format="json", **options)

    assert len(result) == good + 1
    assert [row[ERROR] for row in result[:good]] == [None] * good
    assert result[-1][RECORD_NO] == good + 1
    assert result[-1][ERROR].startswith(reason)
    assert "\n" not in result[-1][ERROR]


def test_json_batches_differ_in_columns_but_keep_first_seen_order() -> None:
    data = b'[{"b": 1, "a": 1}, {"a": 2}, {"c": 3, "b": 3}]'

    batches = read(data, batch_rows=2, format="json")

    assert [batch.schema.names[:-3] for batch in batches] == [["b", "a"], ["b", "c"]]


# --- XML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "options", "expected"),
    [
        pytest.param(
            b'<Accounts><Account id="7" type="gold"><Name> Ann </Name></Account></Accounts>',
            {},
            [{"@id": "7", "@type": "gold", "Name": "Ann"}],
            id="attributes-and-stripped-text",
        ),
        pytest.param(
            b"<r><a><Address kind='home'><City>Oslo</City><Geo><Lat>59.9</Lat></Geo></Address></a></r>",
            {},
            [{"Address.@kind": "home", "Address.City": "Oslo", "Address.Geo.Lat": "59.9"}],
            id="nested-flattened-with-dots",
        ),
        pytest.param(
            b"<r><a><Phone>1</Phone><Phone>2</Phone><Tag>x</Tag></a><a><Phone>3</Phone></a></r>",
            {},
            [{"Phone": '["1","2"]', "Tag": "x"}, {"Phone": "3", "Tag": None}],
            id="repeated-tags-json-array",
        ),
        pytest.param(
            b"<r><a><Empty/><Open></Open><Blank>  </Blank></a></r>",
            {},
            [{"Empty": "", "Open": "", "Blank": ""}],
            id="empty-elements",
        ),
        pytest.param(
            b'<r xmlns="urn:a" xmlns:x="urn:x"><x:Acct x:id="1"><x:Name>A</x:Name><Note>n</Note></x:Acct></r>',
            {},
            [{"@id": "1", "Name": "A", "Note": "n"}],
            id="namespaces-dropped",
        ),
        pytest.param(
            b'<Export xmlns="urn:e"><Header><Count>2</Count></Header><Data>'
            b"<Account><Id>1</Id></Account><Other><Id>x</Id></Other><Account><Id>2</Id></Account>"
            b"</Data></Export>",
            {"record_path": "Account"},
            [{"Id": "1"}, {"Id": "2"}],
            id="record-path-ignores-other-elements",
        ),
        pytest.param(
            b"<r><a><Id>1</Id><Tag>NULL</Tag><Tag>x</Tag><Tag>-</Tag></a><a z='-'><Id>NULL</Id></a></r>",
            {"null_values": ["NULL", "-"]},
            [{"Id": "1", "Tag": '[null,"x",null]', "@z": None}, {"Id": None, "Tag": None, "@z": None}],
            id="null-values",
        ),
        pytest.param(
            b"<names><name>Bob</name><name>Al &amp; Co</name></names>",
            {},
            [{"#text": "Bob"}, {"#text": "Al & Co"}],
            id="text-only-records",
        ),
        pytest.param(
            '<?xml version="1.0" encoding="ISO-8859-1"?><r><a><n>Zoë</n></a></r>'.encode("latin-1"),
            {},
            [{"n": "Zoë"}],
            id="declared-encoding",
        ),
        pytest.param(
            "<r><a><n>Zoë</n></a></r>".encode("latin-1"),
            {"encoding": "latin-1"},
            [{"n": "Zoë"}],
            id="encoding-option-overrides",
        ),
        pytest.param(
            gzip.compress(b"<r><a><n>1</n></a></r>"),
            {},
            [{"n": "1"}],
            id="gzip",
        ),
    ],
)
def test_xml_fields(document: bytes, options: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert fields(document, format="xml", **options) == expected


@pytest.mark.parametrize(
    ("document", "good", "reason"),
    [
        pytest.param(
            b"<r>\n<a><n>1</n></a>\n<a><n>2</n></a>\n<a><n>3</a>\n</r>",
            2,
            "line 4, column 10: XML is not well-formed (mismatched tag); the rest of the file could not be read",
            id="mismatched-tag",
        ),
        pytest.param(
            b"<r><a><n>1</n></a><a><n>2",
            1,
            "line 1, column 26: XML is not well-formed (no element found)",
            id="truncated",
        ),
        pytest.param(b"  \n", 0, "line 2, column 1: XML is not well-formed (no element found)", id="whitespace"),
    ],
)
def test_xml_not_well_formed_gives_partial_records_then_one_error_row(document: bytes, good: int, reason: str) -> None:
    result = rows(document, format="xml")

    assert len(result) == good + 1
    assert [row[ERROR] for row in result[:good]] == [None] * good
    assert result[-1][RECORD_NO] == good + 1
    assert result[-1][ERROR].startswith(reason)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
            b' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
            b' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
            b"]>\n<r><a><n>&lol3;</n></a></r>",
            id="billion-laughs",
        ),
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>'
            b"<r><a><n>&xxe;</n></a></r>",
            id="external-entity",
        ),
    ],
)
def test_xml_entities_are_refused_not_expanded(document: bytes) -> None:
    [row] = rows(document, format="xml")

    assert row[RECORD_NO] == 1
    assert row[ERROR].startswith("line 3: forbidden XML construct (EntitiesForbidden(")
    assert set(row) == set(METADATA_COLUMNS)


def test_xml_records_stream_in_batches() -> None:
    document = b"<r>" + b"".join(b'<a n="%d"><v>%d</v></a>' % (i, i) for i in range(25)) + b"</r>"

    batches = read(document, batch_rows=10, format="xml")

    assert [batch.num_rows for batch in batches] == [10, 10, 5]
    assert [row["v"] for batch in batches for row in batch.to_pylist()] == [str(i) for i in range(25)]


def test_public_api_is_exported() -> None:
    assert set(file_formats.__all__) >= {
        "RECORD_NO",
        "ERROR",
        "RAW",
        "METADATA_COLUMNS",
        "FileFormatOptions",
        "MalformedFileError",
        "format_for_key",
        "read_records",
    }
    assert (RECORD_NO, ERROR, RAW) == ("_lumina_record_no", "_lumina_error", "_lumina_raw")
    assert issubclass(MalformedFileError, ValueError)
