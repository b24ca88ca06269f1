"""The lake side of data protection on a real pipeline run: server-side encryption of every object it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lumina_sandbox import file_drops

CRM = "filedrop_crm_accounts"
KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/lumina-lake-test"


def lake_objects(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.fixture
def kms_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shipped settings with the lake bucket switched to SSE-KMS under a key id of its own."""
    from lumina_integration.protection.settings import DEFAULT_SETTINGS_PATH

    text = DEFAULT_SETTINGS_PATH.read_text().replace(
        "  lumina-lake:\n    region: us-east-1\n    sse: AES256\n",
        f"  lumina-lake:\n    region: us-east-1\n    sse: aws:kms\n    kms_key_id: {KMS_KEY}\n",
    )
    assert KMS_KEY in text, "the shipped settings no longer declare lumina-lake as expected"
    path = tmp_path / "data_protection.yaml"
    path.write_text(text)
    monkeypatch.setenv("LUMINA_DATA_PROTECTION", str(path))
    return "lumina-lake"


@pytest.mark.integration
def test_every_object_a_pipeline_run_writes_is_encrypted_with_the_buckets_key(harness: Any, kms_lake: str) -> None:
    harness.drop(file_drops.accounts_initial(n=300))
    harness.run_ok(CRM)
    keys = lake_objects(harness.s3, kms_lake)
    zones = {key.split("/")[0] for key in keys}
    # Raw and canonical parts, manifests, quarantine parts, the validation report: every zone a run writes.
    assert {"raw", "canonical", "quarantine", "validation"} <= zones, zones
    unencrypted = []
    for key in keys:
        head = harness.s3.head_object(Bucket=kms_lake, Key=key)
        if (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) != ("aws:kms", KMS_KEY):
            unencrypted.append(key)
    assert unencrypted == [], f"{len(unencrypted)} of {len(keys)} objects without the bucket's SSE-KMS key"
    print(f"SSE checked on {len(keys)} objects in zones {sorted(zones)}")
