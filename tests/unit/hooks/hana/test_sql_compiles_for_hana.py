"""Every statement the hook generates, compiled with the sqlalchemy-hana dialect (the SQL HANA
would receive), and the options model refusing names that are not SAP names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, Integer, MetaData, Numeric, SmallInteger, Table, Unicode
from sqlalchemy.sql import Select
from sqlalchemy_hana.dialect import HANAHDBCLIDialect

from lumina_integration.hooks.hana import sql
from lumina_integration.hooks.hana.options import HanaOptions
from lumina_integration.hooks.hana.sql import ChangeDocTables, ReadPlan, TextJoin

HANA = HANAHDBCLIDialect()


def _tables() -> dict[str, Table]:
    md = MetaData(schema="SAPHANADB")

    def char(name: str, n: int, key: bool = False) -> Column[str]:
        return Column(name, Unicode(n), primary_key=key)

    t = {
        "MARA": Table("MARA", md, char("MANDT", 3, True), char("MATNR", 40, True), char("LAEDA", 8), char("ERSDA", 8),
                      char("WAERK", 5), Column("PRICE", Numeric(15, 2))),
        "MAKT": Table("MAKT", md, char("MANDT", 3, True), char("MATNR", 40, True), char("SPRAS", 1, True),
                      char("MAKTX", 40)),
        "TCURX": Table("TCURX", md, char("CURRKEY", 5, True), Column("CURRDEC", SmallInteger)),
        "CDHDR": Table("CDHDR", md, *[char(c, 90, True) for c in ("MANDANT", "OBJECTCLAS", "OBJECTID", "CHANGENR")],
                       char("UDATE", 8), char("UTIME", 6)),
        "CDPOS": Table("CDPOS", md, *[char(c, 90, True) for c in ("MANDANT", "OBJECTCLAS", "OBJECTID", "CHANGENR",
                       "TABNAME", "TABKEY", "FNAME", "CHNGIND")]),
        "ZLUMINA_CLOCK": Table("ZLUMINA_CLOCK", md, Column("ID", Integer, primary_key=True),
                               Column("UTC_NOW", DateTime)),
    }  # fmt: skip
    return t


def _plan() -> ReadPlan:
    t = _tables()
    return ReadPlan(
        table=t["MARA"],
        columns=["MANDT", "MATNR", "LAEDA", "ERSDA", "WAERK", "PRICE"],
        key=["MATNR"],
        client_column="MANDT",
        changed=[("LAEDA", None), ("ERSDA", None)],
        change_docs=ChangeDocTables(t["CDHDR"], t["CDPOS"], "MATERIAL", "MATNR", True),
        tcurx=t["TCURX"],
        currency_keys=["WAERK"],
        texts=TextJoin(t["MAKT"], ["MAKTX"], ["E", "D"], ["MANDT", "MATNR"], "SPRAS"),
    )


def _compiled(stmt: Select[object]) -> tuple[str, dict[str, object]]:
    compiled = stmt.compile(dialect=HANA, compile_kwargs={"render_postcompile": True})
    # qmark paramstyle: one "?" per position, every position a bound parameter.
    assert str(compiled).count("?") == len(compiled.positiontup or [])
    return str(compiled), dict(compiled.params)


STATEMENTS = {
    "window-first-page": lambda p: sql.select_window(p, "100", "20261119000000", "20261120091500", limit=50_000),
    "window-next-page": lambda p: sql.select_window(
        p, "100", "20261119000000", "20261120091500", after=["20261119101500", "000000000000001001"], limit=50_000
    ),
    "first-load": lambda p: sql.select_window(p, "100", None, "20261120091500", limit=50_000),
    "versions": lambda p: sql.select_versions(p, "100", after=["000000000000001001"], limit=100_000),
    "by-keys": lambda p: sql.select_by_keys(p, "100", [("000000000000001001",), ("BOLT-M8",)]),
    "deletions": lambda p: sql.select_deletions(p, "100", "20261119000000", "20261120091500"),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_statement_compiles_for_hana_with_every_value_bound(name: str) -> None:
    text, params = _compiled(STATEMENTS[name](_plan()))
    assert params
    # Values never appear in the SQL text: the client, window bounds, keys, languages, object class.
    for value in ("'100'", "20261119", "000000000000001001", "BOLT-M8", "MATERIAL", "'E'", "'D'"):
        assert value not in text, f"{value} pasted into {name}"
    assert '"SAPHANADB"."MARA"' in text or '"SAPHANADB"."CDPOS"' in text


def test_window_statement_shape() -> None:
    text, params = _compiled(STATEMENTS["window-next-page"](_plan()))
    assert "LEFT OUTER JOIN" in text and '"SAPHANADB"."TCURX" AS "TCURX_WAERK"' in text
    assert '"SAPHANADB"."MAKT" AS "TXT_0"' in text and '"SAPHANADB"."MAKT" AS "TXT_1"' in text
    assert "max(" in text.lower() and "GROUP BY" in text  # the change documents' latest stamp
    assert "ORDER BY CASE" in text and "LIMIT ?" in text
    assert "AS LUMINA_CURSOR" in text.replace('"', "")
    assert {"client", "low", "high", "cd_class", "language_0", "language_1", "after_0", "after_1"} <= set(params)
    assert (params["language_0"], params["language_1"], params["cd_class"]) == ("E", "D", "MATERIAL")


def test_versions_statement_is_keys_and_the_cursor_without_lookups() -> None:
    text, params = _compiled(STATEMENTS["versions"](_plan()))
    assert "AS LUMINA_CURSOR" in text.replace('"', "") and "GROUP BY" in text  # the change documents' stamps
    assert "TCURX" not in text and "MAKT" not in text  # currency and text joins do not change a version
    assert 'ORDER BY "SAPHANADB"."MARA"."MATNR"' in text and params["after_0"] == "000000000000001001"


def test_keyset_continues_strictly_after_the_last_row() -> None:
    text, params = _compiled(STATEMENTS["window-next-page"](_plan()))
    assert (params["after_0"], params["after_1"]) == ("20261119101500", "000000000000001001")
    assert text.count(" > ?") >= 2 and " OR " in text


def test_clocks() -> None:
    hana, _ = _compiled(sql.select_clock("hana", None))
    assert hana.replace("\n", " ") == 'SELECT CURRENT_UTCTIMESTAMP  FROM "DUMMY"'
    sandbox, _ = _compiled(sql.select_clock("postgresql", _tables()["ZLUMINA_CLOCK"]))
    assert '"UTC_NOW"' in sandbox and "ZLUMINA_CLOCK" in sandbox


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"changed": [{"date": "AEDAT; DROP TABLE VBAP"}]}, id="injection-in-column"),
        pytest.param({"changed": [{"date": "aedat"}]}, id="lower-case-is-not-an-sap-name"),
        pytest.param({"changed": [{"date": "AEDAT"}], "client": "1OO"}, id="client-is-three-digits"),
        pytest.param({"changed": [{"date": "AEDAT"}], "timezone": "Mars/Olympus"}, id="unknown-time-zone"),
        pytest.param({}, id="nothing-says-what-changed"),
        pytest.param({"change_documents": {"object_class": "DEBI", "object_id": "KUNNR"}, "texts": {
            "table": "MAKT", "columns": ["MAKTX"], "languages": ["EN"]}}, id="language-key-is-one-character"),
    ],
)  # fmt: skip
def test_options_refuse_what_is_not_an_sap_name(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        HanaOptions.model_validate(options)


def test_namespaced_names_are_sap_names() -> None:
    opts = HanaOptions.model_validate({"changed": [{"date": "/BIC/ZDATE"}], "columns": ["/BIC/ZAMOUNT"]})
    assert opts.columns == ["/BIC/ZAMOUNT"]
