#!/usr/bin/env bash
# Run Helsedata's Airflow DAGs on this machine: `airflow standalone` (scheduler, DAG processor,
# triggerer and API server/UI in one process tree, LocalExecutor) with SQLite metadata.
#
#   bash scripts/airflow-local.sh          prepare, then start Airflow on http://localhost:8080
#   bash scripts/airflow-local.sh init     prepare only: metadata DB migrated, pool created
#   bash scripts/airflow-local.sh airflow ARGS...   any airflow command in the same environment,
#                                          e.g. `... airflow dags list-import-errors`
#
# State stays under HELSEDATA_HOME (default ./var): Airflow's home is $HELSEDATA_HOME/airflow
# (airflow.cfg, airflow.db, logs, the generated admin password), unless AIRFLOW_HOME is set.
# The DAGs are read from this repository's dags/ folder. See docs/airflow.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
[ -x .venv/bin/airflow ] || bash scripts/setup.sh
export PATH="$repo/.venv/bin:$PATH"

export HELSEDATA_HOME="$(realpath -m "${HELSEDATA_HOME:-var}")"
export AIRFLOW_HOME="$(realpath -m "${AIRFLOW_HOME:-$HELSEDATA_HOME/airflow}")"
export AIRFLOW__CORE__DAGS_FOLDER="$repo/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}"
# Asset-scheduled DAGs only run when unpaused; locally, let a demo flow end to end at once.
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-False}"
mkdir -p "$HELSEDATA_HOME" "$AIRFLOW_HOME"

if [ "${1:-}" = "airflow" ]; then
  shift
  exec airflow "$@"
fi

airflow db migrate >/dev/null
# Every task that opens the DuckDB warehouse runs in this pool; one slot = one writer at a time.
airflow pools set warehouse_writer 1 "DuckDB warehouse: one writer process at a time" >/dev/null
echo "Airflow home: $AIRFLOW_HOME (SQLite metadata), DAGs: $repo/dags, HELSEDATA_HOME: $HELSEDATA_HOME"

if [ "${1:-}" = "init" ]; then
  exit 0
fi
echo "Starting Airflow; the UI is on http://localhost:8080 (user admin, password printed below and kept in"
echo "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated). Stop with Ctrl-C."
exec airflow standalone
