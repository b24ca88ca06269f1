"""Every S3 client the project writes with comes from staging/s3.s3_client, where SSE is hooked in.

A boto3 client built elsewhere, or the S3Hook's own upload helpers (load_bytes, load_file...), would upload
without the bucket's server-side encryption (docs/protection/lake.md).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALLOWED = {ROOT / "include" / "lumina_integration" / "staging" / "s3.py"}
# The sandbox plays the source systems (their buckets are not the lake), and tests build their own clients.
SCANNED = [ROOT / "include" / "lumina_integration", ROOT / "dags", ROOT / "plugins"]
BYPASSES = re.compile(
    r"boto3\.(client|resource)\(|boto3\.session|S3Hook\([^)]*\)\.(get_conn|load_\w+|copy_object)|"
    r"\.(load_bytes|load_string|load_file|load_file_obj)\("
)


def test_no_module_builds_its_own_s3_client_or_uploads_through_s3hook() -> None:
    sources = [p for folder in SCANNED for p in folder.rglob("*.py")]
    assert len(sources) > 100
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sources
        if path not in ALLOWED
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BYPASSES.search(line)
    ]
    assert found == [], "S3 clients outside staging/s3.s3_client:\n" + "\n".join(found)


def test_the_pattern_catches_the_usual_ways() -> None:
    for line in (
        'client = boto3.client("s3")',
        "S3Hook(aws_conn_id=c).get_conn().put_object(...)",
        "hook.load_bytes(data, key, bucket)",
        "boto3.session.Session().client('s3')",
    ):
        assert BYPASSES.search(line), line
    assert not BYPASSES.search("lake = s3_client(conn_id)")
