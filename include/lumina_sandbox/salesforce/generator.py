"""Deterministic org data: realistic, messy records for every object, streamed into SQLite in chunks.

For one seed the same values come out every time (timestamps are offsets before the sandbox clock's now). Data
carries what real orgs carry: unicode (non-Latin, emoji, quotes, commas, newlines), nulls instead of empty
text, "NA" as a real picklist value (North America; Namibia as a country code), many records sharing one
SystemModstamp (data-loader batches), records in the recycle bin. Columns are built per chunk with numpy and
written with ``executemany``, so a million Accounts never exist as a list of dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from lumina_sandbox.salesforce.catalog import (
    ACCOUNT_TYPES,
    CASE_ORIGINS,
    CASE_PRIORITIES,
    CASE_STATUSES,
    INDUSTRIES,
    INVOICE_STATUSES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    OBJECT_ORDER,
    OPPORTUNITY_TYPES,
    RATINGS,
    STAGES,
    TIERS,
)
from lumina_sandbox.salesforce.ids import BASE62, IdFactory, make_ids
from lumina_sandbox.salesforce.schema import Catalog, SObjectType
from lumina_sandbox.salesforce.store import DELETED_AT, Store

DEFAULT_COUNTS = {
    "User": 10,
    "Account": 200,
    "Contact": 400,
    "Opportunity": 300,
    "Lead": 150,
    "Case": 200,
    "Invoice__c": 50,
    "AccountHistory": 100,
}
CHUNK = 50_000
BATCH = 50  # records per data-loader batch sharing one SystemModstamp (the first batch of each chunk always does)
DAY_MS = 86_400_000
INTEGRATION_USERNAME = "integration.user@lumina-sandbox.example.com"

# (city, state, postal code, country, country code, latitude, longitude, region)
LOCATIONS: list[tuple[str, str | None, str, str, str, float, float, str]] = [
    ("San Francisco", "CA", "94105", "United States", "US", 37.7897, -122.3942, "NA"),
    ("New York", "NY", "10001", "United States", "US", 40.7506, -73.9972, "NA"),
    ("Chicago", "IL", "60601", "United States", "US", 41.8858, -87.6181, "NA"),
    ("Austin", "TX", "78701", "United States", "US", 30.2711, -97.7437, "NA"),
    ("Toronto", "ON", "M5H 2N2", "Canada", "CA", 43.6511, -79.3832, "NA"),
    ("Montréal", "QC", "H2Y 1C6", "Canada", "CA", 45.5048, -73.5540, "NA"),
    ("Ciudad de México", "CDMX", "06000", "Mexico", "MX", 19.4326, -99.1332, "LATAM"),
    ("São Paulo", "SP", "01310-100", "Brazil", "BR", -23.5614, -46.6559, "LATAM"),
    ("London", None, "EC1A 1BB", "United Kingdom", "GB", 51.5202, -0.0977, "EMEA"),
    ("München", "BY", "80331", "Germany", "DE", 48.1374, 11.5755, "EMEA"),
    ("Paris", None, "75001", "France", "FR", 48.8625, 2.3364, "EMEA"),
    ("Málaga", "AN", "29001", "Spain", "ES", 36.7213, -4.4214, "EMEA"),
    ("Amsterdam", "NH", "1012 JS", "Netherlands", "NL", 52.3731, 4.8922, "EMEA"),
    ("Göteborg", None, "411 01", "Sweden", "SE", 57.7089, 11.9746, "EMEA"),
    ("Kraków", "MA", "31-001", "Poland", "PL", 50.0614, 19.9366, "EMEA"),
    ("東京", "東京都", "100-0001", "Japan", "JP", 35.6812, 139.7671, "APAC"),
    ("上海", "上海市", "200000", "China", "CN", 31.2304, 121.4737, "APAC"),
    ("Bengaluru", "KA", "560001", "India", "IN", 12.9716, 77.5946, "APAC"),
    ("Sydney", "NSW", "2000", "Australia", "AU", -33.8688, 151.2093, "APAC"),
    ("Cape Town", "WC", "8001", "South Africa", "ZA", -33.9249, 18.4241, "EMEA"),
    ("Windhoek", "Khomas", "10005", "Namibia", "NA", -22.5609, 17.0658, "EMEA"),
]
STREETS = [
    "Market St",
    "Main Street",
    "Königstraße",
    "Rue de Rivoli",
    "Calle Larios",
    "Avenida Paulista",
    "High Street",
    "King St W",
    "銀座通り",
    "Independence Ave",
    "Long Street",
    "Herengracht",
]
COMPANY_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Nordwind",
    "Sakura",
    "Ørsted",
    "Café Lumière",
    "Müller & Söhne",
    "Blue Harbor",
    "Pinnacle",
    "Evergreen",
    "Quantum",
    "Silverline",
    "Redwood",
    "Atlas",
    "Nimbus",
    "Zenith",
    "Horizon",
    "Keystone",
    "Vértice",
    "Łódź Tech",
    "O'Brien",
    "Ōkami",
    "Северный",
]
COMPANY_B = [
    "Industries",
    "Logistics",
    "Holdings",
    "Analytics",
    "Foods",
    "Energy",
    "Health",
    "Systems",
    "Partners",
    "Labs",
    "Retail",
    "Capital",
    "Mobility",
    "Textiles",
    "Robotics",
]
COMPANY_C = ["Inc.", "LLC", "GmbH", "S.A.", "Ltd", "K.K.", "AG", "Pty Ltd", "SARL", "", "Corp.", "A/S"]
DESCRIPTIONS = [
    'Key account — renewal due in Q3.\nMain contact: "Procurement", Berlin, DE',
    "Große Kunde; Zahlungsziel 30 Tage, Rahmenvertrag bis 2027.",
    "大口顧客。年次契約、担当者は東京オフィス。",
    "Client fidèle 🚀 depuis 2015, paiement à 45 jours",
    'Multi-line note\nwith, commas and "double quotes"\r\nand a CRLF line',
    "Emoji check ✅🔥💼 — long-term partner",
    "عميل مهم في منطقة الخليج",
    "Клиент из Москвы, договор №42",
    "NA",
    "N/A",
    "Tab\tseparated\tnotes, semicolons; pipes | carets ^ and backquotes `",
    "Plain ASCII description for a standard account.",
]
FIRST_NAMES = [
    "James",
    "María",
    "José",
    "Zoë",
    "Øyvind",
    "Siobhán",
    "Łukasz",
    "Antonín",
    "明",
    "Иван",
    "Aïcha",
    "Chloé",
    "Björn",
    "Priya",
    "Wei",
    "Fatima",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Mateo",
    "Yuki",
]
FIRST_ASCII = [
    "james",
    "maria",
    "jose",
    "zoe",
    "oyvind",
    "siobhan",
    "lukasz",
    "antonin",
    "ming",
    "ivan",
    "aicha",
    "chloe",
    "bjorn",
    "priya",
    "wei",
    "fatima",
    "noah",
    "emma",
    "liam",
    "olivia",
    "mateo",
    "yuki",
]
LAST_NAMES = [
    "Smith",
    "García",
    "Müller",
    "O'Connor",
    "Nguyễn",
    "van der Berg",
    "王",
    "Ivanova",
    "Dvořák",
    "Kowalski",
    "Johnson",
    "Rossi",
    "Tanaka",
    "Okafor",
    "Andersson",
    "D'Souza",
    "Fernández",
    "Schröder",
    "Kim",
    "Brown",
]
LAST_ASCII = [
    "smith",
    "garcia",
    "mueller",
    "oconnor",
    "nguyen",
    "vanderberg",
    "wang",
    "ivanova",
    "dvorak",
    "kowalski",
    "johnson",
    "rossi",
    "tanaka",
    "okafor",
    "andersson",
    "dsouza",
    "fernandez",
    "schroeder",
    "kim",
    "brown",
]
TITLES = [
    "CEO",
    "CFO",
    "VP Sales",
    "Head of Procurement",
    "IT Director",
    "Buyer",
    "Geschäftsführer",
    "Directrice R&D",
    "Operations Manager",
    "Data Engineer",
]
SUBJECTS = [
    "Cannot log in",
    "Invoice discrepancy",
    "Lieferung verspätet",
    'Bug: export fails with "timeout"',
    "Request for quote, 3 units",
    "パスワードのリセット",
    "Feature request 🚀",
    "Billing address update",
]
PRODUCTS = ["Platform License", "Support Renewal", "Implementation", "Data Add-on", "Training", "Upsell — Seats"]


@dataclass
class Context:
    """What every object's generator needs: randomness, the clock anchor, the parents already generated."""

    seed: int
    now_ms: int
    counts: dict[str, int]
    ids: IdFactory
    first_ids: dict[str, str] = field(default_factory=dict)
    user_ids: list[str] = field(default_factory=list)

    def rng(self, sobject: str, chunk: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, OBJECT_ORDER.index(sobject), chunk])


