"""The lake side of data protection on real pipeline runs: server-side encryption of every object a run
writes, and validation reports and quarantine reasons that never quote a personal column's values."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lumina_sandbox import file_drops

CRM = "filedrop_crm_accounts"
KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/lumina-lake-test"


def lake_objects(s3: Any, bucket: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def unencrypted_objects(s3: Any, bucket: str, keys: list[str]) -> list[str]:
    """The keys whose object does not carry the bucket's SSE-KMS key."""
    found = []
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        if (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) != ("aws:kms", KMS_KEY):
            found.append(key)
    return found


# E-mails the customer suite's regex refuses; each must appear nowhere but in the source file.
SHORT_ROW_EMAIL = "short.row@@leak.example"
BAD_EMAILS = [f"jane.doe{i}@@leaky{i}.example" for i in range(6)] + ["no-at-sign.k7q2", "two words@x.example"]


def settings_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str) -> str:
    """The shipped data_protection.yaml with one passage replaced, in force for the test."""
    from lumina_integration.protection.settings import DEFAULT_SETTINGS_PATH

    shipped = DEFAULT_SETTINGS_PATH.read_text()
    assert old in shipped, f"the shipped settings no longer hold {old!r}"
    path = tmp_path / "data_protection.yaml"
    path.write_text(shipped.replace(old, new))
    monkeypatch.setenv("LUMINA_DATA_PROTECTION", str(path))
    return str(path)


def accounts_with_bad_emails(n: int = 60) -> file_drops.Drop:
    rng = random.Random(3)
    rows = [file_drops.account(i, rng, file_drops.BASE_TIME + timedelta(minutes=i)) for i in range(1, n + 1)]
    for row, email in zip(rows[5::7], BAD_EMAILS, strict=False):
        row["Email"] = email
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=file_drops.ACCOUNT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    # A line the CSV reader cannot split into the header's fields: its error row must not quote it.
    buffer.write(f"ACC-999999,Short Row Ltd,{SHORT_ROW_EMAIL}\n")
    return file_drops.Drop(files={"crm/accounts/accounts_bad_emails.csv": buffer.getvalue().encode()})


