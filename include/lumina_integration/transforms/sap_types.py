"""SAP ABAP dictionary types as pure Arrow functions (no Airflow, no I/O).

SAP stores most values as text with its own conventions, which a generic SQL connector reads
"successfully" and wrongly. Each function here takes the raw column as the database returns it
and gives the canonical value plus a mask of the values that are impossible, so the row is
quarantined with a reason rather than silently turned into null or a wrong date:

- ``DATS`` ``YYYYMMDD`` text: ``00000000`` (and blank) is SAP's *initial* value, i.e. no date;
  ``20241399`` is not a date at all and is rejected.
- ``TIMS`` ``HHMMSS`` text, and ``DATS`` + ``TIMS`` concatenated into an instant.
- ``NUMC``: digits only, leading zeros are part of the value (``POSNR 000010``); as an integer
  they are dropped, as text they are kept.
- ``ALPHA`` conversion (``KUNNR``, ``MATNR``): numeric ids are stored zero-padded; the display
  form drops the zeros, non-numeric ids are kept as they are.
- ``CHAR``: trailing blanks are padding, and an all-blank value is the initial value.
- ``SPRAS``: the one-character language key (``E``, ``D``) becomes ISO 639-1 (``en``, ``de``).
- ``CURR``: amounts are stored with two decimals whatever the currency; the currency's real
  number of decimals (table ``TCURX``, default 2) shifts them (``JPY 123.45`` is 12,345 yen).

Mappings use them through ``format: sap_...`` (the value formats at the end of this module,
registered in :mod:`lumina_integration.transforms.formats`) and the ``sap_currency_decimals`` rule key.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from lumina_integration.transforms.casting import CastResult, _cast_with_failures, _strict_strptime

# The formats below, each registered in lumina_integration.transforms.formats.VALUE_FORMATS.
SAP_FORMATS = ("sap_dats", "sap_tims", "sap_timestamp", "sap_numc", "sap_alpha", "sap_char", "sap_spras")

# SAP's one-character language keys (table T002) for the languages SAP ships, as ISO 639-1.
SPRAS_ISO = {
    "0": "sr", "1": "zh", "2": "th", "3": "ko", "4": "ro", "5": "sl", "6": "hr", "7": "ms", "8": "uk",
    "9": "et", "A": "ar", "B": "he", "C": "cs", "D": "de", "E": "en", "F": "fr", "G": "el", "H": "hu",
    "I": "it", "J": "ja", "K": "da", "L": "pl", "M": "zf", "N": "nl", "O": "no", "P": "pt", "Q": "sk",
    "R": "ru", "S": "es", "T": "tr", "U": "fi", "V": "sv", "W": "bg", "X": "lt", "Y": "lv", "a": "af",
    "b": "is", "c": "ca", "d": "sh", "i": "id", "l": "sr",
}  # fmt: skip

STORED_DECIMALS = 2  # CURR fields always hold two decimals in the database
MAX_CURRENCY_DECIMALS = 8
_AMOUNT = pa.decimal128(24, 2)
_FACTOR = pa.decimal128(12, 9)

HINTS = {
    "sap_dats": "SAP DATS is YYYYMMDD, 00000000 for no date",
    "sap_tims": "SAP TIMS is HHMMSS, 000000 to 235959",
    "sap_timestamp": "SAP DATS+TIMS is YYYYMMDDHHMMSS",
    "sap_numc": "SAP NUMC holds digits only",
    "sap_alpha": "an SAP id",
    "sap_char": "SAP CHAR",
    "sap_spras": f"SAP language keys are {''.join(sorted(k for k in SPRAS_ISO if len(k) == 1))}",
}


def _null_text() -> pa.Scalar:
    return pa.scalar(None, pa.string())


def _text(values: pa.Array) -> pa.Array:
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def char_value(values: pa.Array) -> pa.Array:
    """CHAR: trailing blanks are padding; all-blank is SAP's initial value (null).

    Leading blanks are kept: in ABAP they are part of the value.
    """
    trimmed = pc.utf8_rtrim(_text(values), characters=" ")
    return pc.if_else(pc.equal(trimmed, ""), _null_text(), trimmed)


def _initial_to_null(values: pa.Array, initial: str) -> pa.Array:
    trimmed = char_value(values)
    return pc.if_else(pc.equal(trimmed, initial), _null_text(), trimmed)


def _digits_only(values: pa.Array, length: int | None = None) -> None:
    pattern = rf"^\d{{{length}}}$" if length else r"^\d+$"
    ok = pc.match_substring_regex(values, pattern)
    if not pc.all(ok, skip_nulls=True, min_count=0).as_py():
        raise pa.ArrowInvalid(f"not {length or 'only'} digits")


def dats_to_date(values: pa.Array) -> CastResult:
    """DATS text -> date32; ``00000000``/blank/null -> null; impossible dates are flagged."""
    text = _initial_to_null(values, "00000000")

    def cast(v: pa.Array) -> pa.Array:
        _digits_only(v, 8)
        return _strict_strptime(v, "%Y%m%d").cast(pa.date32())

    return _cast_with_failures(text, cast)


def _tims_valid(v: pa.Array) -> None:
    _digits_only(v, 6)
    hours = pc.cast(pc.utf8_slice_codeunits(v, 0, 2), pa.int8())
    minutes = pc.cast(pc.utf8_slice_codeunits(v, 2, 4), pa.int8())
    seconds = pc.cast(pc.utf8_slice_codeunits(v, 4, 6), pa.int8())
    ok = pc.and_(pc.and_(pc.less(hours, 24), pc.less(minutes, 60)), pc.less(seconds, 60))
    if not pc.all(ok, skip_nulls=True, min_count=0).as_py():
        raise pa.ArrowInvalid("not a time of day")


def tims_to_text(values: pa.Array) -> CastResult:
    """TIMS ``HHMMSS`` -> ``HH:MM:SS`` text; blank/null -> null; ``250000`` is flagged."""
    text = char_value(values)

    def cast(v: pa.Array) -> pa.Array:
        _tims_valid(v)
        parts = [pc.utf8_slice_codeunits(v, i, i + 2) for i in (0, 2, 4)]
        return pc.binary_join_element_wise(*parts, ":")

    return _cast_with_failures(text, cast)


def dats_tims_to_timestamp(values: pa.Array, timezone: str) -> CastResult:
    """``YYYYMMDDHHMMSS`` (a DATS and a TIMS column concatenated), wall time in ``timezone``.

    The date part ``00000000`` (or blank) means no instant; a blank time part is midnight.
    """
    text = char_value(values)
    date_part = pc.utf8_slice_codeunits(text, 0, 8)
    text = pc.if_else(pc.equal(date_part, "00000000"), _null_text(), text)
    # "20241105" + "" (a TIMS that is blank): the date at midnight.
    text = pc.if_else(pc.equal(pc.utf8_length(text), 8), pc.binary_join_element_wise(text, "000000", ""), text)

    def cast(v: pa.Array) -> pa.Array:
        _digits_only(v, 14)
        _tims_valid(pc.utf8_slice_codeunits(v, 8, 14))
        wall = _strict_strptime(v, "%Y%m%d%H%M%S")
        # Fall-back hours happen twice and spring-forward hours never: SAP stamps local wall
        # time, so take the earlier reading of a repeated hour and move a missing one forward.
        local = pc.assume_timezone(wall, timezone, ambiguous="earliest", nonexistent="earliest")
        return local.cast(pa.timestamp("us", tz="UTC"))

    return _cast_with_failures(text, cast)


def numc(values: pa.Array, target: pa.DataType) -> CastResult:
    """NUMC: digits only. As text the leading zeros stay (they are part of keys like POSNR)."""
    text = pc.utf8_trim(_text(values), characters=" ")
    text = pc.if_else(pc.equal(text, ""), _null_text(), text)

    def cast(v: pa.Array) -> pa.Array:
        _digits_only(v)
        return v if pa.types.is_string(target) else pc.cast(v, target)

    return _cast_with_failures(text, cast)


def alpha_out(values: pa.Array) -> CastResult:
    """ALPHA conversion output: ``0000012345`` -> ``12345``; ``CUST-A`` stays; all zeros -> null."""
    text = char_value(values)
    numeric = pc.match_substring_regex(text, r"^\d+$")
    stripped = pc.utf8_ltrim(text, characters="0")
    out = pc.if_else(numeric, stripped, text)
    out = pc.if_else(pc.equal(out, ""), _null_text(), out)
    return CastResult(out, pa.array([False] * len(values), pa.bool_()))


def spras_to_iso(values: pa.Array) -> CastResult:
    """SPRAS (one character, case matters: ``E`` is English, ``e`` is nothing) -> ISO 639-1."""
    text = pc.utf8_rtrim(_text(values), characters=" ")
    text = pc.if_else(pc.equal(text, ""), _null_text(), text)
    keys = pa.array(list(SPRAS_ISO), pa.string())
    iso = pa.array(list(SPRAS_ISO.values()), pa.string())

    def cast(v: pa.Array) -> pa.Array:
        index = pc.index_in(v, value_set=keys)
        if pc.any(pc.and_(pc.is_valid(v), pc.is_null(index))).as_py():
            raise pa.ArrowInvalid("unknown SAP language key")
        return pc.take(iso, index)

    return _cast_with_failures(text, cast)


def shift_currency(amounts: pa.Array, decimals: pa.Array) -> CastResult:
    """CURR amounts (stored with 2 decimals) times ``10 ** (2 - decimals)``.

    ``decimals`` is TCURX-CURRDEC of each row's currency; null (no TCURX entry) means 2, the
    standard. A row whose decimals are impossible (negative, above 8) is flagged.
    """
    n = len(amounts)
    decimals = pc.fill_null(decimals.cast(pa.int64()), STORED_DECIMALS)
    bad = pc.or_(pc.less(decimals, 0), pc.greater(decimals, MAX_CURRENCY_DECIMALS))
    index = pc.if_else(bad, STORED_DECIMALS, decimals)
    factors = pa.array([Decimal(10) ** (STORED_DECIMALS - d) for d in range(MAX_CURRENCY_DECIMALS + 1)], _FACTOR).take(
        index
    )
    parsed = _amounts(amounts)
    invalid = pc.or_(bad, parsed.invalid)
    values = pc.multiply(pc.if_else(invalid, pa.scalar(None, _AMOUNT), parsed.values), factors)
    return CastResult(values, invalid if n else pa.array([], pa.bool_()))


def _amounts(amounts: pa.Array) -> CastResult:
    if pa.types.is_string(amounts.type):
        amounts = pc.if_else(pc.equal(pc.utf8_trim_whitespace(amounts), ""), _null_text(), amounts)
    if pa.types.is_floating(amounts.type):
        # Floats only reach here from sources that lost the DEC type; round to the stored scale.
        amounts = pc.round(amounts, STORED_DECIMALS)
        return _cast_with_failures(amounts, lambda v: v.cast(pa.string()).cast(_AMOUNT))
    return _cast_with_failures(amounts, lambda v: v.cast(_AMOUNT))


def _as_format(fmt: str, converted: CastResult, target: pa.DataType) -> CastResult:
    """A converted column cast on to the mapping's ``target``, with the format's hint for reasons."""
    typed = _cast_with_failures(converted.values, lambda v: v if v.type == target else pc.cast(v, target))
    return CastResult(typed.values, pc.or_(converted.invalid, typed.invalid), hint=HINTS[fmt])


# The value formats (ValueCast signature), registered in lumina_integration.transforms.formats.
def sap_dats(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_dats", dats_to_date(values), target)


def sap_tims(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_tims", tims_to_text(values), target)


def sap_timestamp(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_timestamp", dats_tims_to_timestamp(values, timezone), target)


def sap_numc(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_numc", numc(values, target), target)


def sap_alpha(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_alpha", alpha_out(values), target)


def sap_char(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_char", CastResult(char_value(values), pa.array([False] * len(values), pa.bool_())), target)


def sap_spras(values: pa.Array, target: pa.DataType, timezone: str) -> CastResult:
    return _as_format("sap_spras", spras_to_iso(values), target)


def pick_text(candidates: list[tuple[str, pa.Array]]) -> tuple[pa.Array, pa.Array]:
    """Language-dependent texts (``MAKT``, ``T005T``...): the first language that has a text.

    ``candidates`` are ``(SPRAS key, texts in that language)`` in order of preference; a text
    that is null or blank does not count (SAP writes blank texts for untranslated entries).
    Returns the chosen text (CHAR padding removed) and the SPRAS key it was taken from.
    """
    if not candidates:
        raise ValueError("no text candidates")
    n = len(candidates[0][1])
    text: pa.Array = pa.nulls(n, pa.string())
    language: pa.Array = pa.nulls(n, pa.string())
    for key, values in candidates:
        value = char_value(values)
        missing = pc.is_null(text)
        take = pc.and_(missing, pc.is_valid(value))
        text = pc.if_else(take, value, text)
        language = pc.if_else(take, pa.scalar(key, pa.string()), language)
    return text, language
