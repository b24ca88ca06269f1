"""``lumina``: the data teams' command line.

- ``lumina lint [FILE...]``: check pipeline specs (default: all under dags/), their mappings and
  the canonical schemas; prints ``file:line: field: problem`` and exits 1 on any problem.
- ``lumina schema [--out PATH]``: write the JSON Schema of pipeline specs for editor completion.
- ``lumina settings-import [--file airflow_settings.yaml]``: load the astro-format connections,
  pools and variables into Airflow's metadata database (what ``astro dev start`` does), with
  ``${LUMINA_...}`` placeholders expanded from the environment (see ``lumina_integration.environment``).
- ``lumina summary``: rows per canonical table, quarantine counts, watermarks, last runs.
- ``lumina erase --subject VALUE [--reason TEXT]``: erase a data subject from the warehouse, quarantine and
  lake (``--subject -`` reads the value from stdin, keeping it out of the shell's history); prints the
  erasure record (the subject's token, never its value). See docs/protection/lifecycle.md.
- ``lumina pii keys | new-key [--id ID] | rotate --to ID | retire-key ID | install-sql``: the PII encryption key
  ids (never the keys), a new active key, re-encrypting the warehouse under one key, removing a key no value
  uses, the Postgres decryption function (see docs/protection/pii.md).
- ``lumina compliance-report [--json]``: per pipeline and entity, the PII columns and their actions,
  retention, region, lake encryption, key ids in use, and the last erasures (see docs/protection/lake.md).
- ``lumina auth-events [--conn-id ID] [--pipeline ID] [--since 24h|7d|2026-01-31T00:00]``: source logins,
  token refreshes, refusals, rotations and breaker changes from ``lumina_auth_events``, latest first.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from lumina_integration.paths import DAGS_DIR, PROJECT_DIR, SCHEMAS_DIR

SPEC_SCHEMA_PATH = PROJECT_DIR / "docs" / "pipeline-spec.schema.json"


def lint(paths: list[Path], dags_dir: Path = DAGS_DIR) -> list[str]:
    """Every problem found, one ``file:line: field: problem`` line each (empty when all is well).

    ``paths`` may name specs anywhere: outside ``dags_dir`` a spec's defaults come from its own folder
    and that folder's parent (see :mod:`lumina_integration.factory.specs`).
    """
    from lumina_integration.canonical.registry import load_entity, schema_files
    from lumina_integration.factory.dag_builder import check_pipeline
    from lumina_integration.factory.specs import LoadedSpec, iter_specs, load_spec
    from lumina_integration.protection.policy import policy_problems
    from lumina_integration.protection.settings import data_protection, settings_path
    from lumina_integration.yaml_models import YamlModelError

    problems: list[str] = []
    try:
        pii = data_protection().pii
    except YamlModelError as exc:
        problems.append(str(exc))
        pii = None
    for entity, version in schema_files(SCHEMAS_DIR):
        try:
            schema = load_entity(entity, version)
        except (YamlModelError, LookupError) as exc:
            problems.append(str(exc))
            continue
        if pii is not None:
            # A token, ciphertext or mask is text: a policy on a typed column cannot apply.
            problems.extend(f"{settings_path()}: {p}" for p in policy_problems(schema, pii))
    items: list[LoadedSpec | YamlModelError] = []
    if paths:
        for path in paths:
            try:
                items.append(LoadedSpec(path.resolve(), load_spec(path.resolve(), dags_dir.resolve())))
            except YamlModelError as exc:
                items.append(exc)
    else:
        items = list(iter_specs(dags_dir))
    for item in items:
        if isinstance(item, YamlModelError):
            problems.append(str(item))
            continue
        try:
            check_pipeline(item, dags_dir.resolve())
        except YamlModelError as exc:
            problems.append(str(exc))
    return [line for found in problems for line in found.splitlines()]


def _summary() -> str:
    from lumina_integration.warehouse.summary import warehouse_summary

    return warehouse_summary("lumina_warehouse")


def parse_since(value: str) -> datetime:
    """``30m``, ``24h``, ``7d`` (that long ago) or an ISO 8601 instant (UTC when it names no zone)."""
    from datetime import UTC, timedelta

    text = value.strip()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since {value!r}: use 30m, 24h, 7d or an ISO 8601 time") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _auth_events(args: argparse.Namespace) -> str:
    from lumina_integration.warehouse.auth_events import format_events, read_auth_events
    from lumina_integration.warehouse.connection import warehouse_target

    rows = read_auth_events(
        warehouse_target(args.warehouse),
        conn_id=args.conn_id,
        pipeline_id=args.pipeline,
        since=args.since,
        limit=args.limit,
    )
    return format_events(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lumina", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lint_parser = sub.add_parser("lint", help="check pipeline specs, mappings and schemas")
    lint_parser.add_argument("files", nargs="*", type=Path)
    lint_parser.add_argument("--dags-dir", type=Path, default=DAGS_DIR)
    schema_parser = sub.add_parser("schema", help="write the pipeline spec JSON Schema")
    schema_parser.add_argument("--out", type=Path, default=SPEC_SCHEMA_PATH)
    settings_parser = sub.add_parser("settings-import", help="load airflow_settings.yaml into Airflow")
    settings_parser.add_argument("--file", type=Path, default=PROJECT_DIR / "airflow_settings.yaml")
    sub.add_parser("summary", help="print what the warehouse holds")
    events_parser = sub.add_parser("auth-events", help="list source logins, token refreshes and breaker changes")
    events_parser.add_argument("--conn-id", help="only this connection's events")
    events_parser.add_argument("--pipeline", help="only this pipeline's events")
    events_parser.add_argument("--since", type=parse_since, help="30m, 24h, 7d or an ISO 8601 time")
    events_parser.add_argument("--limit", type=int, default=200)
    events_parser.add_argument("--warehouse", default="lumina_warehouse", help="the warehouse connection")
    erase_parser = sub.add_parser("erase", help="erase a data subject everywhere (right to erasure)")
    erase_parser.add_argument("--subject", required=True, help="the value (an e-mail, a phone...); - reads stdin")
    erase_parser.add_argument("--reason", default="erasure request")
    erase_parser.add_argument("--requested-by", default=None, help="who asked (default: the OS user)")
    erase_parser.add_argument("--dags-dir", type=Path, default=DAGS_DIR)
    pii_parser = sub.add_parser("pii", help="PII keys: list, add a key, rotate the warehouse, retire a key")
    pii_sub = pii_parser.add_subparsers(dest="pii_command", required=True)
    pii_sub.add_parser("keys", help="the key ids and the active one (never the keys)")
    new_key = pii_sub.add_parser("new-key", help="add a fresh encryption key and make it active")
    new_key.add_argument("--id", dest="key_id", default=None, help="the new key id (default: the next kN)")
    retire = pii_sub.add_parser("retire-key", help="remove a key no value uses any more")
    retire.add_argument("key_id")
    report_parser = sub.add_parser("compliance-report", help="PII policies, retention, region, key ids, erasures")
    report_parser.add_argument("--json", action="store_true", help="print the report as JSON")
    report_parser.add_argument("--dags-dir", type=Path, default=DAGS_DIR)
    rotate = pii_sub.add_parser("rotate", help="re-encrypt every encrypted warehouse value under one key")
    rotate.add_argument("--to", dest="to_key", required=True, help="the key id (usually the active one)")
    rotate.add_argument("--warehouse", default="lumina_warehouse", help="the warehouse connection id")
    rotate.add_argument("--batch-rows", type=int, default=5_000)
    install_sql = pii_sub.add_parser("install-sql", help="create the Postgres decryption functions (pgcrypto)")
    install_sql.add_argument("--warehouse", default="lumina_warehouse", help="the warehouse connection id")
    args = parser.parse_args(argv)

    if args.command == "lint":
        problems = lint(args.files, args.dags_dir)
        for line in problems:
            print(line, file=sys.stderr)
        print(f"lint: {len(problems)} problem(s)", file=sys.stderr if problems else sys.stdout)
        return 1 if problems else 0
    if args.command == "schema":
        from lumina_integration.factory.spec_schema import spec_json_schema

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.out}")
        return 0
    if args.command == "settings-import":
        from lumina_integration.environment import private_state_dir
        from lumina_integration.private import private_tree
        from lumina_integration.settings import import_settings
        from lumina_integration.yaml_models import YamlModelError

        # The Airflow DB `airflow db migrate` made, and anything an older checkout left, readable by us only.
        private_tree(private_state_dir())

        try:
            done = import_settings(args.file)
        except YamlModelError as exc:
            print(exc, file=sys.stderr)
            return 1
        for line in done:
            print(line)
        return 0
    if args.command == "pii":
        return _pii(args)
    if args.command == "compliance-report":
        return _compliance_report(args)
    if args.command == "auth-events":
        print(_auth_events(args))
        return 0
    if args.command == "erase":
        return _erase(args)
    print(_summary())
    return 0


def _erase(args: argparse.Namespace) -> int:
    import getpass

    from lumina_integration.protection.erasure import run_erasure

    value = sys.stdin.readline().rstrip("\n") if args.subject == "-" else args.subject
    try:
        result = run_erasure(
            value,
            reason=args.reason,
            requested_by=args.requested_by or getpass.getuser(),
            dags_dir=args.dags_dir,
            log=lambda line: print(line, file=sys.stderr),
        )
    except ValueError as exc:
        print(f"erase: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result.to_xcom(), indent=2, sort_keys=True))
    return 0


def _pii(args: argparse.Namespace) -> int:
    from lumina_integration.protection import key_admin
    from lumina_integration.protection.keys import PiiKeyError, load_keys

    if args.pii_command in ("rotate", "install-sql"):
        return _pii_warehouse(args)
    try:
        if args.pii_command == "keys":
            keys = load_keys()
        elif args.pii_command == "new-key":
            keys = key_admin.add_key(args.key_id)
        else:
            keys = key_admin.retire_key(args.key_id)
    except PiiKeyError as exc:
        print(f"lumina pii: {exc}", file=sys.stderr)
        return 1
    print(f"encryption keys: {', '.join(keys.key_ids)}; active: {keys.active_key_id}")
    return 0


def _compliance_report(args: argparse.Namespace) -> int:
    from lumina_integration.protection.compliance import compliance_report, render_text

    report = compliance_report(args.dags_dir)
    print(json.dumps(report.to_json(), indent=2, default=str) if args.json else render_text(report))
    # A report with problems (an invalid spec, an unreachable warehouse) is still printed, but not a success.
    return 1 if report.problems else 0


def _pii_warehouse(args: argparse.Namespace) -> int:
    from lumina_integration.protection.crypto import DecryptError
    from lumina_integration.protection.keys import PiiKeyError, load_keys
    from lumina_integration.warehouse.connection import warehouse_target

    target = warehouse_target(args.warehouse)
    if args.pii_command == "install-sql":
        from lumina_integration.protection.sql_decrypt import install

        if target.engine.dialect.name != "postgresql":
            print("lumina pii: the SQL decryption functions are for Postgres warehouses", file=sys.stderr)
            return 1
        with target.engine.begin() as conn:
            install(conn, target.schema)
        print(f"created {target.schema}.lumina_pii_decrypt(value, key) and {target.schema}.lumina_pii_key_id(value)")
        return 0
    from lumina_integration.protection.rotation import remaining, rotate

    try:
        report = rotate(target.engine, target.schema, load_keys(), args.to_key, batch_rows=args.batch_rows)
    except (PiiKeyError, DecryptError) as exc:
        print(f"lumina pii: {exc}", file=sys.stderr)
        return 1
    for line in report.describe():
        print(line)
    left = {t: n for t, n in remaining(target.engine, target.schema, args.to_key).items() if n}
    if left:  # a load wrote under an older key meanwhile: run again
        print(f"still under other keys: {left}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