@pytest.fixture
def kms_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shipped settings with the lake bucket switched to SSE-KMS under a key id of its own."""
    settings_with(
        tmp_path,
        monkeypatch,
        "  lumina-lake:\n    region: us-east-1\n    sse: AES256\n",
        f"  lumina-lake:\n    region: us-east-1\n    sse: aws:kms\n    kms_key_id: {KMS_KEY}\n",
    )
    return "lumina-lake"


@pytest.mark.integration
def test_every_object_a_pipeline_run_writes_is_encrypted_with_the_buckets_key(harness: Any, kms_lake: str) -> None:
    harness.drop(file_drops.accounts_initial(n=300))
    harness.run_ok(CRM)
    keys = lake_objects(harness.s3, kms_lake)
    zones = {key.split("/")[0] for key in keys}
    # Raw and canonical parts, manifests, quarantine parts, the validation report: every zone a run writes.
    assert {"raw", "canonical", "quarantine", "validation"} <= zones, zones
    unencrypted = unencrypted_objects(harness.s3, kms_lake, keys)
    assert unencrypted == [], f"{len(unencrypted)} of {len(keys)} objects without the bucket's SSE-KMS key"
    print(f"SSE checked on {len(keys)} objects in zones {sorted(zones)}")


@pytest.mark.integration
def test_a_bulk_salesforce_run_encrypts_its_checkpoints_and_drift_snapshot_too(
    harness: Any, salesforce: Any, kms_lake: str
) -> None:
    harness.run_ok("salesforce_account")  # 1,200 records: a Bulk 2.0 job, whose id is checkpointed
    keys = lake_objects(harness.s3, kms_lake)
    zones = {key.split("/")[0] for key in keys}
    assert {"raw", "canonical", "validation", "checkpoints", "schema"} <= zones, zones
    unencrypted = unencrypted_objects(harness.s3, kms_lake, keys)
    assert unencrypted == [], f"{len(unencrypted)} of {len(keys)} objects without the bucket's SSE-KMS key"
    print(f"SSE checked on {len(keys)} objects in zones {sorted(zones)}")


@pytest.mark.integration
def test_reports_and_reasons_mask_personal_values_even_when_the_policy_keeps_them(
    harness: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every class kept in clear: the masking must not rely on the transform having protected the column.
    settings_with(
        tmp_path,
        monkeypatch,
        "    direct: tokenize\n    sensitive: encrypt\n",
        "    direct: keep\n    sensitive: keep\n",
    )
    harness.drop(accounts_with_bad_emails())
    run = harness.run(CRM)
    result = harness.load_result(run)
    assert result["rows_quarantined"] == len(BAD_EMAILS) + 1, "the bad e-mails and the short row"

    keys = [k for k in lake_objects(harness.s3, "lumina-lake") if k.startswith("validation/")]
    [report_key] = [k for k in keys if k.endswith("report.json")]
    report_text = harness.s3.get_object(Bucket="lumina-lake", Key=report_key)["Body"].read().decode()
    leaked = [email for email in BAD_EMAILS if email in report_text]
    assert leaked == [], f"the validation report quotes {leaked}"
    report = json.loads(report_text)
    [regex] = [
        e
        for part in report["parts"]
        for e in part["expectations"]
        if e["type"] == "expect_column_values_to_match_regex" and e["kwargs"]["column"] == "email"
    ]
    assert regex["details"]["unexpected_count"] == len(BAD_EMAILS)
    assert regex["details"]["partial_unexpected_list"] == ["<masked:direct>"] * len(BAD_EMAILS)
    assert regex["details"]["unexpected_percent"] == pytest.approx(100 * len(BAD_EMAILS) / 60)

    reasons = [r[0] for r in harness.rows("SELECT reason FROM {s}.lumina_quarantine WHERE pipeline_id = :p", p=CRM)]
    assert sum("value <masked:direct> does not match regex" in r for r in reasons) == len(BAD_EMAILS), reasons
    assert not [email for email in [*BAD_EMAILS, SHORT_ROW_EMAIL] if any(email in r for r in reasons)]


@pytest.mark.integration
def test_the_plan_refuses_a_lake_that_is_not_where_the_settings_declare_it(
    harness: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import boto3

    # The settings (and so parsing) say us-east-1; the lake connection and the bucket itself moved to Frankfurt.
    endpoint = harness.s3.meta.endpoint_url
    monkeypatch.setenv(
        "AIRFLOW_CONN_LUMINA_LAKE",
        json.dumps({"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "eu-central-1"}}),
    )
    frankfurt = boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1")
    harness.s3.delete_bucket(Bucket="lumina-lake")
    frankfurt.create_bucket(Bucket="lumina-lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    try:
        harness.drop(file_drops.accounts_initial(n=30))
        run = harness.run(CRM)
        states = harness.states(run)
        assert states["plan"] == "failed" and states["extract"] == "upstream_failed", states
        assert lake_objects(harness.s3, "lumina-lake") == [], "nothing staged"
        assert harness.count("customer") == 0
        log = "".join(capfd.readouterr())
        assert (
            "residency: the lake connection 'lumina_lake' has region_name eu-central-1, but bucket 'lumina-lake' "
            "is declared in us-east-1"
        ) in log
        assert "bucket 'lumina-lake' is in eu-central-1 according to S3, but data_protection.yaml declares it" in log
    finally:
        frankfurt.delete_bucket(Bucket="lumina-lake")
        harness.s3.create_bucket(Bucket="lumina-lake")


def test_residency_messages_name_the_connection_and_the_buckets_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumina_integration.factory.spec import PipelineSpec
    from lumina_integration.protection.residency import lake_region_problems

    settings_with(
        tmp_path, monkeypatch, "  lumina-lake:\n    region: us-east-1\n", "  lumina-lake:\n    region: eu-central-1\n"
    )
    spec = PipelineSpec.model_validate(
        {
            "dag_id": "p",
            "owner": "o",
            "schedule": "@daily",
            "start_date": "2026-01-01",
            "source": {"type": "file_drop", "conn_id": "c", "object": "s3://x/"},
            "mapping": "crm_accounts_customer",
            "region": "eu-central-1",
        }
    )
    assert lake_region_problems(spec, "eu-central-1", "eu-central-1") == []
    assert lake_region_problems(spec, None, None) == []
    first, second = lake_region_problems(spec, "us-east-1", "us-east-1")
    assert (
        "lake connection 'lumina_lake' has region_name us-east-1, but bucket 'lumina-lake' is declared in eu-central-1"
        in first
    )
    assert "bucket 'lumina-lake' is in us-east-1 according to S3" in second
    assert lake_region_problems(spec.model_copy(update={"region": None}), "us-east-1", "us-east-1") == []


@pytest.mark.integration
def test_task_logs_never_print_record_values(
    harness: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import os

    settings_with(
        tmp_path,
        monkeypatch,
        "    direct: tokenize\n    sensitive: encrypt\n",
        "    direct: keep\n    sensitive: keep\n",
    )
    drop = accounts_with_bad_emails()
    harness.drop(drop)
    capfd.readouterr()
    harness.load_result(harness.run(CRM))
    captured = "".join(capfd.readouterr())
    home = Path(os.environ["AIRFLOW_HOME"])
    files = [p for p in home.rglob("*.log") if p.is_file()]
    logs = captured + "".join(p.read_text(errors="replace") for p in files)
    assert "Validation of customer v1" in logs, "the task logs were not captured"
    rows = list(csv.DictReader(io.StringIO(drop.files["crm/accounts/accounts_bad_emails.csv"].decode())))
    values = {r["Email"] for r in rows} | {r["Phone"] for r in rows} | {SHORT_ROW_EMAIL}
    hits = sorted(v for v in values if v and v in logs)
    assert hits == [], f"{len(hits)} record values in the task logs, e.g. {hits[:3]}"
    print(f"searched {len(logs.splitlines())} log lines ({len(files)} files) for {len(values)} values")


@pytest.mark.integration
def test_a_salesforce_contact_run_logs_none_of_its_contacts_values(
    harness: Any, salesforce: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    settings_with(
        tmp_path,
        monkeypatch,
        "    direct: tokenize\n    sensitive: encrypt\n",
        "    direct: keep\n    sensitive: keep\n",
    )
    org = salesforce.org
    # The sandbox refuses malformed e-mails as Salesforce does: these values are all well formed.
    contacts = org.truth("Contact", ["Email", "Phone", "FirstName", "LastName"])
    capfd.readouterr()
    result = harness.run_ok("salesforce_contact")
    logs = "".join(capfd.readouterr())
    assert result["rows_inserted"] == len(contacts), result
    assert "Validation of contact v1" in logs, "the task logs were not captured"
    values = {r[f] for r in contacts for f in ("Email", "Phone") if r.get(f)}
    values |= {f"{r['FirstName']} {r['LastName']}" for r in contacts if r.get("FirstName")}
    hits = sorted(v for v in values if v in logs)
    assert hits == [], f"{len(hits)} contact values in the task logs, e.g. {hits[:3]}"
    print(f"searched {len(logs.splitlines())} log lines for {len(values)} contact values")
