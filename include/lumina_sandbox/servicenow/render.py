"""Stored rows as the Table API returns them, per ``sysparm_display_value`` and ``sysparm_exclude_reference_link``.

Every value is a string (empty: ``""``). A reference is ``{"link": ".../api/now/table/<table>/<value>", "value":
<sys_id>}`` (just the sys_id without links); ``display_value=true`` gives display text instead of values
(``{"display_value", "link"}`` for references), ``all`` both (``{"display_value", "value"[, "link"]}`` for every
field). Display text: a reference shows the referenced record's display field, a choice its label, an integer
is grouped (``1,234``), a decimal has two places. Datetimes display in UTC in the stored format (the sandbox
user's time zone is UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lumina_sandbox.servicenow.schema import Catalog, Field
from lumina_sandbox.servicenow.store import Store, physical, quote

Row = Sequence[str | None]


def _number_text(spec: Field, value: str) -> str:
    try:
        if spec.internal_type in ("integer", "longint"):
            return f"{int(value):,}"
        return f"{float(value):,.2f}"
    except ValueError:
        return value


class Renderer:
    """Renders rows of ``fields`` (in order) of a query on ``table``."""

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        table: str,
        fields: list[Field],
        display: str,
        exclude_links: bool,
        base_url: str,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.table = table
        self.fields = fields
        self.display = display
        self.exclude_links = exclude_links
        self.base_url = base_url
        self.choices = {
            f.element: {c.value: c.label for c in catalog.choice_list(table, f.element)} for f in fields if f.choice
        }

    def _reference_displays(self, rows: Sequence[Row]) -> dict[str, dict[str, str]]:
        """Per reference field: referenced key -> display text, looked up in one query per referenced table."""
        found: dict[str, dict[str, str]] = {}
        for index, spec in enumerate(self.fields):
            if spec.reference is None:
                continue
            keys = sorted({row[index] for row in rows if row[index]})  # type: ignore[type-var]
            display = self.catalog.display_field(spec.reference) or spec.reference_key
            shown: dict[str, str] = {}
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                shown.update(
                    (str(k), v or "")
                    for k, v in self.store.query(
                        f"SELECT {quote(spec.reference_key)}, {quote(display)} "
                        f"FROM {physical(self.catalog.root(spec.reference))} "
                        f"WHERE {quote(spec.reference_key)} IN ({', '.join('?' * len(chunk))})",
                        chunk,
                    )
                )
            found[spec.element] = shown
        return found

    def render(self, rows: Sequence[Row]) -> list[dict[str, Any]]:
        displays = self._reference_displays(rows) if self.display != "false" else {}
        mode, links = self.display, not self.exclude_links
        out = []
        for row in rows:
            record: dict[str, Any] = {}
            for spec, value in zip(self.fields, row, strict=True):
                text = value or ""
                name = spec.element
                if spec.reference is not None and text:
                    link = f"{self.base_url}/api/now/table/{spec.reference}/{text}"
                    if mode == "false":
                        record[name] = {"link": link, "value": text} if links else text
                    elif mode == "true":
                        shown = displays[name].get(text, "")
                        record[name] = {"display_value": shown, "link": link} if links else shown
                    else:
                        entry = {"display_value": displays[name].get(text, ""), "value": text}
                        if links:
                            entry["link"] = link
                        record[name] = entry
                    continue
                if mode == "false":
                    record[name] = text
                    continue
                if spec.choice:
                    shown = self.choices[name].get(text, text)
                elif spec.numeric and text and not spec.choice:
                    shown = _number_text(spec, text)
                elif spec.internal_type == "sys_class_name" and text in self.catalog.tables:
                    shown = self.catalog.tables[text].label
                else:
                    shown = text
                record[name] = shown if mode == "true" else {"display_value": shown, "value": text}
            out.append(record)
        return out
