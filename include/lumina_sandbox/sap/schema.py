"""The SAP-shaped database: the ABAP tables the SAP pipelines read, as HANA stores them.

Column types follow the ABAP dictionary on HANA: CHAR/NUMC/DATS/TIMS are NVARCHAR of their
length (no padding, text even for dates), CURR/QUAN/DEC are DECIMAL(p, s), INT1 is a small
integer. Only the fields the pipelines and their tests need are here, with their real names.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Numeric, SmallInteger, Table, Unicode


def _char(name: str, length: int, *, key: bool = False, nullable: bool = False) -> Column[str]:
    return Column(name, Unicode(length), primary_key=key, nullable=nullable and not key)


def sap_metadata(schema: str | None) -> MetaData:
    """Every sandbox table in ``schema`` (the ABAP schema, SAPHANADB on a real system)."""
    md = MetaData(schema=schema)
    Table(
        "T000",
        md,
        _char("MANDT", 3, key=True),
        _char("MTEXT", 25),
    )
    Table(
        "TCURX",  # currency decimals; no entry means 2
        md,
        _char("CURRKEY", 5, key=True),
        Column("CURRDEC", SmallInteger, nullable=False),
    )
    Table(
        "KNA1",
        md,
        _char("MANDT", 3, key=True),
        _char("KUNNR", 10, key=True),
        _char("LAND1", 3),
        _char("NAME1", 35),
        _char("ORT01", 35),
        _char("PSTLZ", 10),
        _char("TELF1", 16),
        _char("BRSCH", 4),
        _char("KTOKD", 4),
        _char("SPRAS", 1),
        _char("ERDAT", 8),
        _char("ERNAM", 12),
        _char("LOEVM", 1),
        _char("SPERR", 1),
    )
    Table(
        "MARA",
        md,
        _char("MANDT", 3, key=True),
        _char("MATNR", 40, key=True),
        _char("ERSDA", 8),
        _char("ERNAM", 12),
        _char("LAEDA", 8),
        _char("MTART", 4),
        _char("MATKL", 9),
        _char("MEINS", 3),
        Column("BRGEW", Numeric(13, 3), nullable=False),
        Column("NTGEW", Numeric(13, 3), nullable=False),
        _char("GEWEI", 3),
        _char("LVORM", 1),
    )
    Table(
        "MAKT",
        md,
        _char("MANDT", 3, key=True),
        _char("MATNR", 40, key=True),
        _char("SPRAS", 1, key=True),
        _char("MAKTX", 40),
    )
    Table(
        "VBAK",
        md,
        _char("MANDT", 3, key=True),
        _char("VBELN", 10, key=True),
        _char("ERDAT", 8),
        _char("ERZET", 6),
        _char("ERNAM", 12),
        _char("AUDAT", 8),
        _char("VBTYP", 4),
        _char("AUART", 4),
        Column("NETWR", Numeric(15, 2), nullable=False),
        _char("WAERK", 5),
        _char("VKORG", 4),
        _char("KUNNR", 10),
        _char("AEDAT", 8),
        # Appended after go-live (a customer field): NULL, not '00000000', in the older rows.
        _char("VDATU", 8, nullable=True),
        _char("BSTNK", 20),
    )
    Table(
        "VBAP",
        md,
        _char("MANDT", 3, key=True),
        _char("VBELN", 10, key=True),
        _char("POSNR", 6, key=True),
        _char("MATNR", 40),
        _char("ARKTX", 40),
        _char("PSTYV", 4),
        _char("ERDAT", 8),
        _char("ERZET", 6),
        _char("AEDAT", 8),
        Column("KWMENG", Numeric(15, 3), nullable=False),
        _char("VRKME", 3),
        Column("NETWR", Numeric(15, 2), nullable=False),
        _char("WAERK", 5),
        _char("ABGRU", 2),
    )
    Table(
        "CDHDR",
        md,
        _char("MANDANT", 3, key=True),
        _char("OBJECTCLAS", 15, key=True),
        _char("OBJECTID", 90, key=True),
        _char("CHANGENR", 10, key=True),
        _char("USERNAME", 12),
        _char("UDATE", 8),
        _char("UTIME", 6),
        _char("TCODE", 20),
        _char("CHANGE_IND", 1),
    )
    Table(
        "CDPOS",
        md,
        _char("MANDANT", 3, key=True),
        _char("OBJECTCLAS", 15, key=True),
        _char("OBJECTID", 90, key=True),
        _char("CHANGENR", 10, key=True),
        _char("TABNAME", 30, key=True),
        _char("TABKEY", 70, key=True),
        _char("FNAME", 30, key=True),
        _char("CHNGIND", 1, key=True),
        _char("VALUE_NEW", 254),
        _char("VALUE_OLD", 254),
    )
    Table(
        # Customer-namespace (Z) table of the sandbox only: its simulated clock. The hook reads it
        # when the connection names it (extra clock_table); a real system uses the DB clock.
        "ZLUMINA_CLOCK",
        md,
        Column("ID", Integer, primary_key=True, autoincrement=False),
        Column("UTC_NOW", DateTime, nullable=False),
    )
    return md
