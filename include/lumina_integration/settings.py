"""Load an astro-CLI ``airflow_settings.yaml`` (connections, pools, variables) into Airflow.

The astro CLI does this on ``astro dev start``; this does the same without it, through Airflow's
own models, so ``make demo`` and ``make ui`` see the same connections. Re-importing overwrites.
A relative DuckDB path is taken relative to the project, so every process finds the same file.

Values may hold ``${NAME}`` placeholders, expanded here from the environment's one setting each
(:mod:`lumina_integration.environment`): the file stays in the astro format, and an endpoint or a
path the environment moves is written once, not copied into the file. An unknown or unset name is
an error naming the file and line. (The astro CLI does not expand placeholders: under it the
S3 connections keep the literal text and the plan step refuses to run on them.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from lumina_integration.environment import placeholder_value
from lumina_integration.paths import PROJECT_DIR
from lumina_integration.yaml_models import FieldProblem, YamlModelError, field_line

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FIELDS = {
    "conn_host": "host",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
    "conn_port": "port",
}


def expand_placeholders(value: Any, path: Path, loc: Sequence[int | str] = ()) -> Any:
    """``value`` with every ``${NAME}`` in its strings replaced; raises :class:`YamlModelError` for unset names."""
    if isinstance(value, dict):
        return {key: expand_placeholders(item, path, [*loc, key]) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_placeholders(item, path, [*loc, i]) for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    missing = [m.group(1) for m in _PLACEHOLDER.finditer(value) if placeholder_value(m.group(1)) is None]
    if missing:
        message = f"${{{missing[0]}}} is not set in the environment (nor one of the LUMINA_* settings)"
        raise YamlModelError(path, [FieldProblem(field_line(path, loc), ".".join(map(str, loc)), message)])
    return _PLACEHOLDER.sub(lambda m: placeholder_value(m.group(1)) or "", value)


def read_settings(path: Path) -> dict[str, Any]:
    """The ``airflow:`` section as plain connections / pools / variables, placeholders expanded."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data = expand_placeholders(document.get("airflow") or {}, path, ["airflow"])
    connections = {}
    for item in data.get("connections") or []:
        if not item.get("conn_id"):
            continue
        conn: dict[str, Any] = {"conn_type": item.get("conn_type")}
        for key, target in _FIELDS.items():
            if item.get(key) not in (None, ""):
                conn[target] = item[key]
        if conn["conn_type"] == "duckdb" and "host" in conn and not Path(conn["host"]).is_absolute():
            conn["host"] = str(PROJECT_DIR / conn["host"])
        if item.get("conn_extra"):
            conn["extra"] = item["conn_extra"]
        connections[item["conn_id"]] = conn
    pools = {
        p["pool_name"]: {"slots": int(p["pool_slot"]), "description": p.get("pool_description", "")}
        for p in data.get("pools") or []
        if p.get("pool_name") and p.get("pool_slot")
    }
    variables = {v["variable_name"]: v["variable_value"] for v in data.get("variables") or [] if v.get("variable_name")}
    return {"connections": connections, "pools": pools, "variables": variables}


def save_connections(connections: dict[str, dict[str, Any]]) -> list[str]:
    """Create or replace connections in the metadata database (stored Fernet-encrypted)."""
    from airflow.models import Connection
    from airflow.utils.session import create_session

    done = []
    with create_session() as session:
        for conn_id, fields in connections.items():
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()
            extra = fields.get("extra")
            session.add(
                Connection(
                    conn_id=conn_id,
                    conn_type=fields["conn_type"],
                    host=fields.get("host"),
                    schema=fields.get("schema"),
                    login=fields.get("login"),
                    password=fields.get("password"),
                    port=fields.get("port"),
                    extra=json.dumps(extra) if extra is not None else None,
                )
            )
            done.append(f"connection {conn_id} ({fields['conn_type']})")
    return done


def import_settings(path: Path) -> list[str]:
    """Write the settings into the metadata database; returns what was done, one line each."""
    from airflow.models import Pool, Variable
    from airflow.utils.session import create_session

    settings = read_settings(path)
    done = save_connections(settings["connections"])
    with create_session() as session:
        for name, pool in settings["pools"].items():
            session.query(Pool).filter(Pool.pool == name).delete()
            session.add(Pool(pool=name, slots=pool["slots"], description=pool["description"], include_deferred=False))
            done.append(f"pool {name} ({pool['slots']} slots)")
    for key, value in settings["variables"].items():
        Variable.set(key, value)
        done.append(f"variable {key}")
    done.extend(ensure_pii_keys())
    return done


def stored_connection_password(conn_id: str) -> str | None:
    """The password the metadata database holds for ``conn_id`` (None when it holds no such connection).

    The database, not a lookup through the secrets backends: an ``AIRFLOW_CONN_*`` variable would shadow it.
    """
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        conn = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
        return None if conn is None else (conn.password or "")


def ensure_pii_keys() -> list[str]:
    """Create the PII keys connection with fresh random keys when the metadata database has none.

    Never replaced once there: new keys would turn every token and ciphertext already stored into noise.
    """
    from lumina_integration.protection.keys import default_conn_id, generate_keys, keys_connection

    conn_id = default_conn_id()
    if stored_connection_password(conn_id) is not None:
        return [f"connection {conn_id} kept (PII keys)"]
    save_connections({conn_id: keys_connection(generate_keys())})
    return [f"connection {conn_id} (generic, fresh PII keys)"]
