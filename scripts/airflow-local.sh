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
#
# Sized for the machine: task slots = CPU cores (Airflow's default of 32 would fork 32
# LocalExecutor workers at start), one DAG-parsing process, one API server worker. Any of these
# environment variables set by the caller wins. Ctrl-C or SIGTERM stops every process Airflow
# started, task processes included.
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
cores="$(nproc)"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-$cores}"
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
mkdir -p "$HELSEDATA_HOME" "$AIRFLOW_HOME"

if [ "${1:-}" = "airflow" ]; then
  shift
  exec airflow "$@"
fi

airflow db migrate >/dev/null
# Every task that opens the DuckDB warehouse runs in this pool; one slot = one writer at a time.
airflow pools set warehouse_writer 1 "DuckDB warehouse: one writer process at a time" >/dev/null
# Parse the DAGs into the metadata DB now, so `airflow dags list` shows them before the DAG
# processor's first pass, and a DAG that fails to import is reported here.
airflow dags reserialize >/dev/null 2>&1
if ! errors="$(airflow dags list-import-errors -o plain 2>&1)"; then
  echo "Some DAG files fail to import (fix them, then run again):" >&2
  echo "$errors" >&2
  exit 1
fi
echo "Airflow home: $AIRFLOW_HOME (SQLite metadata), DAGs: $repo/dags, HELSEDATA_HOME: $HELSEDATA_HOME"

if [ "${1:-}" = "init" ]; then
  exit 0
fi
echo "Starting Airflow; the UI is on http://localhost:8080 (user admin, password printed below and kept in"
echo "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated). Stop with Ctrl-C."

# `airflow standalone` leaves its components running when it gets SIGTERM (and, started in the
# background, it ignores SIGINT), and task processes put themselves in process groups of their
# own. So Airflow runs in a session of its own, and stopping sends SIGTERM to every process of that
# session (each component shuts down cleanly on it), then SIGKILL to any still there after 30 s.
setsid airflow standalone &
standalone=$!
session="$(ps -o sid= -p "$standalone" | tr -d ' ')"

in_session() { ps -e -o sid=,pid= | awk -v s="$session" '$1 == s {print $2}'; }

stop() {
  trap - INT TERM EXIT
  echo "Stopping Airflow ..."
  for signal in TERM KILL; do
    pids="$(in_session)"
    [ -z "$pids" ] && return 0
    kill "-$signal" $pids 2>/dev/null || true
    for _ in $(seq 1 30); do
      [ -z "$(in_session)" ] && return 0
      sleep 1
    done
  done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT
wait "$standalone"