def _pick(rng: np.random.Generator, pool: list[Any], size: int, null_share: float = 0.0) -> list[Any]:
    values = np.array(pool, dtype=object)[rng.integers(0, len(pool), size)]
    if null_share:
        values[rng.random(size) < null_share] = None
    return list(values.tolist())


def _nullify(rng: np.random.Generator, values: list[Any], null_share: float) -> list[Any]:
    mask = rng.random(len(values)) < null_share
    return [None if m else v for v, m in zip(values, mask.tolist(), strict=True)]


def _ms_text(ms: np.ndarray) -> list[str]:
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return list(np.char.add(text, "Z").tolist())


def _date_text(ms: np.ndarray) -> list[str]:
    return list(np.datetime_as_string(ms.astype("datetime64[ms]").astype("datetime64[D]"), unit="D").tolist())


def _ref_ids(
    ctx: Context, rng: np.random.Generator, parent: str, size: int, null_share: float = 0.0
) -> list[str | None]:
    """Ids of random records of ``parent`` (generated before, numbered consecutively from its first id)."""
    total = ctx.counts.get(parent, 0)
    if total == 0:
        return [None] * size
    numbers = rng.integers(0, total, size) + _id_number(ctx.first_ids[parent])
    values: list[str | None] = list(make_ids(ctx.first_ids[parent][:3], numbers))
    return _nullify(rng, values, null_share) if null_share else values


