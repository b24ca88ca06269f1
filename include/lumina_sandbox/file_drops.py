"""Generated enterprise exports for the file-drop demo and tests: CSV accounts, XML products, JSON tickets.

Deterministic for a seed, so a re-run uploads byte-identical files (same ETags) and a correct
pipeline loads nothing twice. Each generator returns the files and the source truth they encode.
A few records are deliberately broken (a bad date, an unknown status, a short CSV line) to prove
they are quarantined with a reason instead of dropped.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape, quoteattr

BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
ACCOUNT_FIELDS = [
    "AccountId",
    "AccountName",
    "Email",
    "Phone",
    "Country",
    "Industry",
    "Status",
    "AnnualRevenue",
    "Employees",
    "CreatedDate",
    "LastModifiedDate",
    "IsDeleted",
]
_COUNTRIES = ["US", "DE", "FR", "GB", "JP", "BR", "IN", "NL"]
_INDUSTRIES = ["Manufacturing", "Retail", "Software", "Energy", "Finance", ""]


@dataclass
class Drop:
    """Files to upload (key -> bytes) and the records they carry, keyed by source id."""

    files: dict[str, bytes] = field(default_factory=dict)
    truth: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: set[str] = field(default_factory=set)  # source ids that must land in quarantine


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def account(i: int, rng: random.Random, modified: datetime, **overrides: Any) -> dict[str, Any]:
    row = {
        "AccountId": f"ACC-{i:06d}",
        "AccountName": f"Ácme {i} Ltd" if i % 7 == 0 else f"Company {i}",
        "Email": f"contact{i}@example{i % 13}.com",
        "Phone": f"+1-555-{i:07d}",
        "Country": rng.choice(_COUNTRIES).lower() if i % 5 == 0 else rng.choice(_COUNTRIES),
        "Industry": rng.choice(_INDUSTRIES),
        "Status": rng.choice(["Active", "active", "Prospect", "Inactive"]),
        "AnnualRevenue": f"{rng.randint(0, 10**9) / 100:.2f}",
        "Employees": str(rng.randint(1, 50000)),
        "CreatedDate": _iso(BASE_TIME - timedelta(days=rng.randint(1, 900))),
        "LastModifiedDate": _iso(modified),
        "IsDeleted": "false",
    }
    row.update(overrides)
    return row


def _csv(rows: list[dict[str, Any]], broken_lines: list[str] = ()) -> bytes:  # type: ignore[assignment]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ACCOUNT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    for line in broken_lines:
        buffer.write(line + "\n")
    return buffer.getvalue().encode()


def accounts_initial(n: int = 2000, seed: int = 7) -> Drop:
    """The first full export, split over two files, with three broken records."""
    rng = random.Random(seed)
    rows = [account(i, rng, BASE_TIME + timedelta(minutes=i % 90)) for i in range(1, n + 1)]
    rows[10]["CreatedDate"] = "31/02/2026"  # unreadable date -> quarantined by the transform
    rows[20]["Status"] = "Suspended"  # not an allowed status -> quarantined by validation
    drop = Drop()
    half = n // 2
    drop.files["crm/accounts/accounts_full_part1.csv"] = _csv(rows[:half])
    drop.files["crm/accounts/accounts_full_part2.csv"] = _csv(rows[half:], ["ACC-999999,Short Row Ltd"])
    drop.truth = {r["AccountId"]: r for r in rows}
    drop.rejected = {rows[10]["AccountId"], rows[20]["AccountId"]}
    return drop


def accounts_delta(previous: Drop, seed: int = 8) -> Drop:
    """A later delta: updates (one of them older than the warehouse's copy), new rows and deletions."""
    rng = random.Random(seed)
    later = BASE_TIME + timedelta(days=1)
    ids = sorted(i for i in previous.truth if i not in previous.rejected)
    changed = []
    for source_id in ids[:50]:
        row = dict(previous.truth[source_id], Status="Inactive", LastModifiedDate=_iso(later))
        changed.append(row)
    stale = dict(
        previous.truth[ids[60]],
        AccountName="Stale Copy",
        LastModifiedDate=_iso(BASE_TIME - timedelta(days=30)),
    )
    deleted = [dict(previous.truth[s], IsDeleted="true", LastModifiedDate=_iso(later)) for s in ids[100:105]]
    start = len(previous.truth) + 1
    new = [account(i, rng, later) for i in range(start, start + 25)]
    drop = Drop(files={"crm/accounts/accounts_delta_0001.csv": _csv([*changed, stale, *deleted, *new])})
    drop.truth = dict(previous.truth)
    drop.truth.update({r["AccountId"]: r for r in changed + deleted + new})
    drop.rejected = set(previous.rejected)
    return drop


def products(n: int = 300, seed: int = 11) -> Drop:
    """An XML catalog export with attributes, nested prices, empty elements and unicode."""
    rng = random.Random(seed)
    items, truth = [], {}
    for i in range(1, n + 1):
        sku = f"MAT-{i:08d}"
        changed = (BASE_TIME + timedelta(hours=i % 48)).astimezone(timezone(timedelta(hours=1)))
        record = {
            "sku": sku,
            "Name": f"Bauteil Nr. {i} \u2013 Gr\u00f6\u00dfe {rng.choice('SML')}",  # unicode on purpose
            "Category": rng.choice(["Pumps", "Valves", "Sensors", ""]),
            "Amount": f"{rng.randint(100, 999999) / 100:.2f}",
            "Currency": rng.choice(["EUR", "usd"]),
            "WeightKg": f"{rng.random() * 40:.3f}",
            "Status": rng.choice(["ACTIVE", "ACTIVE", "DISCONTINUED"]),
            "ChangedAt": changed.strftime("%Y%m%d%H%M%S"),
        }
        truth[sku] = record
        items.append(
            f"  <Product sku={quoteattr(sku)}>\n"
            f"    <Name>{escape(record['Name'])}</Name>\n"
            + (f"    <Category>{record['Category']}</Category>\n" if record["Category"] else "    <Category/>\n")
            + f"    <Price><Amount>{record['Amount']}</Amount><Currency>{record['Currency']}</Currency></Price>\n"
            f"    <WeightKg>{record['WeightKg']}</WeightKg>\n"
            f"    <Status>{record['Status']}</Status>\n"
            f"    <ChangedAt>{record['ChangedAt']}</ChangedAt>\n"
            "  </Product>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Catalog exported="2026-11-01">\n'
        + "\n".join(items)
        + "\n</Catalog>\n"
    )
    return Drop(files={"erp/products/catalog_20261101.xml": body.encode()}, truth=truth)


def ticket(i: int, rng: random.Random, updated: datetime, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 10_000 + i,
        "account_id": f"ACC-{rng.randint(1, 2000):06d}",
        "subject": f"Ticket {i}: {rng.choice(['Login fails', 'Invoice wrong', 'Pump noisy', 'Zugang gesperrt'])}",
        "state": rng.choice(["new", "open", "solved", "on-hold"]),
        "priority": rng.choice(["Low", "medium", "HIGH", None]),
        "requester_email": f"user{i}@customer.example",
        "created_at": _iso(BASE_TIME - timedelta(hours=i)),
        "solved_at": None,
        "updated_at": _iso(updated),
        "tags": ["vip"] if i % 10 == 0 else [],
        "deleted": False,
    }
    row.update(overrides)
    return row


def tickets_initial(n: int = 600, seed: int = 13) -> Drop:
    """Half the tickets as JSON lines, half as a JSON document with a ``tickets`` array."""
    rng = random.Random(seed)
    rows = [ticket(i, rng, BASE_TIME + timedelta(minutes=i)) for i in range(1, n + 1)]
    half = n // 2
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:half]) + "\n{not json\n"
    document = json.dumps({"export": "helpdesk", "tickets": rows[half:]}, ensure_ascii=False, indent=1)
    drop = Drop(
        files={
            "helpdesk/tickets/tickets_0001.jsonl": lines.encode(),
            "helpdesk/tickets/tickets_0002.json": document.encode(),
        },
        truth={str(r["id"]): r for r in rows},
    )
    return drop


def tickets_delta(previous: Drop, seed: int = 14) -> Drop:
    """Closed tickets and tickets deleted at the source (hard-deleted in the warehouse by policy)."""
    later = BASE_TIME + timedelta(days=1)
    ids = sorted(previous.truth)
    closed = [dict(previous.truth[i], state="solved", solved_at=_iso(later), updated_at=_iso(later)) for i in ids[:30]]
    deleted = [dict(previous.truth[i], deleted=True, updated_at=_iso(later)) for i in ids[30:35]]
    lines = "\n".join(json.dumps(r) for r in closed + deleted) + "\n"
    truth = dict(previous.truth)
    truth.update({str(r["id"]): r for r in closed + deleted})
    return Drop(files={"helpdesk/tickets/tickets_0003.jsonl": lines.encode()}, truth=truth)


def upload(client: Any, bucket: str, drop: Drop) -> None:
    """Upload a drop's files (creating the bucket when needed)."""
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)
    for key, body in drop.files.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
