"""The instance's out-of-box tables: the metadata tables that describe every table (themselves included) and the
ITSM tables the generator fills: ``core_company``, ``sys_user``, ``task`` -> ``incident`` / ``sc_req_item`` /
``change_request``. Choice lists carry the real out-of-box values and labels.

Audited (deletes recorded in ``sys_audit_delete``): the task tables. Not audited: ``sys_user``,
``core_company`` and the metadata tables, so their deletes are only found by comparing sys_ids.
"""

from __future__ import annotations

from lumina_sandbox.servicenow.schema import Catalog, Field, Table


def _f(element: str, kind: str = "string", length: int = 40, label: str = "", **extra: object) -> Field:
    return Field(element, kind, length, label or element.replace("_", " ").capitalize(), **extra)  # type: ignore[arg-type]


def _ref(element: str, table: str, label: str = "", key: str = "sys_id") -> Field:
    return _f(element, "reference", 32, label, reference=table, reference_key=key)


def _choice(element: str, kind: str = "integer", label: str = "") -> Field:
    return _f(element, kind, 40, label, choice=1)


def system_fields() -> list[Field]:
    """The ``sys_*`` fields every root table has."""
    return [
        _f("sys_id", "GUID", 32, "Sys ID", read_only=True),
        _f("sys_created_on", "glide_date_time", 40, "Created", read_only=True),
        _f("sys_created_by", "string", 40, "Created by", read_only=True),
        _f("sys_updated_on", "glide_date_time", 40, "Updated", read_only=True),
        _f("sys_updated_by", "string", 40, "Updated by", read_only=True),
        _f("sys_mod_count", "integer", 40, "Updates", read_only=True),
    ]


def _table(catalog: Catalog, table: Table, fields: list[Field], root: bool) -> None:
    catalog.add_table(table)
    for field in (system_fields() if root else []) + fields:
        catalog.add_field(table.name, field)