def _id_number(record_id: str) -> int:
    number = 0
    for char in record_id[6:15]:
        number = number * 62 + BASE62.index(char)
    return number


def _audit(
    ctx: Context, rng: np.random.Generator, start: int, size: int, *, deletable: bool = True
) -> dict[str, list[Any]]:
    """CreatedDate ... SystemModstamp, IsDeleted and the recycle-bin time for ``size`` records."""
    now = ctx.now_ms
    created = now - rng.integers(20 * DAY_MS, 3 * 365 * DAY_MS, size)
    modified = created + ((now - created) * rng.random(size) ** 2).astype(np.int64)
    groups = (np.arange(start, start + size) // BATCH) - start // BATCH
    group_count = int(groups.max()) + 1 if size else 0
    group_time = now - rng.integers(DAY_MS, 400 * DAY_MS, group_count) // 1000 * 1000
    group_shared = rng.random(group_count) < 0.3
    group_shared[:1] = True
    shared = group_shared[groups]
    batch_time = group_time[groups]
    modified = np.where(shared, batch_time, modified)
    created = np.where(shared, np.minimum(created, batch_time - DAY_MS), created)
    bumped = (rng.random(size) < 0.05) & ~shared
    modstamp = np.minimum(modified + np.where(bumped, rng.integers(1000, 3_600_000, size), 0), now - 1000)
    modstamp = np.maximum(modstamp, modified)
    users = np.array(ctx.user_ids, dtype=object)
    creator = users[rng.integers(0, len(users), size)].tolist() if ctx.user_ids else [None] * size
    modifier = users[rng.integers(0, len(users), size)].tolist() if ctx.user_ids else [None] * size
    result: dict[str, list[Any]] = {}
    if deletable:
        deleted = rng.random(size) < 0.02
        deleted_at = now - rng.integers(60_000, 14 * DAY_MS, size)
        modified = np.where(deleted, np.maximum(deleted_at, modified), modified)
        modstamp = np.where(deleted, np.maximum(deleted_at, modstamp), modstamp)
        deleted_at = np.where(deleted, modstamp, 0)
        result["IsDeleted"] = deleted.astype(int).tolist()
        deleted_text = _ms_text(deleted_at)
        result[DELETED_AT] = [t if d else None for t, d in zip(deleted_text, deleted.tolist(), strict=True)]
    result.update(
        {
            "CreatedDate": _ms_text(created),
            "CreatedById": creator,
            "LastModifiedDate": _ms_text(modified),
            "LastModifiedById": modifier,
            "SystemModstamp": _ms_text(modstamp),
        }
    )
    return result


def _address(
    ctx: Context, rng: np.random.Generator, prefix: str, size: int, loc: np.ndarray | None = None
) -> dict[str, list[Any]]:
    if loc is None:
        loc = rng.integers(0, len(LOCATIONS), size)
    rows = [LOCATIONS[i] for i in loc.tolist()]
    numbers = rng.integers(1, 9999, size).tolist()
    streets = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), size)].tolist()
    empty = (rng.random(size) < 0.08).tolist()
    geocoded = (rng.random(size) < 0.5).tolist()

    def part(index: int) -> list[Any]:
        return [None if e else r[index] for r, e in zip(rows, empty, strict=True)]

    return {
        f"{prefix}Street": [None if e else f"{n} {s}" for n, s, e in zip(numbers, streets, empty, strict=True)],
        f"{prefix}City": part(0),
        f"{prefix}State": part(1),
        f"{prefix}PostalCode": part(2),
        f"{prefix}Country": part(3),
        f"{prefix}CountryCode": part(4),
        f"{prefix}Latitude": [r[5] if g and not e else None for r, g, e in zip(rows, geocoded, empty, strict=True)],
        f"{prefix}Longitude": [r[6] if g and not e else None for r, g, e in zip(rows, geocoded, empty, strict=True)],
        f"{prefix}GeocodeAccuracy": ["Address" if g and not e else None for g, e in zip(geocoded, empty, strict=True)],
    }


