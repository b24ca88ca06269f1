"""Deterministic SAP data with every quirk the SAP pipelines must survive.

- KUNNR ``0000000001``... (ALPHA-padded, the numbers Salesforce's ``SAP_Customer_Number__c``
  holds) and one non-numeric customer number; MATNR padded to 18 digits and a few non-numeric.
- DATS ``00000000`` for "never changed" and for migrated customers without a creation date;
  one order with document date ``20241399`` (impossible: it must be quarantined with its reason).
- NUMC ``POSNR`` ``000010``...; TIMS ``ERZET``; CHAR values with trailing blanks.
- CURR ``NETWR`` in EUR, USD, JPY (0 decimals in TCURX) and KWD (3): stored with two decimals.
- Texts in English and German, some materials only in German (language fallback).
- ``VDATU`` appended after go-live: NULL in older orders.
- A second client (``200``, a copy for testing) with the same keys and other data: must never leak.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from lumina_sandbox.sap.system import SapSystem

CURRENCIES = [("EUR", 5), ("USD", 3), ("JPY", 1), ("KWD", 1)]  # (key, weight)
TCURX = [("JPY", 0), ("KWD", 3), ("CLP", 0), ("BHD", 3)]
COUNTRIES = ["DE", "US", "JP", "FR", "KW", "GB"]
CITIES = ["Walldorf", "Chicago", "Osaka", "Lyon", "Kuwait City", "Leeds"]
INDUSTRIES = ["MANU", "RETL", "CHEM", "HITE", ""]
NAMES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "Soylent", "Cyberdyne"]
SUFFIXES = ["GmbH", "Inc.", "K.K.", "S.A.", "Ltd", "AG"]
MATERIALS_EN = ["Steel bolt", "Hex nut", "Washer", "Bearing", "Gear", "Shaft", "Spring", "Valve", "Pump", "Seal"]
MATERIALS_DE = ["Stahlbolzen", "Sechskantmutter", "Scheibe", "Lager", "Zahnrad", "Welle", "Feder", "Ventil", "Pumpe"]
NON_NUMERIC_MATERIALS = ["BOLT-M8-ZN", "NUT-M8", "KIT-ASSEMBLY"]


@dataclass(frozen=True)
class Sizes:
    customers: int = 60
    materials: int = 40
    orders: int = 120
    max_items: int = 5


def kunnr(number: int) -> str:
    return f"{number:010d}"


def matnr(number: int) -> str:
    return f"{number:018d}"


def vbeln(number: int) -> str:
    return f"{4_700 + number:010d}"


def posnr(item: int) -> str:
    return f"{item * 10:06d}"


def amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(100, 5_000_000)) / 100


def generate(system: SapSystem, sizes: Sizes = Sizes(), seed: int = 4) -> None:
    """Fill the (freshly created) tables; the same seed always writes the same rows."""
    rng = random.Random(seed)
    start = system.now()
    with system.engine.begin() as conn:
        system.insert(conn, "T000", [{"MANDT": "100", "MTEXT": "Production"}, {"MANDT": "200", "MTEXT": "Test copy"}])
        system.insert(conn, "TCURX", [{"CURRKEY": k, "CURRDEC": d} for k, d in TCURX])
        customers = _customers(system, rng, sizes, start)
        materials = _materials(system, rng, sizes, start)
        system.insert(conn, "KNA1", customers)
        system.insert(conn, "MARA", [m for m, _ in materials])
        system.insert(conn, "MAKT", [t for _, texts in materials for t in texts])
        orders, items = _orders(
            system, rng, sizes, start, [c["KUNNR"] for c in customers], [m["MATNR"] for m, _ in materials]
        )
        system.insert(conn, "VBAK", orders)
        system.insert(conn, "VBAP", items)
        # The test client: same keys, other data. A pipeline that forgets MANDT duplicates these.
        system.insert(conn, "KNA1", [{**c, "MANDT": "200", "NAME1": "TEST " + c["NAME1"][:30]} for c in customers[:5]])
        system.insert(conn, "VBAK", [{**o, "MANDT": "200", "NETWR": Decimal("1.00")} for o in orders[:5]])
        system.insert(conn, "VBAP", [{**i, "MANDT": "200"} for i in items[:5]])


def _customers(system: SapSystem, rng: random.Random, sizes: Sizes, start: Any) -> list[dict[str, Any]]:
    rows = []
    for n in range(1, sizes.customers + 1):
        created = start - timedelta(days=rng.randint(30, 900), seconds=rng.randint(0, 86_399))
        name = f"{rng.choice(NAMES)} {rng.choice(SUFFIXES)}"
        country = rng.randrange(len(COUNTRIES))
        rows.append(
            {
                "MANDT": system.client,
                "KUNNR": kunnr(n) if n != sizes.customers else "CUST-A",
                "LAND1": COUNTRIES[country],
                # CHAR padding as older interfaces wrote it.
                "NAME1": name + ("   " if n % 7 == 0 else ""),
                "ORT01": CITIES[country],
                "PSTLZ": f"{rng.randint(10000, 99999)}",
                "TELF1": "" if n % 5 == 0 else f"+49 6227 {rng.randint(1000, 9999)}",
                "BRSCH": rng.choice(INDUSTRIES),
                "KTOKD": "0001",
                "SPRAS": "E" if country else "D",
                # Customers migrated from a legacy system have no creation date.
                "ERDAT": "00000000" if n % 11 == 0 else system.stamp(created)[0],
                "ERNAM": "MIGRATION" if n % 11 == 0 else "SALES01",
                "LOEVM": "X" if n % 13 == 0 else "",
                "SPERR": "",
            }
        )
    return rows


def _materials(
    system: SapSystem, rng: random.Random, sizes: Sizes, start: Any
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    out = []
    for n in range(1, sizes.materials + 1):
        number = (
            f"{NON_NUMERIC_MATERIALS[(n // 15) % len(NON_NUMERIC_MATERIALS)]}-{n // 15}"
            if n % 15 == 0
            else matnr(1000 + n)
        )
        created = start - timedelta(days=rng.randint(100, 2000))
        weight = Decimal(rng.randint(1, 50_000)) / 1000
        mara = {
            "MANDT": system.client,
            "MATNR": number,
            "ERSDA": system.stamp(created)[0],
            "ERNAM": "MDM",
            "LAEDA": "00000000",
            "MTART": "FERT" if n % 3 else "HAWA",
            "MATKL": f"M{n % 4:02d}   ",
            "MEINS": "ST",
            "BRGEW": weight + Decimal("0.050"),
            "NTGEW": weight,
            "GEWEI": "KG",
            "LVORM": "X" if n % 17 == 0 else "",
        }
        texts = [{"MANDT": system.client, "MATNR": number, "SPRAS": "D", "MAKTX": MATERIALS_DE[n % len(MATERIALS_DE)]}]
        if n % 6:  # every sixth material was never translated: the German text must be used
            texts.append(
                {
                    "MANDT": system.client,
                    "MATNR": number,
                    "SPRAS": "E",
                    "MAKTX": MATERIALS_EN[n % len(MATERIALS_EN)] + " " * (n % 3),
                }
            )
        out.append((mara, texts))
    return out


def _orders(
    system: SapSystem, rng: random.Random, sizes: Sizes, start: Any, customers: list[str], materials: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    orders, items = [], []
    weights = [w for _, w in CURRENCIES]
    for n in range(1, sizes.orders + 1):
        created = start - timedelta(days=rng.randint(1, 120), seconds=rng.randint(0, 86_399))
        erdat, erzet = system.stamp(created)
        currency = rng.choices([c for c, _ in CURRENCIES], weights)[0]
        lines = [
            _item(system, rng, n, i, erdat, erzet, currency, materials)
            for i in range(1, rng.randint(1, sizes.max_items) + 1)
        ]
        audat = "20241399" if n == 7 else ("00000000" if n == 9 else erdat)
        orders.append(
            {
                "MANDT": system.client,
                "VBELN": vbeln(n),
                "ERDAT": erdat,
                "ERZET": erzet,
                "ERNAM": "SALES01",
                "AUDAT": audat,
                "VBTYP": "C",
                "AUART": "TA",
                "NETWR": sum((i["NETWR"] for i in lines), Decimal("0.00")),
                "WAERK": currency,
                "VKORG": "1000",
                "KUNNR": rng.choice(customers),
                "AEDAT": "00000000",
                "VDATU": None if n % 4 == 0 else system.stamp(created + timedelta(days=14))[0],
                "BSTNK": f"PO-{n:05d}",
            }
        )
        items.extend(lines)
    return orders, items


def _item(
    system: SapSystem,
    rng: random.Random,
    order: int,
    item: int,
    erdat: str,
    erzet: str,
    currency: str,
    materials: list[str],
) -> dict[str, Any]:
    return {
        "MANDT": system.client,
        "VBELN": vbeln(order),
        "POSNR": posnr(item),
        "MATNR": rng.choice(materials),
        "ARKTX": rng.choice(MATERIALS_EN) + "  ",
        "PSTYV": "TAN",
        "ERDAT": erdat,
        "ERZET": erzet,
        "AEDAT": "00000000",
        "KWMENG": Decimal(rng.randint(1, 50_000)) / 1000,
        "VRKME": "ST",
        "NETWR": amount(rng),
        "WAERK": currency,
        "ABGRU": "",
    }
