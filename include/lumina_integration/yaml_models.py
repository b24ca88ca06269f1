"""Load YAML files into Pydantic models with errors that name the file, line and field.

Data teams edit YAML (pipeline specs, entity schemas, mappings). When they get something wrong,
the error must point at the exact place: ``dags/sales/x.dag.yaml:12: source.conn_id: Field required``.
PyYAML's composer keeps the position of every node, so a Pydantic error location (a path of keys
and indexes) can be mapped back to the line where that key, or its nearest parent, was written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
# libyaml's parser (when PyYAML was built with it) is several times faster than the pure-Python one and
# keeps the same marks; DAG parsing reads every spec, mapping and schema through here.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FieldProblem:
    """One problem in a YAML file."""

    line: int
    field: str
    message: str

    def render(self, path: str) -> str:
        where = f"{path}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class YamlModelError(ValueError):
    """A YAML file that does not parse or does not match its model."""

    def __init__(self, path: str | Path, problems: Sequence[FieldProblem]):
        self.path = str(path)
        self.problems = list(problems)
        super().__init__("\n".join(p.render(self.path) for p in self.problems))


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """Walk the composed YAML tree along a Pydantic error location; return a 1-based line.

    The line is that of the deepest key found on the path: the bad key or value itself, or, for
    a missing key, the parent key under which it should have been written.
    """
    if node is None:
        return 1
    line = node.start_mark.line if loc else 0
    current: yaml.Node = node
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if key_node.value == part:
                    line, child = key_node.start_mark.line, value_node
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            child = current.value[part]
            line = child.start_mark.line
        if child is None:
            break
        current = child
    return line + 1


def compose_yaml(text: str, path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Parse YAML text into plain data and its node tree, or raise :class:`YamlModelError`."""
    try:
        # One parse: the data is constructed from the node tree the line numbers come from.
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlModelError(path, [FieldProblem(line, "", f"invalid YAML: {exc.problem}")]) from exc
    return data, node


def validate_yaml_data(model: type[ModelT], data: Any, node: yaml.Node | None, path: str | Path) -> ModelT:
    """Validate already parsed YAML data, mapping any error back to its line."""
    if not isinstance(data, Mapping):
        raise YamlModelError(path, [FieldProblem(1, "", "expected a mapping of keys to values")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, (int, str))]
            field = ".".join(str(p) for p in loc)
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key (check the spelling; see the JSON Schema for allowed keys)"
            problems.append(FieldProblem(line_of(node, loc), field, message))
        raise YamlModelError(path, problems) from exc


def load_yaml_model(model: type[ModelT], path: str | Path) -> ModelT:
    """Read ``path`` and validate it as ``model``."""
    text = Path(path).read_text(encoding="utf-8")
    data, node = compose_yaml(text, path)
    return validate_yaml_data(model, data, node, path)


def field_line(path: str | Path, loc: Sequence[int | str]) -> int:
    """The line of ``loc`` (a path of keys and indexes) in a YAML file; 1 if it cannot be found."""
    try:
        node = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError):
        return 1
    return line_of(node, loc)
