"""What the warehouse must hold after the SAP pipelines ran: computed from the sandbox's tables in
plain Python, independently of the adapter, the SQL builder and the Arrow conversions.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from lumina_sandbox.sap.system import SapSystem

LANGUAGES = {"E": "en", "D": "de"}


def _rows(system: SapSystem, table: str) -> list[dict[str, Any]]:
    t = system.table(table)
    query = select(t)
    if "MANDT" in t.c:
        query = query.where(t.c["MANDT"] == system.client)
    with system.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def dats(text: str | None) -> date | None:
    """Raises ValueError for an impossible date, like the pipeline quarantines it."""
    if text is None or text.strip() in ("", "00000000"):
        return None
    return datetime.strptime(text, "%Y%m%d").date()


def _char(text: str | None) -> str | None:
    value = (text or "").rstrip(" ")
    return value or None


def _decimals(system: SapSystem) -> dict[str, int]:
    return {r["CURRKEY"]: r["CURRDEC"] for r in _rows(system, "TCURX")}


def shifted(value: Decimal, currency: str, decimals: dict[str, int]) -> Decimal:
    return value * Decimal(10) ** (2 - decimals.get(currency, 2))


def sales_order_lines(system: SapSystem) -> dict[str, tuple[Any, ...]]:
    """id -> (line_number, quantity, net_value, currency, rejection_reason)."""
    decimals = _decimals(system)
    return {
        f"{r['VBELN']}/{r['POSNR']}": (
            int(r["POSNR"]),
            r["KWMENG"],
            shifted(r["NETWR"], r["WAERK"], decimals),
            r["WAERK"],
            _char(r["ABGRU"]),
        )
        for r in _rows(system, "VBAP")
    }


def sales_orders(system: SapSystem) -> tuple[dict[str, tuple[Any, ...]], set[str]]:
    """(id -> (customer, order_date, net_value, currency), ids that must be quarantined)."""
    decimals = _decimals(system)
    good, bad = {}, set()
    for r in _rows(system, "VBAK"):
        try:
            order_date = dats(r["AUDAT"])
        except ValueError:
            bad.add(r["VBELN"])
            continue
        good[r["VBELN"]] = (r["KUNNR"], order_date, shifted(r["NETWR"], r["WAERK"], decimals), r["WAERK"])
    return good, bad


def customers(system: SapSystem) -> dict[str, tuple[Any, ...]]:
    """id -> (name, status, sap_customer_number)."""
    return {
        r["KUNNR"]: (_char(r["NAME1"]), "inactive" if r["LOEVM"] == "X" else "active", r["KUNNR"])
        for r in _rows(system, "KNA1")
    }


def products(system: SapSystem) -> dict[str, tuple[Any, ...]]:
    """id -> (name, name_language, is_active): English text, else German, else the number."""
    texts: dict[str, dict[str, str]] = {}
    for t in _rows(system, "MAKT"):
        if _char(t["MAKTX"]):
            texts.setdefault(t["MATNR"], {})[t["SPRAS"]] = _char(t["MAKTX"]) or ""
    out = {}
    for r in _rows(system, "MARA"):
        own = texts.get(r["MATNR"], {})
        language = next((k for k in ("E", "D") if k in own), None)
        name = own[language] if language else r["MATNR"]
        out[r["MATNR"]] = (name, LANGUAGES.get(language or ""), r["LVORM"] != "X")
    return out
