"""Options of the Jira adapter, as written under ``source.options`` in a pipeline spec.

Light on purpose (Pydantic only): the registry checks them at DAG parse time. Field ids and JQL
conditions are checked here by shape, and against the site's field catalogue when a run builds its JQL
(:mod:`.jql`), so no text from a spec reaches a query unchecked.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from lumina_integration.factory.spec import Duration

OBJECTS = ("issues", "comments", "worklogs", "changelog")
Flavor = Literal["auto", "cloud", "data_center"]
# A field id as /rest/api/3/field names it: system ids (summary, issuetype) and customfield_10010.
_FIELD_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,99}$")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")
_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
Operator = Literal["=", "!=", "in", "not in", "~", "!~", "is", "is not", ">", ">=", "<", "<="]
Scalar = str | int | float


def object_name(name: str) -> str:
    """``source.object`` of a Jira spec (the registry's object check): one of :data:`OBJECTS`."""
    if name not in OBJECTS:
        raise ValueError(f"unknown Jira object {name!r}; use one of {list(OBJECTS)}")
    return name


def _field_id(value: str) -> str:
    if not _FIELD_ID.match(value):
        raise ValueError(f"{value!r} is not a Jira field id (like summary or customfield_10010)")
    return value


def _project_key(value: str) -> str:
    if not _PROJECT_KEY.match(value):
        raise ValueError(f"{value!r} is not a Jira project key (upper-case letters, digits, _)")
    return value


def _column(value: str) -> str:
    if not _COLUMN.match(value):
        raise ValueError(f"{value!r} is not a column name (lower case letters, digits and _)")
    return value


FieldId = Annotated[str, AfterValidator(_field_id)]
ColumnName = Annotated[str, AfterValidator(_column)]
ProjectKey = Annotated[str, AfterValidator(_project_key)]


class JqlCondition(BaseModel):
    """One condition of ``jql_filter``: ``field op value``, the field a catalogue id or clause name.

    ``value`` is a text, number or list (for ``in``/``not in``); ``None`` only with ``is``/``is not``
    (JQL's ``EMPTY``). Values are always sent quoted and escaped, never as JQL text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: FieldId
    op: Operator = "="
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _shape(self) -> JqlCondition:
        listed = isinstance(self.value, list)
        if self.op in ("in", "not in") and not (listed and self.value):
            raise ValueError(f"{self.field} {self.op}: needs a non-empty list of values")
        if self.op not in ("in", "not in") and listed:
            raise ValueError(f"{self.field} {self.op}: a list of values needs in or not in")
        if (self.value is None) != (self.op in ("is", "is not")):
            raise ValueError(f"{self.field} {self.op}: is/is not take no value (EMPTY); every other operator needs one")
        return self


class JiraOptions(BaseModel):
    """``source.options`` of a Jira pipeline.

    Args:
        fields: the issue fields to read, by field id (default: every field of the catalogue). ``id``,
            ``key`` and ``updated`` are always read.
        field_names: more columns, each a catalogue field found by its name (or id) on the site, e.g.
            ``{story_points: "Story Points"}``: custom field ids differ from site to site, names travel,
            so a mapping can read ``story_points`` on every site. Typed like the field it names.
        flavor: ``auto`` asks ``serverInfo`` (``deploymentType``); ``cloud`` searches with
            ``POST /rest/api/3/search/jql`` (``nextPageToken``), ``data_center`` with ``/rest/api/2/search``
            (``startAt``).
        projects: project keys to read (None: every project the account sees).
        jql_filter: more conditions, ANDed (a restricted JQL: catalogue fields, escaped values).
        page_size: issues per search page (Cloud returns at most 100 with fields, up to 5000 ids only).
        detail_page_size: comments, worklogs and changelog entries per page of their endpoints.
        lookback: read this much before the window's start on top of the pipeline's ``window.lookback``
            (Jira Cloud's search index may trail an issue's ``updated`` by some seconds).
        reserve_share: the share of the site's rate-limit window every pipeline leaves to others.
        max_api_calls: a per-run cap on API calls (None: none).
        max_token_restarts: how often one read may restart from its last ``(updated, id)`` when the
            server refuses an expired ``nextPageToken``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldId] | None = None
    field_names: dict[ColumnName, str] = {}
    flavor: Flavor = "auto"
    projects: list[ProjectKey] | None = None
    jql_filter: list[JqlCondition] = []
    page_size: int = Field(default=100, ge=1, le=5000)
    detail_page_size: int = Field(default=100, ge=1, le=5000)
    lookback: Duration = timedelta(0)
    reserve_share: float = Field(default=0.2, ge=0, lt=1)
    max_api_calls: int | None = Field(default=None, ge=1)
    max_token_restarts: int = Field(default=5, ge=0, le=100)
