"""Options of the file-drop adapter, as written under ``source.options`` in a pipeline spec."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, field_validator

from lumina_integration.hooks.read_limits import ReadLimits


def key_path(value: str, what: str) -> str:
    """``value`` if none of its ``/``-separated segments is ``.`` or ``..``; raises ValueError.

    S3 keys are flat, but S3-compatible stores on a file system and the tools that mirror a bucket
    resolve such segments, so a prefix or pattern holding one could reach outside its drop location.
    The one rule for both: ``lumina lint`` applies it to ``source.object`` and ``source.options.pattern``,
    and every run applies it again when it lists the location.
    """
    if any(segment in (".", "..") for segment in value.split("/")):
        raise ValueError(f"{what} {value!r} has a '.' or '..' segment; name the location without relative steps")
    return value


def split_location(obj: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` or ``bucket/prefix/`` -> (bucket, prefix); the prefix passes :func:`key_path`."""
    bucket, _, prefix = obj.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"file drop location {obj!r} must start with a bucket name")
    return bucket, key_path(prefix, "file drop prefix")


class FileDropOptions(ReadLimits):
    """How to find and read export files.

    Args:
        pattern: glob on the file name (``*.csv``); files not matching are ignored.
        format: ``auto`` picks by extension (.csv, .jsonl/.ndjson, .json, .xml, optionally .gz).
        record_path: JSON: dotted path to the records array; XML: the record element's tag.
        max_depth, max_record_bytes, max_file_bytes: bounds on nesting, record and (decompressed) file
            size; what exceeds them is quarantined as error rows naming the bound (see ReadLimits).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = "*"
    format: Literal["auto", "csv", "jsonl", "json", "xml"] = "auto"
    encoding: str = "utf-8"
    delimiter: str = ","
    quote_char: str = '"'
    record_path: str | None = None
    null_values: list[str] = []

    @field_validator("pattern")
    @classmethod
    def _no_relative_steps(cls, value: str) -> str:
        return key_path(value, "pattern")
