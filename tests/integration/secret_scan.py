"""Search every place a pipeline run writes for planted secrets, counting what was searched.

A secret is looked for as is and in the forms it takes when encoded on its way somewhere: URL-quoted
(query strings, form bodies, URLs), base64 (standard and URL-safe, without padding: headers, JWTs, blobs),
JSON-escaped (a PEM's newlines as ``\\n``), and for a PEM key each of its base64 lines on its own (a key
re-wrapped or cut still shows them). Basic-auth pairs are searched as their header value.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus


def _b64(value: bytes) -> list[str]:
    return [base64.b64encode(value).decode().rstrip("="), base64.urlsafe_b64encode(value).decode().rstrip("=")]


def forms(secret: str) -> dict[str, str]:
    """form name -> text to look for."""
    found = {
        "raw": secret,
        "url": quote(secret, safe=""),
        "url_plus": quote_plus(secret),
        "json": json.dumps(secret)[1:-1],
    }
    for i, encoded in enumerate(_b64(secret.encode())):
        found[f"base64_{i}"] = encoded
    if "-----BEGIN" in secret:  # every full base64 line of the key body
        lines = [line for line in secret.splitlines() if line and not line.startswith("-----")]
        for i, line in enumerate(lines[:-1]):
            found[f"pem_line_{i}"] = line
    return {name: text for name, text in found.items() if len(text) >= 8}


def _text(value: Any) -> bytes:
    """A column value as bytes to search; zlib-compressed blobs (Airflow's serialized DAGs) inflated."""
    import zlib

    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        try:
            return value + zlib.decompress(value)
        except zlib.error:
            return value
    return str(value).encode("utf-8", "surrogateescape")


@dataclass
class Scan:
    """Needles, what was searched (counts per kind of place), and every hit."""

    secrets: dict[str, str]
    basic_auth: dict[str, tuple[str, str]] = field(default_factory=dict)
    searched: Counter[str] = field(default_factory=Counter)
    hits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.needles: list[tuple[str, str, bytes]] = []
        for name, secret in self.secrets.items():
            for form, text in forms(secret).items():
                self.needles.append((name, form, text.encode()))
        for name, (user, password) in self.basic_auth.items():
            for i, encoded in enumerate(_b64(f"{user}:{password}".encode())):
                self.needles.append((name, f"basic_auth_{i}", encoded.encode()))

    def check(self, place: str, where: str, content: str | bytes) -> None:
        data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        for name, form, needle in self.needles:
            if needle in data:
                self.hits.append(f"{place}: {where}: {name} ({form})")

    # -- places ------------------------------------------------------------------------------------------

    def logs(self, text: str) -> None:
        lines = text.splitlines()
        self.searched["log lines"] += len(lines)
        self.searched["log bytes"] += len(text.encode())
        self.check("task logs", "captured output", text)

    def database(self, place: str, engine: Any, schema: str | None, tables: Iterable[str] | None = None) -> None:
        """Every column of every row of every table (``tables``: only these), as text."""
        import sqlalchemy as sa

        inspector = sa.inspect(engine)
        names = list(tables) if tables is not None else inspector.get_table_names(schema=schema)
        with engine.connect() as conn:
            for table in names:
                columns = [c["name"] for c in inspector.get_columns(table, schema=schema)]
                self.searched[f"{place} tables"] += 1
                self.searched[f"{place} columns"] += len(columns)
                qualified = f'"{schema}"."{table}"' if schema else f'"{table}"'
                for row in conn.execute(sa.text(f"SELECT * FROM {qualified}")):
                    self.searched[f"{place} rows"] += 1
                    for column, value in zip(columns, row, strict=True):
                        if value is not None:
                            self.check(place, f"{table}.{column}", _text(value))

    def lake(self, s3: Any, buckets: Iterable[str] | None = None, since: datetime | None = None) -> None:
        """Every object of every bucket (``buckets``: only these); Parquet parts also decoded (compressed pages
        hide raw bytes). ``since``: objects last written before it (by earlier tests of the session, before the
        secrets existed) are listed and counted but not read."""
        import io

        import pyarrow.parquet as pq

        names = list(buckets) if buckets is not None else [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
        for bucket in names:
            self.searched["buckets"] += 1
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    # S3 stamps whole seconds: an object of the same second as ``since`` is read.
                    if since is not None and item["LastModified"] < since.replace(microsecond=0):
                        self.searched["lake objects older than the secrets (not read)"] += 1
                        continue
                    obj = s3.get_object(Bucket=bucket, Key=item["Key"])
                    body = obj["Body"].read()
                    where = f"s3://{bucket}/{item['Key']}"
                    self.searched["lake objects"] += 1
                    self.searched["lake bytes"] += len(body)
                    self.check("lake", where, body)
                    self.check("lake", f"{where} (metadata)", json.dumps(obj.get("Metadata", {})))
                    if body[:4] == b"PAR1":
                        table = pq.read_table(io.BytesIO(body))
                        self.searched["parquet parts"] += 1
                        self.searched["parquet rows"] += table.num_rows
                        self.check("lake", f"{where} (schema)", str(table.schema.metadata or {}))
                        self.check("lake", f"{where} (rows)", json.dumps(table.to_pylist(), default=str))

    def files(self, root: Path) -> None:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                self.searched["files"] += 1
                self.searched["file bytes"] += len(data)
                self.check("files", str(path.relative_to(root)), data)

    def report(self) -> str:
        counts = ", ".join(f"{n:,} {what}" for what, n in self.searched.items())
        return f"searched {len(self.secrets)} secrets in {len(self.needles)} forms: {counts}; {len(self.hits)} hits"
