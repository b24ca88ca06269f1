"""Every object the lake client creates asks for its bucket's server-side encryption (against the moto S3 server)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig

from lumina_integration.protection.sse import upload_args
from lumina_integration.staging.parts import PartWriter
from lumina_integration.staging.s3 import s3_client

KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/lumina-test"


@pytest.fixture
def kms_bucket(bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``bucket`` declared SSE-KMS with a key id, in a settings file of its own."""
    path = tmp_path / "data_protection.yaml"
    path.write_text(
        "buckets:\n"
        f"  {bucket}:\n    region: us-east-1\n    sse: aws:kms\n    kms_key_id: {KMS_KEY}\n"
        "  plain-bucket:\n    region: eu-west-1\n"
    )
    monkeypatch.setenv("LUMINA_DATA_PROTECTION", str(path))
    return bucket


@pytest.fixture
def lake(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LUMINA_TEST_LAKE",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}}),
    )
    return s3_client("lumina_test_lake")


def encryption(s3: Any, bucket: str, key: str) -> tuple[str | None, str | None]:
    head = s3.head_object(Bucket=bucket, Key=key)
    return head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")


def test_upload_args_follow_the_buckets_declaration(kms_bucket: str) -> None:
    assert upload_args(kms_bucket) == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}
    assert upload_args("plain-bucket") == {"ServerSideEncryption": "AES256"}
    assert upload_args("nobody-declared-this") == {"ServerSideEncryption": "AES256"}


def test_every_kind_of_upload_asks_for_the_buckets_kms_key(kms_bucket: str, lake: Any, s3: Any) -> None:
    lake.put_object(Bucket=kms_bucket, Key="put.json", Body=b"{}")
    # A caller asking for less than the policy still gets the policy.
    lake.put_object(Bucket=kms_bucket, Key="weaker.json", Body=b"{}", ServerSideEncryption="AES256")
    # Multipart, as boto3's transfer manager uploads a large file.
    small_parts = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    lake.upload_fileobj(io.BytesIO(b"x" * (11 * 1024 * 1024)), kms_bucket, "multipart.bin", Config=small_parts)
    # A copy does not inherit the source's encryption unless asked.
    s3.put_object(Bucket=kms_bucket, Key="clear.json", Body=b"{}")
    lake.copy_object(Bucket=kms_bucket, Key="copied.json", CopySource={"Bucket": kms_bucket, "Key": "clear.json"})
    for key in ("put.json", "weaker.json", "multipart.bin", "copied.json"):
        assert encryption(s3, kms_bucket, key) == ("aws:kms", KMS_KEY), key
    assert encryption(s3, kms_bucket, "clear.json") == (None, None), "the plain client is not the lake's"


def test_parts_and_manifests_of_an_undeclared_bucket_get_sse_s3(bucket: str, lake: Any, s3: Any) -> None:
    import pyarrow as pa

    assert bucket not in {"lumina-lake", "lumina-landing"}
    writer = PartWriter(lake, bucket, "raw/x/", part_rows=2)
    writer.write(pa.table({"id": [1, 2]}))
    writer.write(pa.table({"id": [3]}))
    manifest = writer.close()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == len(manifest.parts) + 1 == 3
    assert {encryption(s3, bucket, key) for key in keys} == {("AES256", None)}


@pytest.mark.parametrize(
    ("buckets", "expected"),
    [
        (
            "  b:\n    region: us-east-1\n    kms_key_id: alias/x\n",
            "2: buckets.b: Value error, kms_key_id needs sse: aws:kms",
        ),
        ("  b:\n    region: US East\n", "3: buckets.b.region: String should match pattern"),
        (
            "  b:\n    region: us-east-1\n    sse: aws:kms-dsse\n",
            "4: buckets.b.sse: Input should be 'AES256' or 'aws:kms'",
        ),
    ],
)
def test_a_bucket_declaration_s3_would_refuse_is_an_error_naming_its_line(
    tmp_path: Path, buckets: str, expected: str
) -> None:
    from lumina_integration.protection.settings import DataProtectionSettings
    from lumina_integration.yaml_models import YamlModelError, load_yaml_model

    path = tmp_path / "data_protection.yaml"
    path.write_text("buckets:\n" + buckets)
    with pytest.raises(YamlModelError, match=r"data_protection.yaml:" + re.escape(expected)):
        load_yaml_model(DataProtectionSettings, path)
