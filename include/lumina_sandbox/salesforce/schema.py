"""The org's metadata model: ``Field`` and ``SObjectType``, how each Salesforce type is stored in SQLite.

Field and object names are Salesforce API names; lookups are case-insensitive like Salesforce's. Compound
``address`` fields have no column of their own: they are assembled from their component fields (those whose
``compound_field_name`` names them). Formula fields have no column either: ``formula_sql`` is a SQL expression
over the record's table (alias ``t``) evaluated at read time, so its value changes without a modstamp bump.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from lumina_sandbox.salesforce.errors import invalid_type

TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox", "encryptedstring"}
)
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"int", "long", "double", "currency", "percent"})
COMPOUND_TYPES = frozenset({"address", "location"})

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
    "location": "urn:location",
    "anyType": "xsd:anyType",
}
# The keys of a compound address value, in the order Salesforce renders them, and the component suffix of each.
ADDRESS_PARTS = (
    ("city", "City"),
    ("country", "Country"),
    ("countryCode", "CountryCode"),
    ("geocodeAccuracy", "GeocodeAccuracy"),
    ("latitude", "Latitude"),
    ("longitude", "Longitude"),
    ("postalCode", "PostalCode"),
    ("state", "State"),
    ("street", "Street"),
)
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


def category(kind: str) -> str:
    """The comparison family of a Salesforce type: id, text, number, boolean, date, datetime or compound."""
    if kind in ID_TYPES:
        return "id"
    if kind in NUMBER_TYPES:
        return "number"
    if kind in ("boolean", "date", "datetime"):
        return kind
    if kind in COMPOUND_TYPES:
        return "compound"
    return "text"


def sql_affinity(kind: str) -> str:
    """The SQLite column type storing values of a Salesforce type."""
    if kind in ("int", "long", "boolean"):
        return "INTEGER"
    if kind in ("double", "currency", "percent"):
        return "REAL"
    return "TEXT"


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier for an API name that was resolved through an object's field list."""
    if not _API_NAME.fullmatch(name):
        raise ValueError(f"not an API name: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class Field:
    """One field's metadata, close to what ``describe`` reports for it."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    case_sensitive: bool = False
    picklist: tuple[str, ...] = ()
    picklist_labels: tuple[tuple[str, str], ...] = ()
    restricted_picklist: bool = False
    default_value: Any = None
    defaulted_on_create: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    compound_field_name: str | None = None
    calculated_formula: str | None = None
    formula_sql: str | None = None
    auto_number: bool = False
    name_field: bool = False
    html_formatted: bool = False
    extra_type_info: str | None = None

    @property
    def stored(self) -> bool:
        """True when the field has a column of its own (not compound, not a formula)."""
        return self.type not in COMPOUND_TYPES and self.formula_sql is None

    @property
    def calculated(self) -> bool:
        return self.formula_sql is not None

    @property
    def required(self) -> bool:
        """Must be given on create (REQUIRED_FIELD_MISSING otherwise)."""
        return not self.nillable and self.createable and not self.defaulted_on_create and self.type != "boolean"

    @property
    def soap_type(self) -> str:
        return SOAP_TYPES.get(self.type, "xsd:string")

    def label_of(self, value: str) -> str:
        return dict(self.picklist_labels).get(value, value)


@dataclass
class SObjectType:
    """An sObject's metadata; ``fields`` keeps describe order, lookups ignore case."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    undeletable: bool = True
    queryable: bool = True
    replicateable: bool = True
    searchable: bool = True
    fields: list[Field] = field(default_factory=list)
    child_relationships: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._by_lower = {f.name.lower(): f for f in self.fields}

    @property
    def table(self) -> str:
        """The SQLite table holding the records (the API name, quoted)."""
        return quote_ident(self.name)

    def find(self, name: str) -> Field | None:
        return self._by_lower.get(name.lower())

    def has(self, name: str) -> bool:
        return name.lower() in self._by_lower

    def add(self, new: Field) -> None:
        """Append a field (as an admin adding one mid-life would); thread-safe."""
        with self._lock:
            if new.name.lower() in self._by_lower:
                raise ValueError(f"{self.name}.{new.name} already exists")
            self.fields = [*self.fields, new]
            self._by_lower = {**self._by_lower, new.name.lower(): new}

    def stored_fields(self) -> list[Field]:
        return [f for f in self.fields if f.stored]

    def components(self, compound: str) -> list[Field]:
        """The component fields of a compound field, e.g. BillingStreet... for BillingAddress."""
        return [f for f in self.fields if f.compound_field_name == compound]

    @property
    def has_modstamp(self) -> bool:
        return self.has("SystemModstamp")

    @property
    def has_is_deleted(self) -> bool:
        return self.has("IsDeleted")

    def copy(self) -> SObjectType:
        return replace(self, fields=list(self.fields), child_relationships=list(self.child_relationships))


class Catalog:
    """The org's sObject types by case-insensitive name."""

    def __init__(self, types: list[SObjectType]) -> None:
        self._types = {t.name.lower(): t for t in types}

    def get(self, name: str) -> SObjectType:
        """The type, or INVALID_TYPE as Salesforce answers for an unknown object."""
        found = self._types.get(name.lower())
        if found is None:
            raise invalid_type(name)
        return found

    def find(self, name: str) -> SObjectType | None:
        return self._types.get(name.lower())

    def all(self) -> list[SObjectType]:
        return sorted(self._types.values(), key=lambda t: t.name)

    def by_prefix(self, prefix: str) -> SObjectType | None:
        return next((t for t in self._types.values() if t.key_prefix == prefix), None)
