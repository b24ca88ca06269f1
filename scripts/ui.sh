#!/usr/bin/env bash
# The local UI's Airflow components, one process group: `airflow standalone` would force the SimpleAuthManager
# (global roles only), and DAG access by domain needs the FAB auth manager's roles (docs/protection/access.md).
# Stopping this script (Ctrl-C) stops them all.
set -euo pipefail
trap 'trap - EXIT INT TERM; kill 0 2>/dev/null || true' EXIT INT TERM
airflow scheduler > "$LUMINA_STATE_DIR/ui-scheduler.log" 2>&1 &
airflow dag-processor > "$LUMINA_STATE_DIR/ui-dag-processor.log" 2>&1 &
airflow triggerer > "$LUMINA_STATE_DIR/ui-triggerer.log" 2>&1 &
airflow api-server --host 127.0.0.1 --port "$AIRFLOW__API__PORT" &
wait -n
