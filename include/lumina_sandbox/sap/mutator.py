"""Scripted changes to the SAP sandbox, written the way SAP writes them.

Each step is a business event: new orders, changed items (``AEDAT`` + a VERKBELEG change
document), deleted items and orders (``CDPOS`` ``D`` lines), archived orders (rows gone without
any change document: only reconciliation finds them), customer changes (``KNA1`` has no change
date: only the DEBI change document says so), material texts renamed in MAKT, and changes
committed late (stamped minutes before the pipeline's last window ended).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, select, update

from lumina_sandbox.sap.generator import amount, posnr, vbeln
from lumina_sandbox.sap.system import CdItem, SapSystem


class Mutator:
    """Changes in client ``system.client``; ``rng`` makes every script reproducible."""

    def __init__(self, system: SapSystem, seed: int = 11) -> None:
        self.system = system
        self.rng = random.Random(seed)

    def _orders(self) -> list[str]:
        t = self.system.table("VBAK")
        with self.system.engine.connect() as conn:
            return list(
                conn.execute(select(t.c.VBELN).where(t.c["MANDT"] == self.system.client).order_by(t.c.VBELN)).scalars()
            )

    def _items(self, order: str) -> list[dict[str, Any]]:
        t = self.system.table("VBAP")
        with self.system.engine.connect() as conn:
            rows = conn.execute(
                select(t).where(and_(t.c["MANDT"] == self.system.client, t.c["VBELN"] == order)).order_by(t.c.POSNR)
            )
            return [dict(r._mapping) for r in rows]

    def create_orders(self, count: int, *, at: datetime | None = None) -> list[str]:
        """New orders with two items each, stamped ``at`` (default now); returns their numbers."""
        s = self.system
        erdat, erzet = s.stamp(at)
        existing = self._orders()
        first = int(max(existing)) - 4_700 + 1 if existing else 1
        customers = self._column("KNA1", "KUNNR")
        materials = self._column("MARA", "MATNR")
        numbers = []
        with s.engine.begin() as conn:
            for n in range(first, first + count):
                items: list[dict[str, Any]] = [
                    {
                        "MANDT": s.client, "VBELN": vbeln(n), "POSNR": posnr(i), "MATNR": self.rng.choice(materials),
                        "ARKTX": "New item", "PSTYV": "TAN", "ERDAT": erdat, "ERZET": erzet, "AEDAT": "00000000",
                        "KWMENG": Decimal("2.000"), "VRKME": "ST", "NETWR": amount(self.rng), "WAERK": "JPY",
                        "ABGRU": "",
                    }
                    for i in (1, 2)
                ]  # fmt: skip
                order = {
                    "MANDT": s.client, "VBELN": vbeln(n), "ERDAT": erdat, "ERZET": erzet, "ERNAM": "SALES02",
                    "AUDAT": erdat, "VBTYP": "C", "AUART": "TA", "NETWR": sum(Decimal(i["NETWR"]) for i in items),
                    "WAERK": "JPY", "VKORG": "1000", "KUNNR": self.rng.choice(customers), "AEDAT": "00000000",
                    "VDATU": erdat, "BSTNK": f"PO-NEW-{n}",
                }  # fmt: skip
                s.insert(conn, "VBAK", [order])
                s.insert(conn, "VBAP", items)
                s.change_document(
                    conn, "VERKBELEG", vbeln(n), [CdItem("VBAK", [vbeln(n)], "KEY", "I")], at=at, tcode="VA01"
                )
                numbers.append(vbeln(n))
        return numbers

    def _column(self, table: str, column: str) -> list[str]:
        t = self.system.table(table)
        with self.system.engine.connect() as conn:
            return list(
                conn.execute(
                    select(t.c[column]).where(t.c["MANDT"] == self.system.client).order_by(t.c[column])
                ).scalars()
            )

    def change_items(self, orders: list[str], *, at: datetime | None = None) -> int:
        """Double the quantity and value of every item of ``orders`` (VA02), stamped ``at``."""
        s, t = self.system, self.system.table("VBAP")
        aedat, _ = s.stamp(at)
        changed = 0
        with s.engine.begin() as conn:
            for order in orders:
                items = self._items(order)
                for item in items:
                    conn.execute(
                        update(t)
                        .where(and_(t.c["MANDT"] == s.client, t.c["VBELN"] == order, t.c["POSNR"] == item["POSNR"]))
                        .values(KWMENG=item["KWMENG"] * 2, NETWR=item["NETWR"] * 2, AEDAT=aedat)
                    )
                cd = [
                    CdItem("VBAP", [order, i["POSNR"]], "NETWR", "U", str(i["NETWR"] * 2), str(i["NETWR"]))
                    for i in items
                ]
                s.change_document(conn, "VERKBELEG", order, cd, at=at, tcode="VA02")
                changed += len(items)
        return changed

    def reject_item(self, order: str, item: str, *, at: datetime | None = None) -> None:
        """Set a reason for rejection without touching AEDAT: only the change document tells."""
        s, t = self.system, self.system.table("VBAP")
        with s.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(and_(t.c["MANDT"] == s.client, t.c["VBELN"] == order, t.c["POSNR"] == item))
                .values(ABGRU="02")
            )
            s.change_document(
                conn, "VERKBELEG", order, [CdItem("VBAP", [order, item], "ABGRU", "U", "02")], at=at, tcode="VA02"
            )

    def delete_items(self, order: str, *, at: datetime | None = None) -> list[str]:
        """Delete the order's last item (a CDPOS ``D`` line); returns the item ids gone."""
        s, t = self.system, self.system.table("VBAP")
        items = self._items(order)
        last = items[-1]["POSNR"]
        with s.engine.begin() as conn:
            conn.execute(delete(t).where(and_(t.c["MANDT"] == s.client, t.c["VBELN"] == order, t.c["POSNR"] == last)))
            s.change_document(
                conn, "VERKBELEG", order, [CdItem("VBAP", [order, last], "KEY", "D")], at=at, tcode="VA02"
            )
        return [f"{order}/{last}"]

    def delete_order(self, order: str, *, at: datetime | None = None) -> None:
        """Delete a whole order: CDPOS ``D`` lines for the header and every item."""
        s = self.system
        items = [i["POSNR"] for i in self._items(order)]
        with s.engine.begin() as conn:
            for name in ("VBAP", "VBAK"):
                t = s.table(name)
                conn.execute(delete(t).where(and_(t.c["MANDT"] == s.client, t.c["VBELN"] == order)))
            cd = [CdItem("VBAK", [order], "KEY", "D"), *[CdItem("VBAP", [order, p], "KEY", "D") for p in items]]
            s.change_document(conn, "VERKBELEG", order, cd, at=at, tcode="VA02")

    def archive_order(self, order: str) -> None:
        """Archiving (SARA) removes the rows and writes no change document."""
        s = self.system
        with s.engine.begin() as conn:
            for name in ("VBAP", "VBAK"):
                t = s.table(name)
                conn.execute(delete(t).where(and_(t.c["MANDT"] == s.client, t.c["VBELN"] == order)))

    def change_customers(self, kunnrs: list[str], *, at: datetime | None = None) -> None:
        """Rename customers (XD02): KNA1 has no change date, only the DEBI change document."""
        s, t = self.system, self.system.table("KNA1")
        with s.engine.begin() as conn:
            for kunnr in kunnrs:
                name = f"Renamed {kunnr.lstrip('0')} AG"
                conn.execute(update(t).where(and_(t.c["MANDT"] == s.client, t.c["KUNNR"] == kunnr)).values(NAME1=name))
                s.change_document(
                    conn, "DEBI", kunnr, [CdItem("KNA1", [kunnr], "NAME1", "U", name)], at=at, tcode="XD02"
                )

    def rename_material(self, matnr: str, text: str, *, at: datetime | None = None) -> None:
        """A new English text (MM02): LAEDA is the day of change, and a MATERIAL change document."""
        s, mara, makt = self.system, self.system.table("MARA"), self.system.table("MAKT")
        laeda, _ = s.stamp(at)
        with s.engine.begin() as conn:
            where = and_(makt.c["MANDT"] == s.client, makt.c["MATNR"] == matnr, makt.c.SPRAS == "E")
            if conn.execute(update(makt).where(where).values(MAKTX=text)).rowcount == 0:
                s.insert(conn, "MAKT", [{"MANDT": s.client, "MATNR": matnr, "SPRAS": "E", "MAKTX": text}])
            conn.execute(
                update(mara).where(and_(mara.c["MANDT"] == s.client, mara.c["MATNR"] == matnr)).values(LAEDA=laeda)
            )
            s.change_document(
                conn, "MATERIAL", matnr, [CdItem("MAKT", [matnr, "E"], "MAKTX", "U", text)], at=at, tcode="MM02"
            )

    def noise_in_other_client(self) -> None:
        """Changes in the test client 200, which no pipeline may see."""
        s, t = self.system, self.system.table("VBAK")
        with s.engine.begin() as conn:
            conn.execute(update(t).where(t.c.MANDT == "200").values(NETWR=Decimal("999.99"), AEDAT=s.stamp()[0]))


def scripted_changes(system: SapSystem, watermark: datetime | None, seed: int = 11) -> dict[str, Any]:
    """One round of every kind of change; stamps at the clock, except the late commits, which are
    stamped 5 minutes before ``watermark`` (committed after the last run read past them)."""
    m = Mutator(system, seed)
    orders = m._orders()
    late = (watermark or system.now()) - timedelta(minutes=5)
    done: dict[str, Any] = {}
    done["created"] = m.create_orders(3)
    done["changed_items"] = m.change_items(orders[10:14])
    m.reject_item(orders[14], "000010")
    done["deleted_items"] = m.delete_items(orders[15])
    m.delete_order(orders[16])
    m.archive_order(orders[17])
    customers = m._column("KNA1", "KUNNR")
    m.change_customers(customers[2:5])
    materials = m._column("MARA", "MATNR")
    m.rename_material(materials[5], "Bolt, renamed")
    # Late commits: stamped behind the watermark (inside the lookback).
    done["late_created"] = m.create_orders(1, at=late)
    m.change_items(orders[20:21], at=late)
    m.change_customers(customers[6:7], at=late)
    m.noise_in_other_client()
    done["archived"] = [orders[17]]
    return done