STATE_TASK = [
    ("-5", "Pending"),
    ("1", "Open"),
    ("2", "Work in Progress"),
    ("3", "Closed Complete"),
    ("4", "Closed Incomplete"),
    ("7", "Closed Skipped"),
]
STATE_INCIDENT = [
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
]
STATE_CHANGE = [
    ("-5", "New"),
    ("-4", "Assess"),
    ("-3", "Authorize"),
    ("-2", "Scheduled"),
    ("-1", "Implement"),
    ("0", "Review"),
    ("3", "Closed"),
    ("4", "Canceled"),
]
PRIORITY = [("1", "1 - Critical"), ("2", "2 - High"), ("3", "3 - Moderate"), ("4", "4 - Low"), ("5", "5 - Planning")]
IMPACT = [("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")]
APPROVAL = [
    ("not requested", "Not Yet Requested"),
    ("requested", "Requested"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
]
INCIDENT_CATEGORY = [
    ("inquiry", "Inquiry / Help"),
    ("software", "Software"),
    ("hardware", "Hardware"),
    ("network", "Network"),
    ("database", "Database"),
]
CLOSE_CODES = [
    "Solved (Work Around)",
    "Solved (Permanently)",
    "Solved Remotely (Work Around)",
    "Solved Remotely (Permanently)",
    "Not Solved (Not Reproducible)",
    "Not Solved (Too Costly)",
    "Closed/Resolved by Caller",
]
CONTACT_TYPE = [("email", "Email"), ("phone", "Phone"), ("self-service", "Self-service"), ("walk-in", "Walk-in")]
STAGE = [
    ("request_approved", "Request Approved"),
    ("fulfillment", "Fulfillment"),
    ("delivery", "Delivery"),
    ("complete", "Completed"),
    ("Request Cancelled", "Request Cancelled"),
]
CHANGE_TYPE = [("standard", "Standard"), ("normal", "Normal"), ("emergency", "Emergency")]
RISK = [("1", "Very High"), ("2", "High"), ("3", "Moderate"), ("4", "Low")]
CHANGE_CATEGORY = [
    ("hardware", "Hardware"),
    ("software", "Software"),
    ("service", "Service"),
    ("network", "Network"),
    ("telecom", "Telecom"),
    ("documentation", "Documentation"),
    ("other", "Other"),
]
# Types sys_glide_object lists (sys_dictionary.internal_type references it by name).
GLIDE_TYPES = [
    ("string", "String"),
    ("integer", "Integer"),
    ("boolean", "True/False"),
    ("decimal", "Decimal"),
    ("glide_date_time", "Date/Time"),
    ("glide_date", "Date"),
    ("reference", "Reference"),
    ("GUID", "Sys ID (GUID)"),
    ("sys_class_name", "System Class Name"),
    ("collection", "Collection"),
    ("journal", "Journal"),
]


def build_catalog() -> Catalog:
    """The out-of-box tables, fields and choices (sys_ids and stamps are given by the instance)."""
    catalog = Catalog()
    _table(
        catalog,
        Table("sys_glide_object", "Field class"),
        [_f("name", display=True), _f("label"), _f("scalar_type"), _f("scalar_length", "integer")],
        True,
    )
    _table(
        catalog,
        Table("sys_db_object", "Table"),
        [
            _f("name", length=80, display=True),
            _f("label", length=80),
            _ref("super_class", "sys_db_object", "Extends table"),
            _f("is_extendable", "boolean", label="Extensible"),
            _f("number_ref", length=32, label="Auto number"),
        ],
        True,
    )
    _table(
        catalog,
        Table("sys_dictionary", "Dictionary Entry"),
        [
            _f("name", length=80, label="Table"),
            _f("element", length=80, label="Column name", display=True),
            _f("column_label", length=80),
            _ref("internal_type", "sys_glide_object", "Type", key="name"),
            _f("max_length", "integer"),
            _ref("reference", "sys_db_object", "Reference", key="name"),
            _f("choice", "integer"),
            _f("mandatory", "boolean"),
            _f("read_only", "boolean"),
            _f("active", "boolean"),
            _f("display", "boolean"),
            _f("audit", "boolean"),
            _f("default_value", length=512),
        ],
        True,
    )
    _table(
        catalog,
        Table("sys_choice", "Choices"),
        [
            _f("name", length=80, label="Table"),
            _f("element", length=80),
            _f("value", length=40),
            _f("label", length=100, display=True),
            _f("sequence", "integer"),
            _f("inactive", "boolean"),
            _f("language", length=40),
        ],
        True,
    )
    _table(
        catalog,
        Table("sys_audit_delete", "Deleted Records"),
        [
            _f("tablename", length=80),
            _f("documentkey", "GUID", 32, "Document key"),
            _f("display_value", length=255, display=True),
            _f("payload", length=65000),
        ],
        True,
    )
    _table(
        catalog,
        Table("core_company", "Company"),
        [
            _f("name", length=100, display=True),
            _f("street", length=255),
            _f("city", length=100),
            _f("state", length=100, label="State / Province"),
            _f("zip", length=40),
            _f("country", length=40),
            _f("phone", length=40),
            _f("website", length=1024),
            _f("customer", "boolean"),
            _f("vendor", "boolean"),
            _ref("parent", "core_company", "Parent"),
        ],
        True,
    )
    _table(
        catalog,
        Table("sys_user", "User"),
        [
            _f("user_name", length=40, label="User ID"),
            _f("first_name", length=50),
            _f("last_name", length=50),
            _f("name", length=151, display=True),
            _f("email", length=100),
            _f("title", length=60),
            _f("phone", length=40, label="Business phone"),
            _ref("company", "core_company", "Company"),
            _ref("manager", "sys_user", "Manager"),
            _f("active", "boolean"),
            _f("locked_out", "boolean"),
            _f("vip", "boolean", label="VIP"),
            _f("time_zone", length=40),
            _f("last_login_time", "glide_date_time"),
        ],
        True,
    )
    _table(
        catalog,
        Table("task", "Task", extendable=True, audited=True, number_prefix="TASK"),
        [
            _f("number", length=40, display=True),
            _f("short_description", length=160),
            _f("description", length=4000),
            _choice("state"),
            _choice("priority"),
            _choice("impact"),
            _choice("urgency"),
            _choice("approval", "string"),
            _f("active", "boolean"),
            _f("opened_at", "glide_date_time", label="Opened"),
            _ref("opened_by", "sys_user", "Opened by"),
            _ref("assigned_to", "sys_user", "Assigned to"),
            _ref("company", "core_company", "Company"),
            _f("closed_at", "glide_date_time", label="Closed"),
            _f("due_date", "glide_date_time", label="Due date"),
            _f("sys_class_name", "sys_class_name", 80, "Task type"),
        ],
        True,
    )
    _table(
        catalog,
        Table("incident", "Incident", "task", audited=True, extendable=True, number_prefix="INC"),
        [
            _ref("caller_id", "sys_user", "Caller"),
            _choice("category", "string"),
            _f("subcategory", length=40),
            _choice("incident_state"),
            _choice("severity"),
            _f("resolved_at", "glide_date_time", label="Resolved"),
            _choice("close_code", "string", "Resolution code"),
            _f("close_notes", length=4000),
            _f("reopen_count", "integer"),
            _choice("contact_type", "string", "Channel"),
        ],
        False,
    )
    _table(
        catalog,
        Table("sc_req_item", "Requested Item", "task", audited=True, number_prefix="RITM"),
        [
            _ref("requested_for", "sys_user", "Requested for"),
            _f("cat_item", length=100, label="Item"),
            _f("quantity", "integer"),
            _f("price", "decimal", 20),
            _choice("stage", "string"),
        ],
        False,
    )
    _table(
        catalog,
        Table("change_request", "Change Request", "task", audited=True, extendable=True, number_prefix="CHG"),
        [
            _choice("type", "string"),
            _choice("risk"),
            _choice("category", "string"),
            _ref("requested_by", "sys_user", "Requested by"),
            _f("start_date", "glide_date_time", label="Planned start date"),
            _f("end_date", "glide_date_time", label="Planned end date"),
            _f("implementation_plan", length=4000),
            _f("cab_required", "boolean", label="CAB required"),
        ],
        False,
    )
    for element, entries in (("state", STATE_TASK), ("priority", PRIORITY), ("impact", IMPACT)):
        catalog.add_choices("task", element, entries)
    catalog.add_choices("task", "urgency", IMPACT)
    catalog.add_choices("task", "approval", APPROVAL)
    catalog.add_choices("incident", "state", STATE_INCIDENT)
    catalog.add_choices("incident", "incident_state", STATE_INCIDENT)
    catalog.add_choices("incident", "category", INCIDENT_CATEGORY)
    catalog.add_choices("incident", "severity", IMPACT)
    catalog.add_choices("incident", "close_code", [(code, code) for code in CLOSE_CODES])
    catalog.add_choices("incident", "contact_type", CONTACT_TYPE)
    catalog.add_choices("sc_req_item", "stage", STAGE)
    catalog.add_choices("change_request", "state", STATE_CHANGE)
    catalog.add_choices("change_request", "type", CHANGE_TYPE)
    catalog.add_choices("change_request", "risk", RISK)
    catalog.add_choices("change_request", "category", CHANGE_CATEGORY)
    return catalog
