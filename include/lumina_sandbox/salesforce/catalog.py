"""The sandbox org's objects: standard fields as a real org describes them, custom fields, formulas, a wide object.

``build_catalog(wide_fields)`` returns fresh ``SObjectType`` definitions for Account, Contact, Opportunity, Lead,
Case, User, the custom ``Invoice__c`` (with ``wide_fields`` extra custom fields of long API names) and
AccountHistory (no SystemModstamp/LastModifiedDate, only CreatedDate).
"""

from __future__ import annotations

from typing import Any

from lumina_sandbox.salesforce.schema import Catalog, Field, SObjectType

# --- field builders ----------------------------------------------------------------------------------------------


def _label(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    return base.replace("_", " ")


def text(name: str, length: int = 255, **kw: Any) -> Field:
    return Field(name, "string", kw.pop("label", _label(name)), length=length, **kw)


def textarea(name: str, length: int = 32000, **kw: Any) -> Field:
    return Field(name, "textarea", kw.pop("label", _label(name)), length=length, **kw)


def email(name: str = "Email", **kw: Any) -> Field:
    return Field(name, "email", kw.pop("label", _label(name)), length=80, **kw)


def phone(name: str = "Phone", **kw: Any) -> Field:
    return Field(name, "phone", kw.pop("label", _label(name)), length=40, **kw)


def url(name: str, **kw: Any) -> Field:
    return Field(name, "url", kw.pop("label", _label(name)), length=255, **kw)


def picklist(name: str, values: list[str], labels: dict[str, str] | None = None, **kw: Any) -> Field:
    pairs = tuple((labels or {}).items())
    return Field(
        name, "picklist", kw.pop("label", _label(name)), length=255, picklist=tuple(values), picklist_labels=pairs, **kw
    )


def boolean(name: str, default: bool = False, **kw: Any) -> Field:
    return Field(
        name,
        "boolean",
        kw.pop("label", _label(name)),
        nillable=False,
        default_value=default,
        defaulted_on_create=True,
        **kw,
    )


def currency(name: str, precision: int = 18, scale: int = 2, **kw: Any) -> Field:
    return Field(name, "currency", kw.pop("label", _label(name)), precision=precision, scale=scale, **kw)


def double(name: str, precision: int = 18, scale: int = 0, **kw: Any) -> Field:
    return Field(name, "double", kw.pop("label", _label(name)), precision=precision, scale=scale, **kw)


def percent(name: str, precision: int = 3, scale: int = 0, **kw: Any) -> Field:
    return Field(name, "percent", kw.pop("label", _label(name)), precision=precision, scale=scale, **kw)


def integer(name: str, digits: int = 8, **kw: Any) -> Field:
    return Field(name, "int", kw.pop("label", _label(name)), digits=digits, **kw)


def date_field(name: str, **kw: Any) -> Field:
    return Field(name, "date", kw.pop("label", _label(name)), **kw)


def datetime_field(name: str, **kw: Any) -> Field:
    return Field(name, "datetime", kw.pop("label", _label(name)), **kw)


def reference(name: str, to: str, relationship: str | None, **kw: Any) -> Field:
    return Field(
        name,
        "reference",
        kw.pop("label", _label(name[:-2] if name.endswith("Id") else name) + " ID"),
        length=18,
        reference_to=(to,),
        relationship_name=relationship,
        **kw,
    )


def formula(name: str, kind: str, expression: str, sql: str, **kw: Any) -> Field:
    return Field(
        name,
        kind,
        kw.pop("label", _label(name)),
        createable=False,
        updateable=False,
        calculated_formula=expression,
        formula_sql=sql,
        **kw,
    )


def system_fields(*, is_deleted: bool = True, modstamps: bool = True) -> tuple[list[Field], list[Field]]:
    """(leading fields: Id[, IsDeleted]; audit fields: CreatedDate ... SystemModstamp)."""
    read_only: dict[str, Any] = {"createable": False, "updateable": False, "nillable": False}
    lead = [
        Field("Id", "id", "Record ID", length=18, id_lookup=True, defaulted_on_create=True, **read_only),
    ]
    if is_deleted:
        lead.append(
            Field("IsDeleted", "boolean", "Deleted", default_value=False, defaulted_on_create=True, **read_only)
        )
    audit = [
        Field("CreatedDate", "datetime", "Created Date", defaulted_on_create=True, **read_only),
        reference("CreatedById", "User", "CreatedBy", label="Created By ID", defaulted_on_create=True, **read_only),
    ]
    if modstamps:
        audit += [
            Field("LastModifiedDate", "datetime", "Last Modified Date", defaulted_on_create=True, **read_only),
            reference(
                "LastModifiedById",
                "User",
                "LastModifiedBy",
                label="Last Modified By ID",
                defaulted_on_create=True,
                **read_only,
            ),
            Field("SystemModstamp", "datetime", "System Modstamp", defaulted_on_create=True, **read_only),
        ]
    return lead, audit


COUNTRY_CODES = ["US", "CA", "MX", "BR", "GB", "DE", "FR", "ES", "NL", "SE", "PL", "JP", "CN", "IN", "AU", "ZA", "NA"]
COUNTRY_LABELS = {
    "US": "United States",
    "CA": "Canada",
    "MX": "Mexico",
    "BR": "Brazil",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
    "ES": "Spain",
    "NL": "Netherlands",
    "SE": "Sweden",
    "PL": "Poland",
    "JP": "Japan",
    "CN": "China",
    "IN": "India",
    "AU": "Australia",
    "ZA": "South Africa",
    "NA": "Namibia",
}
GEOCODE_ACCURACY = ["Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "City", "County", "State"]


def address(prefix: str, label: str) -> list[Field]:
    """The components of a compound address (Street ... GeocodeAccuracy) followed by the compound field."""
    compound = f"{prefix}Address"
    part: dict[str, Any] = {"compound_field_name": compound}
    return [
        textarea(f"{prefix}Street", 255, label=f"{label} Street", **part),
        text(f"{prefix}City", 40, label=f"{label} City", **part),
        text(f"{prefix}State", 80, label=f"{label} State/Province", **part),
        text(f"{prefix}PostalCode", 20, label=f"{label} Zip/Postal Code", **part),
        text(f"{prefix}Country", 80, label=f"{label} Country", **part),
        picklist(f"{prefix}CountryCode", COUNTRY_CODES, COUNTRY_LABELS, label=f"{label} Country Code", **part),
        double(f"{prefix}Latitude", 18, 15, label=f"{label} Latitude", **part),
        double(f"{prefix}Longitude", 18, 15, label=f"{label} Longitude", **part),
        picklist(f"{prefix}GeocodeAccuracy", GEOCODE_ACCURACY, label=f"{label} Geocode Accuracy", **part),
        Field(compound, "address", f"{label} Address", createable=False, updateable=False),
    ]


# --- picklist values ---------------------------------------------------------------------------------------------

ACCOUNT_TYPES = [
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
]
INDUSTRIES = [
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Insurance",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
]
RATINGS = ["Hot", "Warm", "Cold"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
REGION_LABELS = {"NA": "North America", "EMEA": "Europe, Middle East and Africa", "APAC": "Asia Pacific"}
TIERS = ["Platinum", "Gold", "Silver", "Bronze"]
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
# (stage, probability, forecast category, closed, won)
STAGES = [
    ("Prospecting", 10, "Pipeline", False, False),
    ("Qualification", 10, "Pipeline", False, False),
    ("Needs Analysis", 20, "Pipeline", False, False),
    ("Value Proposition", 50, "Pipeline", False, False),
    ("Id. Decision Makers", 60, "Pipeline", False, False),
    ("Perception Analysis", 70, "Pipeline", False, False),
    ("Proposal/Price Quote", 75, "Pipeline", False, False),
    ("Negotiation/Review", 90, "Commit", False, False),
    ("Closed Won", 100, "Closed", True, True),
    ("Closed Lost", 0, "Omitted", True, False),
]
FORECAST_CATEGORIES = ["Omitted", "Pipeline", "BestCase", "Commit", "Closed"]
OPPORTUNITY_TYPES = [
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Customer",
]
CASE_STATUSES = ["New", "Working", "Escalated", "Closed"]
CASE_PRIORITIES = ["High", "Medium", "Low"]
CASE_ORIGINS = ["Phone", "Email", "Web"]
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
INVOICE_STATUSES = ["Draft", "Sent", "Paid", "Overdue", "Void"]
WIDE_THEMES = [
    "Regional_Compliance_Reporting_Attribute",
    "Extended_Billing_Reconciliation_Detail",
    "Customer_Contract_Entitlement_Reference",
    "Logistics_Fulfilment_Tracking_Indicator",
    "Revenue_Recognition_Schedule_Component",
]
WIDE_KINDS = ["string", "double", "date", "boolean", "picklist"]


def wide_field(number: int) -> Field:
    """The ``number``-th extra custom field of Invoice__c (types cycle: text, number, date, checkbox, picklist)."""
    name = f"{WIDE_THEMES[number % len(WIDE_THEMES)]}_{number:03d}__c"
    kind = WIDE_KINDS[number % len(WIDE_KINDS)]
    extra: dict[str, Any] = {"custom": True}
    if kind == "string":
        return text(name, 80, **extra)
    if kind == "double":
        return double(name, 16, 2, **extra)
    if kind == "date":
        return date_field(name, **extra)
    if kind == "boolean":
        return boolean(name, **extra)
    return picklist(name, ["Alpha", "Beta", "Gamma"], **extra)


# --- objects -----------------------------------------------------------------------------------------------------

_TODAY = ":today"
_AGE_SQL = f'round(julianday({_TODAY}) - julianday(substr(t."CreatedDate", 1, 10)), 0)'
_DAYS_TO_CLOSE_SQL = f'julianday(t."CloseDate") - julianday({_TODAY})'
_ACCOUNT_NAME_SQL = '(SELECT a."Name" FROM "Account" a WHERE a."Id" = t."AccountId")'


def _account() -> SObjectType:
    lead, audit = system_fields()
    custom: dict[str, Any] = {"custom": True}
    fields = [
        *lead,
        text("Name", 255, label="Account Name", nillable=False, name_field=True),
        text("AccountNumber", 40, label="Account Number"),
        picklist("Type", ACCOUNT_TYPES, label="Account Type"),
        reference("ParentId", "Account", "Parent", label="Parent Account ID"),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        phone("Phone", label="Account Phone"),
        url("Website"),
        picklist("Industry", INDUSTRIES),
        currency("AnnualRevenue", 18, 2, label="Annual Revenue"),
        integer("NumberOfEmployees", 8, label="Employees"),
        textarea("Description", 32000, label="Account Description"),
        picklist("Rating", RATINGS, label="Account Rating"),
        reference("OwnerId", "User", "Owner", label="Owner ID", nillable=False, defaulted_on_create=True),
        *audit,
        text(
            "SAP_Customer_Number__c",
            10,
            label="SAP Customer Number",
            external_id=True,
            unique=True,
            id_lookup=True,
            **custom,
        ),
        text(
            "Legacy_CRM_Id__c",
            20,
            label="Legacy CRM Id",
            external_id=True,
            unique=True,
            id_lookup=True,
            **custom,
        ),
        picklist("Region__c", REGIONS, REGION_LABELS, label="Region", restricted_picklist=True, **custom),
        picklist("Customer_Tier__c", TIERS, label="Customer Tier", **custom),
    ]
    return SObjectType("Account", "Account", "Accounts", "001", fields=fields)


def _contact() -> SObjectType:
    lead, audit = system_fields()
    fields = [
        *lead,
        reference("AccountId", "Account", "Account", label="Account ID"),
        text("LastName", 80, label="Last Name", nillable=False),
        text("FirstName", 40, label="First Name"),
        text("Name", 121, label="Full Name", createable=False, updateable=False, name_field=True),
        *address("Mailing", "Mailing"),
        phone("Phone", label="Business Phone"),
        email("Email"),
        text("Title", 128),
        date_field("Birthdate"),
        boolean("HasOptedOutOfEmail", label="Email Opt Out"),
        picklist("LeadSource", LEAD_SOURCES, label="Lead Source"),
        reference("OwnerId", "User", "Owner", label="Owner ID", nillable=False, defaulted_on_create=True),
        *audit,
        formula("Account_Name__c", "string", "Account.Name", _ACCOUNT_NAME_SQL, length=1300, custom=True),
    ]
    return SObjectType("Contact", "Contact", "Contacts", "003", fields=fields)


def _opportunity() -> SObjectType:
    lead, audit = system_fields()
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    fields = [
        *lead,
        reference("AccountId", "Account", "Account", label="Account ID"),
        text("Name", 120, nillable=False, name_field=True),
        textarea("Description"),
        picklist("StageName", [s[0] for s in STAGES], label="Stage", nillable=False),
        currency("Amount", 18, 2),
        percent("Probability", 3, 0, label="Probability (%)"),
        date_field("CloseDate", label="Close Date", nillable=False),
        picklist("Type", OPPORTUNITY_TYPES, label="Opportunity Type"),
        picklist("LeadSource", LEAD_SOURCES, label="Lead Source"),
        boolean("IsClosed", label="Closed", **read_only),
        boolean("IsWon", label="Won", **read_only),
        picklist("ForecastCategory", FORECAST_CATEGORIES, label="Forecast Category", **read_only),
        reference("OwnerId", "User", "Owner", label="Owner ID", nillable=False, defaulted_on_create=True),
        *audit,
        formula("Days_To_Close__c", "double", "CloseDate - TODAY()", _DAYS_TO_CLOSE_SQL, precision=18, custom=True),
    ]
    return SObjectType("Opportunity", "Opportunity", "Opportunities", "006", fields=fields)


def _case() -> SObjectType:
    lead, audit = system_fields()
    fields = [
        *lead,
        Field(
            "CaseNumber",
            "string",
            "Case Number",
            length=30,
            nillable=False,
            createable=False,
            updateable=False,
            auto_number=True,
            defaulted_on_create=True,
            name_field=True,
            id_lookup=True,
        ),
        reference("ContactId", "Contact", "Contact", label="Contact ID"),
        reference("AccountId", "Account", "Account", label="Account ID"),
        picklist("Origin", CASE_ORIGINS, label="Case Origin"),
        text("Subject", 255),
        picklist("Priority", CASE_PRIORITIES),
        textarea("Description"),
        picklist("Status", CASE_STATUSES, default_value="New"),
        boolean("IsClosed", label="Closed", createable=False, updateable=False),
        datetime_field("ClosedDate", label="Closed Date", createable=False, updateable=False),
        reference("OwnerId", "User", "Owner", label="Owner ID", nillable=False, defaulted_on_create=True),
        *audit,
        formula("Age_Days__c", "double", "TODAY() - DATEVALUE(CreatedDate)", _AGE_SQL, precision=18, custom=True),
    ]
    return SObjectType("Case", "Case", "Cases", "500", fields=fields)


def _lead() -> SObjectType:
    lead, audit = system_fields()
    fields = [
        *lead,
        text("LastName", 80, label="Last Name", nillable=False),
        text("FirstName", 40, label="First Name"),
        text("Name", 121, label="Full Name", createable=False, updateable=False, name_field=True),
        text("Company", 255, nillable=False),
        *address("", "Lead"),
        email("Email"),
        picklist("Status", LEAD_STATUSES, nillable=False, default_value="Open - Not Contacted"),
        picklist("LeadSource", LEAD_SOURCES, label="Lead Source"),
        boolean("IsConverted", label="Converted", createable=False, updateable=False),
        reference("OwnerId", "User", "Owner", label="Owner ID", nillable=False, defaulted_on_create=True),
        *audit,
    ]
    return SObjectType("Lead", "Lead", "Leads", "00Q", fields=fields)


def _user() -> SObjectType:
    lead, audit = system_fields(is_deleted=False)
    fields = [
        *lead,
        text("Username", 80, nillable=False, unique=True, id_lookup=True),
        text("LastName", 80, label="Last Name", nillable=False),
        text("FirstName", 40, label="First Name"),
        text("Name", 121, label="Full Name", createable=False, updateable=False, name_field=True),
        email("Email", nillable=False),
        text("Alias", 8, nillable=False),
        boolean("IsActive", default=True, label="Active"),
        *audit,
    ]
    return SObjectType("User", "User", "Users", "005", deletable=False, undeletable=False, fields=fields)


def _invoice(wide_fields: int) -> SObjectType:
    lead, audit = system_fields()
    custom: dict[str, Any] = {"custom": True}
    fields = [
        *lead,
        Field(
            "Name",
            "string",
            "Invoice Number",
            length=80,
            nillable=False,
            createable=False,
            updateable=False,
            auto_number=True,
            defaulted_on_create=True,
            name_field=True,
            id_lookup=True,
        ),
        reference("OwnerId", "User", "Owner", label="Owner ID", nillable=False, defaulted_on_create=True),
        *audit,
        reference("Account__c", "Account", "Account__r", label="Account", **custom),
        currency("Amount__c", 16, 2, label="Amount", **custom),
        picklist("Status__c", INVOICE_STATUSES, label="Status", restricted_picklist=True, **custom),
        date_field("Invoice_Date__c", label="Invoice Date", **custom),
        date_field("Due_Date__c", label="Due Date", **custom),
        boolean("Paid__c", label="Paid", **custom),
        *(wide_field(n) for n in range(1, wide_fields + 1)),
    ]
    return SObjectType("Invoice__c", "Invoice", "Invoices", "a01", custom=True, fields=fields)


def _account_history() -> SObjectType:
    lead, audit = system_fields(modstamps=False)
    read_only: dict[str, Any] = {"createable": False, "updateable": False}
    fields = [
        *lead,
        reference("AccountId", "Account", "Account", label="Account ID", **read_only),
        *audit,
        picklist("Field", ["created", "Name", "Industry", "Rating", "Type", "Phone"], **read_only),
        picklist("DataType", ["Text", "Picklist", "Phone"], label="Data Type", **read_only),
        text("OldValue", 255, label="Old Value", **read_only),
        text("NewValue", 255, label="New Value", **read_only),
    ]
    return SObjectType(
        "AccountHistory",
        "Account History",
        "Account History",
        "017",
        createable=False,
        updateable=False,
        deletable=False,
        undeletable=False,
        fields=fields,
    )


# Objects in dependency order: a record's parents are generated before it.
OBJECT_ORDER = ["User", "Account", "Contact", "Opportunity", "Lead", "Case", "Invoice__c", "AccountHistory"]


def build_catalog(wide_fields: int = 450) -> Catalog:
    """Fresh definitions of every sandbox object."""
    return Catalog(
        [
            _user(),
            _account(),
            _contact(),
            _opportunity(),
            _lead(),
            _case(),
            _invoice(wide_fields),
            _account_history(),
        ]
    )
