"""Options of the file-drop adapter, as written under ``source.options`` in a pipeline spec."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class FileDropOptions(BaseModel):
    """How to find and read export files.

    Args:
        pattern: glob on the file name (``*.csv``); files not matching are ignored.
        format: ``auto`` picks by extension (.csv, .jsonl/.ndjson, .json, .xml, optionally .gz).
        record_path: JSON: dotted path to the records array; XML: the record element's tag.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = "*"
    format: Literal["auto", "csv", "jsonl", "json", "xml"] = "auto"
    encoding: str = "utf-8"
    delimiter: str = ","
    quote_char: str = '"'
    record_path: str | None = None
    null_values: list[str] = []