def _users(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    ids = ctx.ids.take("005", size)
    ctx.user_ids.extend(ids)
    first = rng.integers(0, len(FIRST_NAMES), size).tolist()
    last = rng.integers(0, len(LAST_NAMES), size).tolist()
    usernames = [
        INTEGRATION_USERNAME
        if start + i == 0
        else f"{FIRST_ASCII[f]}.{LAST_ASCII[la]}{start + i}@lumina-sandbox.example.com"
        for i, (f, la) in enumerate(zip(first, last, strict=True))
    ]
    firsts = ["Integration" if start + i == 0 else FIRST_NAMES[f] for i, f in enumerate(first)]
    lasts = ["User" if start + i == 0 else LAST_NAMES[la] for i, la in enumerate(last)]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "Username": usernames,
        "FirstName": firsts,
        "LastName": lasts,
        "Name": [f"{f} {la}" for f, la in zip(firsts, lasts, strict=True)],
        "Email": usernames,
        "Alias": [u[:8] for u in usernames],
        "IsActive": [int(start + i == 0 or v) for i, v in enumerate((rng.random(size) < 0.85).tolist())],
    }
    audit = _audit(ctx, rng, start, size, deletable=False)
    if start == 0:
        audit["CreatedById"] = [ids[0]] * size
        audit["LastModifiedById"] = [ids[0]] * size
    columns.update(audit)
    return columns


