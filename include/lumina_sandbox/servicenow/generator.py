"""Deterministic, realistic instance data: companies, users (with managers and companies), and task records
(incidents, requested items, changes) referencing them, with out-of-box choice values.

Stamps: records are created over the last year and updated between then and now at whole seconds; about one in
seven updates lands on one of a few hundred "batch job" seconds, so ties on ``sys_updated_on`` are common, as
they are on a real instance where scheduled jobs touch many records in one second.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from lumina_sandbox.servicenow.glide import glide_datetime
from lumina_sandbox.servicenow.records import DEFAULTS, Writer

DEFAULT_COUNTS = {"core_company": 40, "sys_user": 150, "incident": 600, "sc_req_item": 200, "change_request": 120}
ORDER = ("core_company", "sys_user", "incident", "sc_req_item", "change_request")
BATCH = 20_000  # rows per insert, so memory stays flat for large counts
FIRST = [
    "Abel",
    "Beth",
    "Carlos",
    "Dana",
    "Elif",
    "Fred",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nora",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoé",
]
LAST = [
    "Tuter",
    "Luddy",
    "Okafor",
    "Nguyen",
    "Schmidt",
    "García",
    "Kowalski",
    "Rossi",
    "Yilmaz",
    "Haddad",
    "Sato",
    "Müller",
    "Johansson",
    "Silva",
    "Novak",
    "O'Brien",
    "Dubois",
    "Fernández",
    "Kim",
    "Andersen",
]
COMPANY_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Oscorp",
    "Gringotts",
    "Nakatomi",
    "Massive",
    "Aperture",
    "Black Mesa",
]
COMPANY_B = ["Industries", "Corporation", "Logistics", "Holdings", "Systems", "GmbH", "AG", "Ltd", "S.A.", "Group"]
CITIES = [
    ("Berlin", "DE"),
    ("Paris", "FR"),
    ("Madrid", "ES"),
    ("London", "GB"),
    ("New York", "US"),
    ("San Diego", "US"),
    ("Tokyo", "JP"),
    ("Istanbul", "TR"),
    ("São Paulo", "BR"),
    ("Zürich", "CH"),
]
TITLES = [
    "Service Desk Analyst",
    "Network Engineer",
    "DBA",
    "Change Manager",
    "Sales Rep",
    "Accountant",
    "Software Engineer",
    "Facilities Coordinator",
    "HR Partner",
    "Director",
]
SYMPTOMS = [
    "Unable to connect to VPN",
    "Email not syncing on mobile",
    "Printer jam on 3rd floor",
    "Laptop battery drains fast",
    "Cannot access SAP",
    "Password reset request",
    "Slow network in office",
    "Database timeout on reports",
    "Monitor flickering",
    "Teams calls drop",
    "Software install request",
    "Disk space low on server",
    "Wi-Fi keeps disconnecting",
    "Outlook crashes on start",
]
ITEMS = [
    ("Standard Laptop", 1100.0),
    ("Apple iPad 3", 600.0),
    ("Adobe Acrobat Pro", 450.0),
    ("External Monitor", 250.0),
    ("Headset", 80.0),
    ("Developer Laptop (Mac)", 2400.0),
]
CHANGES = [
    "Upgrade firewall firmware",
    "Patch database servers",
    "Migrate mail to cloud",
    "Replace core switch",
    "Rotate TLS certificates",
    "Deploy HR portal release",
    "Decommission legacy file server",
]
PRIORITY_MATRIX = {(1, 1): 1, (1, 2): 2, (2, 1): 2, (1, 3): 3, (2, 2): 3, (3, 1): 3, (2, 3): 4, (3, 2): 4, (3, 3): 5}


class Stamps:
    """Created/updated second pairs within the last year, with many ties on updated."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now.replace(microsecond=0)
        self.batch_seconds = [self.now - timedelta(seconds=rng.randint(60, 300 * 86400)) for _ in range(300)]

    def pair(self) -> tuple[datetime, datetime]:
        created = self.now - timedelta(seconds=self.rng.randint(86400, 365 * 86400))
        if self.rng.random() < 0.15:
            later = [s for s in self.rng.sample(self.batch_seconds, 3) if s >= created]
            if later:
                return created, later[0]
        span = int((self.now - created).total_seconds())
        return created, created + timedelta(seconds=self.rng.randint(0, max(span - 30, 0)))


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _sys(values: dict[str, Any], sys_id: str, created: datetime, updated: datetime, rng: random.Random) -> None:
    values.update(
        sys_id=sys_id,
        sys_created_on=glide_datetime(created),
        sys_updated_on=glide_datetime(updated),
        sys_created_by="admin",
        sys_updated_by=rng.choice(("admin", "system", "itil", "lumina.integration")),
        sys_mod_count=str(rng.randint(0, 12) if updated > created else 0),
    )


