"""Options of the file-drop adapter, as written under ``source.options`` in a pipeline spec."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from lumina_integration.hooks.read_limits import ReadLimits


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