def _accounts(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    ids = ctx.ids.take("001", size)
    numbers = np.arange(start + 1, start + size + 1)
    a = rng.integers(0, len(COMPANY_A), size)
    b = rng.integers(0, len(COMPANY_B), size)
    c = rng.integers(0, len(COMPANY_C), size)
    names = [
        f"{COMPANY_A[x]} {COMPANY_B[y]} {COMPANY_C[z]}".rstrip()
        for x, y, z in zip(a.tolist(), b.tolist(), c.tolist(), strict=True)
    ]
    loc = rng.integers(0, len(LOCATIONS), size)
    billing = _address(ctx, rng, "Billing", size, loc)
    same = rng.random(size) < 0.7
    shipping_loc = np.where(same, loc, rng.integers(0, len(LOCATIONS), size))
    shipping = _address(ctx, rng, "Shipping", size, shipping_loc)
    region = [LOCATIONS[i][7] for i in loc.tolist()]
    parent_pick = rng.integers(0, np.maximum(numbers - 1, 1), size)
    has_parent = (rng.random(size) < 0.1) & (numbers > 1)
    first = _id_number(ctx.first_ids.get("Account", ids[0]))
    parent_ids = make_ids("001", parent_pick + first)
    parents = [p if h else None for p, h in zip(parent_ids, has_parent.tolist(), strict=True)]
    phones = rng.integers(0, 10_000_000, size).tolist()
    revenue = (rng.lognormal(15, 2, size)).round(2)
    slugs = [n.split(" ")[0].lower().encode("ascii", "ignore").decode() or "company" for n in names]
    columns: dict[str, list[Any]] = {
        "Id": ids,
        "Name": names,
        "AccountNumber": _nullify(rng, [f"ACC-{n:07d}" for n in numbers.tolist()], 0.1),
        "Type": _pick(rng, ACCOUNT_TYPES, size, 0.1),
        "ParentId": parents,
        **billing,
        **shipping,
        "Phone": _nullify(rng, [f"+1 (555) {p // 10000:03d}-{p % 10000:04d}" for p in phones], 0.1),
        "Website": _nullify(rng, [f"https://www.{s}.example.com" for s in slugs], 0.2),
        "Industry": _pick(rng, INDUSTRIES, size, 0.1),
        "AnnualRevenue": _nullify(rng, revenue.tolist(), 0.2),
        "NumberOfEmployees": _nullify(rng, rng.integers(1, 250_000, size).tolist(), 0.15),
        "Description": _pick(rng, DESCRIPTIONS, size, 0.4),
        "Rating": _pick(rng, RATINGS, size, 0.3),
        "OwnerId": _pick(rng, ctx.user_ids, size),
        "SAP_Customer_Number__c": _nullify(rng, [f"{n:010d}" for n in numbers.tolist()], 0.4),
        "Region__c": _nullify(rng, region, 0.05),
        "Customer_Tier__c": _pick(rng, TIERS, size, 0.25),
    }
    columns.update(_audit(ctx, rng, start, size))
    return columns


def _people(rng: np.random.Generator, size: int, start: int) -> dict[str, list[Any]]:
    first = rng.integers(0, len(FIRST_NAMES), size).tolist()
    last = rng.integers(0, len(LAST_NAMES), size).tolist()
    no_first = (rng.random(size) < 0.08).tolist()
    firsts = [None if n else FIRST_NAMES[f] for f, n in zip(first, no_first, strict=True)]
    lasts = [LAST_NAMES[la] for la in last]
    emails = [
        f"{FIRST_ASCII[f]}.{LAST_ASCII[la]}{start + i}@example.com"
        for i, (f, la) in enumerate(zip(first, last, strict=True))
    ]
    return {
        "FirstName": firsts,
        "LastName": lasts,
        "Name": [f"{f} {la}" if f else la for f, la in zip(firsts, lasts, strict=True)],
        "Email": emails,
    }


def _contacts(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    people = _people(rng, size, start)
    people["Email"] = _nullify(rng, people["Email"], 0.1)
    birth = np.datetime64("1950-01-01", "ms").astype(np.int64) + rng.integers(0, 50 * 365 * DAY_MS, size)
    columns: dict[str, list[Any]] = {
        "Id": ctx.ids.take("003", size),
        "AccountId": _ref_ids(ctx, rng, "Account", size, 0.05),
        **people,
        **_address(ctx, rng, "Mailing", size),
        "Phone": _nullify(
            rng, [f"+44 20 7{n:03d} {n * 7 % 10000:04d}" for n in rng.integers(0, 1000, size).tolist()], 0.2
        ),
        "Title": _pick(rng, TITLES, size, 0.2),
        "Birthdate": _nullify(rng, _date_text(birth), 0.3),
        "HasOptedOutOfEmail": (rng.random(size) < 0.1).astype(int).tolist(),
        "LeadSource": _pick(rng, LEAD_SOURCES, size, 0.2),
        "OwnerId": _pick(rng, ctx.user_ids, size),
    }
    columns.update(_audit(ctx, rng, start, size))
    return columns


def _opportunities(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    stage = rng.integers(0, len(STAGES), size).tolist()
    close = ctx.now_ms + rng.integers(-365 * DAY_MS, 365 * DAY_MS, size)
    columns: dict[str, list[Any]] = {
        "Id": ctx.ids.take("006", size),
        "AccountId": _ref_ids(ctx, rng, "Account", size, 0.05),
        "Name": [f"Deal {start + i + 1:06d} \u2013 {p}" for i, p in enumerate(_pick(rng, PRODUCTS, size))],
        "Description": _pick(rng, DESCRIPTIONS, size, 0.6),
        "StageName": [STAGES[s][0] for s in stage],
        "Amount": _nullify(rng, rng.lognormal(10, 1.2, size).round(2).tolist(), 0.1),
        "Probability": [float(STAGES[s][1]) for s in stage],
        "CloseDate": _date_text(close),
        "Type": _pick(rng, OPPORTUNITY_TYPES, size, 0.2),
        "LeadSource": _pick(rng, LEAD_SOURCES, size, 0.3),
        "IsClosed": [int(STAGES[s][3]) for s in stage],
        "IsWon": [int(STAGES[s][4]) for s in stage],
        "ForecastCategory": [STAGES[s][2] for s in stage],
        "OwnerId": _pick(rng, ctx.user_ids, size),
    }
    columns.update(_audit(ctx, rng, start, size))
    return columns


def _leads(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    people = _people(rng, size, start)
    status = _pick(rng, LEAD_STATUSES, size)
    a = rng.integers(0, len(COMPANY_A), size).tolist()
    b = rng.integers(0, len(COMPANY_B), size).tolist()
    columns: dict[str, list[Any]] = {
        "Id": ctx.ids.take("00Q", size),
        **people,
        "Company": [f"{COMPANY_A[x]} {COMPANY_B[y]}" for x, y in zip(a, b, strict=True)],
        **_address(ctx, rng, "", size),
        "Status": status,
        "LeadSource": _pick(rng, LEAD_SOURCES, size, 0.2),
        "IsConverted": [int(s == "Closed - Converted") for s in status],
        "OwnerId": _pick(rng, ctx.user_ids, size),
    }
    columns["Email"] = _nullify(rng, columns["Email"], 0.15)
    columns.update(_audit(ctx, rng, start, size))
    return columns


def _cases(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    status = _pick(rng, CASE_STATUSES, size)
    audit = _audit(ctx, rng, start, size)
    closed = [s == "Closed" for s in status]
    columns: dict[str, list[Any]] = {
        "Id": ctx.ids.take("500", size),
        "CaseNumber": [f"{start + i + 1:08d}" for i in range(size)],
        "ContactId": _ref_ids(ctx, rng, "Contact", size, 0.1),
        "AccountId": _ref_ids(ctx, rng, "Account", size, 0.05),
        "Origin": _pick(rng, CASE_ORIGINS, size, 0.05),
        "Subject": _pick(rng, SUBJECTS, size, 0.02),
        "Priority": _pick(rng, CASE_PRIORITIES, size),
        "Description": _pick(rng, DESCRIPTIONS, size, 0.3),
        "Status": status,
        "IsClosed": [int(c) for c in closed],
        "ClosedDate": [m if c else None for m, c in zip(audit["LastModifiedDate"], closed, strict=True)],
        "OwnerId": _pick(rng, ctx.user_ids, size),
    }
    columns.update(audit)
    return columns


def _invoices(
    ctx: Context, rng: np.random.Generator, start: int, size: int, sobject: SObjectType
) -> dict[str, list[Any]]:
    status = _pick(rng, INVOICE_STATUSES, size)
    invoice_ms = ctx.now_ms - rng.integers(0, 400 * DAY_MS, size)
    columns: dict[str, list[Any]] = {
        "Id": ctx.ids.take("a01", size),
        "Name": [f"INV-{start + i + 1:04d}" for i in range(size)],
        "OwnerId": _pick(rng, ctx.user_ids, size),
        "Account__c": _ref_ids(ctx, rng, "Account", size, 0.02),
        "Amount__c": rng.lognormal(8, 1, size).round(2).tolist(),
        "Status__c": status,
        "Invoice_Date__c": _date_text(invoice_ms),
        "Due_Date__c": _date_text(invoice_ms + 30 * DAY_MS),
        "Paid__c": [int(s == "Paid") for s in status],
    }
    for wide in sobject.fields:
        if not wide.custom or wide.name in columns or not wide.stored:
            continue
        filled = rng.random(size) < 0.3
        if wide.type == "string":
            values: list[Any] = [f"{wide.name[:6]}-{v}" for v in rng.integers(0, 1000, size).tolist()]
        elif wide.type == "double":
            values = rng.normal(100, 40, size).round(2).tolist()
        elif wide.type == "date":
            values = _date_text(ctx.now_ms - rng.integers(0, 900 * DAY_MS, size))
        elif wide.type == "boolean":
            columns[wide.name] = (filled & (rng.random(size) < 0.5)).astype(int).tolist()
            continue
        else:
            values = _pick(rng, list(wide.picklist), size)
        columns[wide.name] = [v if f else None for v, f in zip(values, filled.tolist(), strict=True)]
    columns.update(_audit(ctx, rng, start, size))
    return columns


def _history(ctx: Context, rng: np.random.Generator, start: int, size: int) -> dict[str, list[Any]]:
    audit = _audit(ctx, rng, start, size, deletable=False)
    fields = _pick(rng, ["created", "Industry", "Rating", "Type"], size)
    old = [None if f == "created" else v for f, v in zip(fields, _pick(rng, RATINGS, size), strict=True)]
    new = [None if f == "created" else v for f, v in zip(fields, _pick(rng, RATINGS, size), strict=True)]
    return {
        "Id": ctx.ids.take("017", size),
        "IsDeleted": [0] * size,
        "AccountId": _ref_ids(ctx, rng, "Account", size),
        "CreatedDate": audit["CreatedDate"],
        "CreatedById": audit["CreatedById"],
        "Field": fields,
        "DataType": ["Text" if f == "created" else "Picklist" for f in fields],
        "OldValue": old,
        "NewValue": new,
    }


Builder = Callable[[Context, np.random.Generator, int, int], dict[str, list[Any]]]
_BUILDERS: dict[str, Builder] = {
    "User": _users,
    "Account": _accounts,
    "Contact": _contacts,
    "Opportunity": _opportunities,
    "Lead": _leads,
    "Case": _cases,
    "AccountHistory": _history,
}


def generate(
    store: Store,
    catalog: Catalog,
    ids: IdFactory,
    *,
    seed: int,
    counts: dict[str, int],
    now: datetime,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Fill the store's (empty) tables; returns how many records each object got."""
    wanted = {**DEFAULT_COUNTS, **counts}
    wanted["User"] = max(wanted.get("User", 1), 1)
    ctx = Context(seed=seed, now_ms=int(now.timestamp() * 1000), counts=wanted, ids=ids)
    for name in OBJECT_ORDER:
        sobject = catalog.get(name)
        total = wanted.get(name, 0)
        for chunk, start in enumerate(range(0, total, CHUNK)):
            size = min(CHUNK, total - start)
            rng = ctx.rng(name, chunk)
            if name == "Invoice__c":
                columns = _invoices(ctx, rng, start, size, sobject)
            else:
                columns = _BUILDERS[name](ctx, rng, start, size)
            if start == 0:
                ctx.first_ids[name] = columns["Id"][0]
            store.insert_many(sobject, list(columns), zip(*columns.values(), strict=True))
            if progress is not None:
                progress(name, start + size)
        store.create_indexes(sobject)
    return wanted