def companies(rng: random.Random, stamps: Stamps, sys_ids: list[str]) -> list[dict[str, Any]]:
    rows = []
    for index, sys_id in enumerate(sys_ids):
        created, updated = stamps.pair()
        city, country = rng.choice(CITIES)
        name = f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}" + (f" {index // 180 + 1}" if index >= 180 else "")
        row = {
            "name": name,
            "street": f"{rng.randint(1, 250)} {rng.choice(['Main St', 'Hauptstraße', 'Rue de la Paix', 'High St'])}",
            "city": city,
            "country": country,
            "zip": f"{rng.randint(10000, 99999)}",
            "phone": f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}",
            "website": f"https://www.{name.split()[0].lower()}.example",
            "customer": "true" if rng.random() < 0.7 else "false",
            "vendor": "true" if rng.random() < 0.2 else "false",
            "parent": sys_ids[rng.randrange(index)] if index and rng.random() < 0.1 else None,
        }
        _sys(row, sys_id, created, updated, rng)
        rows.append(row)
    return rows


def users(rng: random.Random, stamps: Stamps, sys_ids: list[str], company_ids: list[str]) -> list[dict[str, Any]]:
    rows = []
    for index, sys_id in enumerate(sys_ids):
        created, updated = stamps.pair()
        first, last = _person(rng)
        user_name = f"{first.lower()}.{last.lower().replace(chr(39), '')}{index}"
        row = {
            "user_name": user_name,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "email": f"{user_name}@example.com",
            "title": rng.choice(TITLES),
            "phone": f"+1 555 {rng.randint(1000000, 9999999)}",
            "company": rng.choice(company_ids) if company_ids and rng.random() < 0.9 else None,
            "manager": sys_ids[rng.randrange(index)] if index and rng.random() < 0.8 else None,
            "active": "true" if rng.random() < 0.93 else "false",
            "locked_out": "true" if rng.random() < 0.02 else "false",
            "vip": "true" if rng.random() < 0.05 else "false",
            "time_zone": rng.choice(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]),
            "last_login_time": glide_datetime(updated) if rng.random() < 0.8 else None,
        }
        _sys(row, sys_id, created, updated, rng)
        rows.append(row)
    return rows


def _task(
    rng: random.Random, stamps: Stamps, sys_id: str, number: str, table: str, users_: list[str], companies_: list[str]
) -> tuple[dict[str, Any], datetime, datetime]:
    created, updated = stamps.pair()
    impact, urgency = rng.randint(1, 3), rng.randint(1, 3)
    row: dict[str, Any] = dict(DEFAULTS["task"])
    row.update(
        number=number,
        impact=str(impact),
        urgency=str(urgency),
        priority=str(PRIORITY_MATRIX[(impact, urgency)]),
        opened_at=glide_datetime(created),
        opened_by=rng.choice(users_) if users_ else None,
        assigned_to=rng.choice(users_) if users_ and rng.random() < 0.75 else None,
        company=rng.choice(companies_) if companies_ and rng.random() < 0.85 else None,
        due_date=glide_datetime(created + timedelta(days=rng.randint(1, 30))) if rng.random() < 0.3 else None,
        sys_class_name=table,
    )
    _sys(row, sys_id, created, updated, rng)
    return row, created, updated


