"""describeGlobal, sObject basic info and sObject describe in the shapes (and key sets) Salesforce returns."""

from __future__ import annotations

from typing import Any

from lumina_sandbox.salesforce.schema import Catalog, Field, SObjectType
from lumina_sandbox.salesforce.sql import filterable, sortable

MAX_BATCH_SIZE = 200
# Child relationship names of the references the sandbox objects carry.
CHILD_RELATIONSHIPS = {
    ("Account", "ParentId"): "ChildAccounts",
    ("Contact", "AccountId"): "Contacts",
    ("Opportunity", "AccountId"): "Opportunities",
    ("Case", "AccountId"): "Cases",
    ("Case", "ContactId"): "Cases",
    ("Invoice__c", "Account__c"): "Invoices__r",
    ("AccountHistory", "AccountId"): "Histories",
}
_NO_LENGTH = frozenset(
    {"boolean", "int", "long", "double", "currency", "percent", "date", "datetime", "address", "location"}
)


def _urls(version: str, sobject: SObjectType) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def global_entry(version: str, sobject: SObjectType) -> dict[str, Any]:
    """One sObject as describeGlobal lists it (also the ``objectDescribe`` of the basic-info resource)."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": sobject.createable,
        "custom": sobject.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": sobject.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": not sobject.custom and sobject.name != "AccountHistory",
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": sobject.key_prefix,
        "label": sobject.label,
        "labelPlural": sobject.label_plural,
        "layoutable": sobject.name != "AccountHistory",
        "mergeable": sobject.name in ("Account", "Contact", "Lead", "Case"),
        "mruEnabled": sobject.name != "AccountHistory",
        "name": sobject.name,
        "queryable": sobject.queryable,
        "replicateable": sobject.replicateable,
        "retrieveable": True,
        "searchable": sobject.searchable and sobject.name != "AccountHistory",
        "triggerable": sobject.name != "AccountHistory",
        "undeletable": sobject.undeletable,
        "updateable": sobject.updateable,
        "urls": _urls(version, sobject),
    }


def describe_global(version: str, catalog: Catalog) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": MAX_BATCH_SIZE,
        "sobjects": [global_entry(version, s) for s in catalog.all()],
    }


def _picklist_values(field: Field) -> list[dict[str, Any]]:
    return [
        {
            "active": True,
            "defaultValue": value == field.default_value,
            "label": field.label_of(value),
            "validFor": None,
            "value": value,
        }
        for value in field.picklist
    ]


def describe_field(field: Field) -> dict[str, Any]:
    """A field as ``describe`` reports it (all keys Salesforce sends, alphabetical like Salesforce)."""
    kind = field.type
    text_like = kind not in _NO_LENGTH and kind not in ("id", "reference")
    length = 18 if kind in ("id", "reference") else (field.length if text_like else 0)
    numeric = kind in ("double", "currency", "percent")
    groupable = filterable(field) and kind not in ("double", "currency", "percent", "datetime", "textarea")
    return {
        "aggregatable": filterable(field) and kind not in ("boolean", "textarea"),
        "aiPredictionField": False,
        "autoNumber": field.auto_number,
        "byteLength": 18 if kind in ("id", "reference") else (field.length * 3 if text_like else 0),
        "calculated": field.calculated,
        "calculatedFormula": field.calculated_formula,
        "cascadeDelete": False,
        "caseSensitive": field.case_sensitive,
        "compoundFieldName": field.compound_field_name,
        "controllerName": None,
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": field.default_value if kind == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": field.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": field.digits if kind in ("int", "long") else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": field.external_id,
        "extraTypeInfo": "plaintextarea" if kind == "textarea" else None,
        "filterable": filterable(field),
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": groupable,
        "highScaleNumber": False,
        "htmlFormatted": field.html_formatted,
        "idLookup": field.id_lookup,
        "inlineHelpText": None,
        "label": field.label,
        "length": length,
        "mask": None,
        "maskType": None,
        "name": field.name,
        "nameField": field.name_field,
        "namePointing": False,
        "nillable": field.nillable,
        "permissionable": field.custom and field.nillable and not field.calculated,
        "picklistValues": _picklist_values(field),
        "polymorphicForeignKey": False,
        "precision": field.precision if numeric else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": field.restricted_picklist,
        "scale": field.scale if numeric else 0,
        "searchPrefilterable": False,
        "soapType": field.soap_type,
        "sortable": sortable(field),
        "type": kind,
        "unique": field.unique,
        "updateable": field.updateable,
        "writeRequiresMasterRead": False,
    }


def child_relationships(catalog: Catalog, sobject: SObjectType) -> list[dict[str, Any]]:
    children = []
    for other in catalog.all():
        for field in other.fields:
            name = CHILD_RELATIONSHIPS.get((other.name, field.name))
            if name and sobject.name in field.reference_to:
                children.append(
                    {
                        "cascadeDelete": other.name in ("Contact", "Opportunity", "AccountHistory"),
                        "childSObject": other.name,
                        "deprecatedAndHidden": False,
                        "field": field.name,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": name,
                        "restrictedDelete": False,
                    }
                )
    return children


def describe_sobject(version: str, catalog: Catalog, sobject: SObjectType) -> dict[str, Any]:
    """``GET sobjects/X/describe``."""
    entry = global_entry(version, sobject)
    urls = entry.pop("urls")
    return {
        "actionOverrides": [],
        **entry,
        "childRelationships": child_relationships(catalog, sobject),
        "compactLayoutable": entry["layoutable"],
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [describe_field(f) for f in sobject.fields],
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {
                    "layout": f"/services/data/v{version}/sobjects/{sobject.name}/describe/layouts/012000000000000AAA"
                },
            }
        ],
        "searchLayoutable": entry["searchable"],
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": "All " + sobject.label_plural.lower(), "name": "everything"}],
        "urls": urls,
    }


def basic_info(version: str, sobject: SObjectType, recent: list[dict[str, Any]]) -> dict[str, Any]:
    """``GET sobjects/X``: the object's describeGlobal entry and its recently touched records."""
    return {"objectDescribe": global_entry(version, sobject), "recentItems": recent}
