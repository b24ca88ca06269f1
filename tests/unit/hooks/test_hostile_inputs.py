"""Hostile files: every reader bounds depth, record and file size, and quarantines what breaks a bound.

Each case writes its file on the fly (streamed, so a 200 MB field never sits in the test's memory),
reads it in a fresh child process and checks, besides the rows, the child's peak memory growth
while reading against a ceiling measured for that case: a reader that holds a giant field, or
builds a prefix per nesting level, fails here even when it happens to give the right rows.
"""

from __future__ import annotations

import gzip
import io
import multiprocessing
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import pytest

from lumina_integration.hooks.file_drop_options import FileDropOptions
from lumina_integration.hooks.file_formats import FileFormatOptions
from lumina_integration.hooks.read_limits import DEFAULT_MAX_DEPTH, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_RECORD_BYTES

MIB = 1 << 20


def _memory_kb(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} missing from /proc/self/status")


_WARM_UP = {
    "csv": b"id,text\n1,a\n",
    "jsonl": b'{"id": "1"}\n',
    "json": b'[{"id": "1"}]',
    "xml": b"<rows><row><id>1</id></row></rows>",
}


def read_in_child(path: str, options: dict[str, Any]) -> dict[str, Any]:
    """Runs in a spawned process: read the file, return a summary of its rows and the memory it took."""
    from lumina_integration.hooks.file_formats import ERROR, RECORD_NO, read_records

    # A small file of the same format first, for the lazy imports and pyarrow's first allocations;
    # then the peak is reset, so what is measured below is the hostile file alone.
    for _ in read_records(io.BytesIO(_WARM_UP[options["format"]]), FileFormatOptions(**options)):
        pass
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")
    before_kb = _memory_kb("VmRSS")
    rows: list[tuple[int, str | None, str | None]] = []
    try:
        with open(path, "rb") as stream:
            for batch in read_records(stream, FileFormatOptions(**options)):
                ids = batch.column("id").to_pylist() if "id" in batch.schema.names else [None] * batch.num_rows
                for record_no, error, record_id in zip(
                    batch.column(RECORD_NO).to_pylist(), batch.column(ERROR).to_pylist(), ids, strict=True
                ):
                    rows.append((record_no, error, record_id))
    except BaseException:
        return {"escaped": traceback.format_exc(), "rows": rows, "growth_mb": 0.0}
    return {"escaped": None, "rows": rows, "growth_mb": (_memory_kb("VmHWM") - before_kb) / 1024}


@dataclass(frozen=True)
class Case:
    write: Callable[[IO[bytes]], object]
    options: dict[str, Any]
    good_ids: list[str]  # every record that must come out as a good row, in order
    bound: str  # what each error row's reason must name
    # Peak memory growth while reading, measured with margin. CSV's floor is pyarrow's blocks of
    # max_record_bytes + 1 MiB (about 40 MB at the default); JSON lines hold one line of at most
    # max_record_bytes; everything else holds a chunk and one record.
    ceiling_mb: float
    errors: int = 1
    gzip: bool = False