def incidents(
    rng: random.Random, stamps: Stamps, sys_ids: list[str], numbers: list[str], users_: list[str], companies_: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for sys_id, number in zip(sys_ids, numbers, strict=True):
        row, _, updated = _task(rng, stamps, sys_id, number, "incident", users_, companies_)
        row.update(DEFAULTS["incident"])
        state = rng.choices(["1", "2", "3", "6", "7", "8"], [15, 25, 8, 12, 35, 5])[0]
        symptom = rng.choice(SYMPTOMS)
        row.update(
            short_description=symptom,
            description=f"{symptom}. Reported via {rng.choice(['portal', 'phone', 'email'])}; "
            f"user says: «{symptom.lower()}» ✓",
            caller_id=rng.choice(users_) if users_ else None,
            category=rng.choice(["inquiry", "software", "hardware", "network", "database"]),
            subcategory=rng.choice(["email", "vpn", "wireless", "os", "db2", None]),
            state=state,
            incident_state=state,
            severity=str(rng.randint(1, 3)),
            active="false" if state in ("7", "8") else "true",
            contact_type=rng.choice(["email", "phone", "self-service", "walk-in"]),
            reopen_count=str(rng.choices([0, 1, 2], [90, 8, 2])[0]),
        )
        if state in ("6", "7"):
            row.update(
                resolved_at=glide_datetime(updated),
                close_code=rng.choice(["Solved (Permanently)", "Solved (Work Around)", "Closed/Resolved by Caller"]),
                close_notes="Resolved after remote session.",
            )
        if state == "7":
            row["closed_at"] = glide_datetime(updated)
        rows.append(row)
    return rows


def requested_items(
    rng: random.Random, stamps: Stamps, sys_ids: list[str], numbers: list[str], users_: list[str], companies_: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for sys_id, number in zip(sys_ids, numbers, strict=True):
        row, _, updated = _task(rng, stamps, sys_id, number, "sc_req_item", users_, companies_)
        item, price = rng.choice(ITEMS)
        quantity = rng.choices([1, 2, 5], [85, 10, 5])[0]
        state = rng.choices(["-5", "1", "2", "3", "4"], [5, 20, 25, 45, 5])[0]
        row.update(
            DEFAULTS["sc_req_item"],
            short_description=item,
            requested_for=rng.choice(users_) if users_ else None,
            cat_item=item,
            quantity=str(quantity),
            price=f"{price:.2f}",
            state=state,
            stage={"3": "complete", "4": "Request Cancelled", "2": "fulfillment"}.get(state, "request_approved"),
            active="false" if state in ("3", "4") else "true",
            closed_at=glide_datetime(updated) if state in ("3", "4") else None,
        )
        rows.append(row)
    return rows


def changes(
    rng: random.Random, stamps: Stamps, sys_ids: list[str], numbers: list[str], users_: list[str], companies_: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for sys_id, number in zip(sys_ids, numbers, strict=True):
        row, created, updated = _task(rng, stamps, sys_id, number, "change_request", users_, companies_)
        state = rng.choice(["-5", "-4", "-3", "-2", "-1", "0", "3", "4"])
        start = created + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
        summary = rng.choice(CHANGES)
        row.update(
            DEFAULTS["change_request"],
            short_description=summary,
            description=f"{summary} during the maintenance window.",
            type=rng.choices(["standard", "normal", "emergency"], [40, 50, 10])[0],
            risk=str(rng.randint(1, 4)),
            category=rng.choice(["hardware", "software", "service", "network", "telecom", "other"]),
            requested_by=rng.choice(users_) if users_ else None,
            start_date=glide_datetime(start),
            end_date=glide_datetime(start + timedelta(hours=rng.randint(1, 8))),
            implementation_plan="1. Announce\n2. Implement\n3. Verify",
            cab_required="true" if rng.random() < 0.3 else "false",
            state=state,
            active="false" if state in ("3", "4") else "true",
            closed_at=glide_datetime(updated) if state in ("3", "4") else None,
        )
        rows.append(row)
    return rows


TaskMaker = Callable[..., list[dict[str, Any]]]
TASK_MAKERS: dict[str, TaskMaker] = {"incident": incidents, "sc_req_item": requested_items, "change_request": changes}


def existing_ids(writer: Writer, table: str, limit: int = 5000) -> list[str]:
    where, params = writer.classes_sql(table)
    from lumina_sandbox.servicenow.store import physical

    rows = writer.store.query(
        f'SELECT "sys_id" FROM {physical(writer.catalog.root(table))} WHERE {where} LIMIT {int(limit)}', params
    )
    return [r[0] for r in rows]


def generate(writer: Writer, table: str, count: int, rng: random.Random, now: datetime) -> int:
    """Add ``count`` generated records to ``table`` (references point at existing users/companies)."""
    if count <= 0:
        return 0
    stamps = Stamps(rng, now)
    columns = list(writer.catalog.fields(table))
    users_ = existing_ids(writer, "sys_user")
    companies_ = existing_ids(writer, "core_company")
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        sys_ids = writer.ids.many(size)
        if table == "core_company":
            rows = companies(rng, stamps, sys_ids)
        elif table == "sys_user":
            rows = users(rng, stamps, sys_ids, companies_)
        elif table in TASK_MAKERS:
            prefix = writer.catalog.table(table).number_prefix or "TASK"
            numbers = writer.ids.numbers(prefix, size)
            rows = TASK_MAKERS[table](rng, stamps, sys_ids, numbers, users_, companies_)
        else:
            raise ValueError(f"the sandbox does not generate {table} records; create them instead")
        writer.insert_rows(table, rows, columns)
        done += size
    return done


def generate_all(writer: Writer, counts: dict[str, int], seed: int, now: datetime) -> dict[str, int]:
    """The initial data: each table of ``ORDER`` with its count (``DEFAULT_COUNTS`` for those not given)."""
    merged = {**DEFAULT_COUNTS, **counts}
    unknown = set(merged) - set(ORDER)
    if unknown:
        raise ValueError(f"cannot generate {', '.join(sorted(unknown))}; generated tables: {', '.join(ORDER)}")
    rng = random.Random(f"data:{seed}")
    return {table: generate(writer, table, merged[table], rng, now) for table in ORDER}