def _nested_json(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _json_array(levels: int) -> Callable[[IO[bytes]], None]:
    def write(out: IO[bytes]) -> None:
        out.write(b'[{"id": "1"}, {"id": "2"}, {"id": "bad", "deep": ' + _nested_json(levels) + b'}, {"id": "4"}]')

    return write


def _json_lines_with_deep_line(levels: int) -> Callable[[IO[bytes]], None]:
    def write(out: IO[bytes]) -> None:
        out.write(b'{"id": "1"}\n{"id": "bad", "deep": ' + _nested_json(levels) + b'}\n{"id": "3"}\n')

    return write


def _xml_nested(levels: int) -> Callable[[IO[bytes]], None]:
    def write(out: IO[bytes]) -> None:
        out.write(b"<rows><row><id>1</id></row><row><id>bad</id>" + b"<n>" * levels + b"</n>" * levels)
        out.write(b"</row><row><id>3</id></row></rows>")

    return write


def _repeat(out: IO[bytes], piece: bytes, total: int) -> None:
    block = piece * (MIB // len(piece))
    written = 0
    while written < total:
        out.write(block)
        written += len(block)


def _csv_giant_field(out: IO[bytes]) -> None:
    out.write(b'id,text\n1,short\n2,"')
    _repeat(out, b'x,"",\n', 200 * MIB)  # delimiters, escaped quotes and line breaks inside the field
    out.write(b'"\n3,after\n4,"quoted, with a\nline break"\n')


def _json_giant_line(out: IO[bytes]) -> None:
    out.write(b'{"id": "1"}\n{"id": "bad", "text": "')
    _repeat(out, b"y", 40 * MIB)
    out.write(b'"}\n{"id": "3"}\n')


def _json_giant_item(out: IO[bytes]) -> None:
    out.write(b'[{"id": "1"}, {"id": "bad", "text": "')
    _repeat(out, b"[{y", 40 * MIB)
    out.write(b'"}, {"id": "3"}]')


def _xml_giant_text(out: IO[bytes]) -> None:
    out.write(b"<rows><row><id>1</id></row><row><id>bad</id><text>")
    _repeat(out, b"z", 40 * MIB)
    out.write(b"</text></row><row><id>3</id></row></rows>")


def _gzip_bomb_jsonl(out: IO[bytes]) -> None:
    out.write(b'{"id": "1"}\n{"id": "2"}\n')
    _repeat(out, b'{"id": "again"}\n', 256 * MIB)


def _gzip_bomb_xml(out: IO[bytes]) -> None:
    out.write(b"<rows><row><id>1</id></row>")
    _repeat(out, b"<row><id>x</id></row>", 256 * MIB)


def _gzip_bomb_csv(out: IO[bytes]) -> None:
    out.write(b"id,text\n1,a\n2,b\n")
    _repeat(out, b"0,0\n", 256 * MIB)


_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rows [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]><rows><row><id>&lol9;</id></row></rows>"
)
_EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE rows [<!ENTITY x SYSTEM "file:///etc/passwd">]><rows><row><id>&x;</id></row></rows>'

CASES = {
    "json-array-20k-levels": Case(_json_array(20_000), {"format": "json"}, ["1", "2"], "max_depth=64", 40),
    "json-array-200k-levels": Case(_json_array(200_000), {"format": "json"}, ["1", "2"], "max_depth=64", 40),
    "json-lines-20k-levels": Case(
        _json_lines_with_deep_line(20_000), {"format": "jsonl"}, ["1", "3"], "max_depth=64", 40
    ),
    "json-lines-200k-levels": Case(
        _json_lines_with_deep_line(200_000), {"format": "jsonl"}, ["1", "3"], "max_depth=64", 40
    ),
    "xml-1200-levels": Case(_xml_nested(1_200), {"format": "xml"}, ["1"], "max_depth=64", 40),
    "xml-100k-levels": Case(_xml_nested(100_000), {"format": "xml"}, ["1"], "max_depth=64", 40),
    "xml-billion-laughs": Case(lambda out: out.write(_LAUGHS), {"format": "xml"}, [], "EntitiesForbidden", 16),
    "xml-external-entity": Case(lambda out: out.write(_EXTERNAL), {"format": "xml"}, [], "EntitiesForbidden", 16),
    "csv-200mb-field": Case(_csv_giant_field, {"format": "csv"}, ["1", "3", "4"], "max_record_bytes=16777216", 100),
    "json-lines-40mb-line": Case(_json_giant_line, {"format": "jsonl"}, ["1", "3"], "max_record_bytes=16777216", 60),
    "json-array-40mb-item": Case(_json_giant_item, {"format": "json"}, ["1"], "max_record_bytes=16777216", 40),
    "xml-40mb-text": Case(_xml_giant_text, {"format": "xml"}, ["1"], "max_record_bytes=16777216", 40),
    "xml-gzip-bomb": Case(
        _gzip_bomb_xml,
        {"format": "xml", "max_file_bytes": 40},
        ["1"],
        "max_file_bytes=40",
        16,
        gzip=True,
    ),
    "csv-invalid-utf8": Case(
        lambda out: out.write(b"id,text\n1,ok\n2,caf\xe9\n3,ok\n"), {"format": "csv"}, ["1"], "not valid utf-8", 64
    ),
    "json-lines-invalid-utf8": Case(
        lambda out: out.write(b'{"id": "1"}\n{"id": "caf\xe9"}\n{"id": "3"}\n'),
        {"format": "jsonl"},
        ["1", "3"],
        "not valid utf-8",
        16,
    ),
    "json-array-invalid-utf8": Case(
        lambda out: out.write(b'[{"id": "1"}, {"id": "caf\xe9"}, {"id": "3"}]'),
        {"format": "json"},
        ["1"],
        "not valid utf-8",
        16,
    ),
    "xml-invalid-utf8": Case(
        lambda out: out.write(b"<rows><row><id>1</id></row><row><id>caf\xe9</id></row><row><id>3</id></row></rows>"),
        {"format": "xml"},
        ["1"],
        "not well-formed (invalid token)",
        16,
    ),
    "gzip-bomb-jsonl": Case(
        _gzip_bomb_jsonl, {"format": "jsonl", "max_file_bytes": 30}, ["1", "2"], "max_file_bytes=30", 16, gzip=True
    ),
    "gzip-bomb-csv": Case(
        _gzip_bomb_csv, {"format": "csv", "max_file_bytes": 18}, ["1", "2"], "max_file_bytes=18", 64, gzip=True
    ),
}


@pytest.fixture(scope="module")
def spawn() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_quarantined_within_its_memory_ceiling(
    name: str, tmp_path: Path, spawn: multiprocessing.context.SpawnContext
) -> None:
    case = CASES[name]
    path = tmp_path / "hostile"
    with gzip.open(path, "wb", compresslevel=1) if case.gzip else path.open("wb") as out:
        case.write(cast(IO[bytes], out))

    with spawn.Pool(1) as pool:
        result = pool.apply(read_in_child, (str(path), case.options))

    assert result["escaped"] is None, result["escaped"]
    rows = result["rows"]
    assert [record_id for _, error, record_id in rows if error is None] == case.good_ids
    reasons = [error for _, error, _ in rows if error is not None]
    assert len(reasons) == case.errors, rows
    assert all(case.bound in reason for reason in reasons), reasons
    assert [record_no for record_no, _, _ in rows] == list(range(1, len(rows) + 1))
    print(f"{name}: {result['growth_mb']:.1f} MB")
    assert result["growth_mb"] < case.ceiling_mb, f"{name}: reading took {result['growth_mb']:.0f} MB"


def test_bounds_have_safe_defaults_on_both_option_models() -> None:
    assert (DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_FILE_BYTES) == (64, 16 * MIB, 10 * 1024 * MIB)
    for options in (FileFormatOptions(format="csv"), FileDropOptions()):
        assert (options.max_depth, options.max_record_bytes, options.max_file_bytes) == (
            DEFAULT_MAX_DEPTH,
            DEFAULT_MAX_RECORD_BYTES,
            DEFAULT_MAX_FILE_BYTES,
        )


@pytest.mark.parametrize(
    ("bound", "value"),
    [("max_depth", 0), ("max_depth", 100_000), ("max_record_bytes", 1024), ("max_file_bytes", 0)],
)
def test_unsafe_bounds_are_refused(bound: str, value: int) -> None:
    with pytest.raises(ValueError, match=bound):
        FileDropOptions(**{bound: value})


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64])
def test_json_depth_is_followed_across_chunks_through_strings_and_escapes(piece: int) -> None:
    from lumina_integration.hooks.file_formats._json_bounds import JsonBoundsScanner

    # Brackets inside strings (with escaped quotes and backslashes) do not count; depth 3 does not
    # break max_depth=3, the fourth level does, at the offset of its bracket.
    fits = b'[{"a": "[[[\\"[[\\\\", "b": [[1]], "c": "}}]]"}, {"d": "\\\\"}]'
    deep = fits[:-1] + b', {"e": [[[1]]]}]'
    for document, cut in ((fits, None), (deep, deep.index(b"[[[1") + 2)):
        scanner = JsonBoundsScanner(record_depth=1, max_depth=3, max_record_bytes=MIB)
        offsets = [scanner.feed(document[start : start + piece]) for start in range(0, len(document), piece)]
        found = next((start * piece + offset for start, offset in enumerate(offsets) if offset is not None), None)
        assert found == cut
        assert (scanner.violation is not None) == (cut is not None)


def test_csv_oversized_record_is_one_error_row_with_its_line_and_head() -> None:
    from lumina_integration.hooks.file_formats import ERROR, RAW, read_records

    giant = b'"' + b"x\n" * (MIB // 2 + 10) + b'"'
    data = b"id,text\n1,a\n2," + giant + b"\n3,b\n"
    batches = read_records(io.BytesIO(data), FileFormatOptions(format="csv", max_record_bytes=MIB))
    rows = [row for batch in batches for row in batch.to_pylist()]

    assert [row["id"] for row in rows if row[ERROR] is None] == ["1", "3"]
    [bad] = [row for row in rows if row[ERROR] is not None]
    assert bad[ERROR] == f"line 3: record larger than max_record_bytes={MIB}; skipped to the next record"
    assert bad[RAW].startswith('2,"x\nx\n') and len(bad[RAW]) == 10_000
