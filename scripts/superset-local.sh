#!/usr/bin/env bash
# Start a local Superset 6.1 from .venv-superset with the repository's configuration
# (dashboards/superset_bundle/superset_config.py), create its admin, and publish the demo into it.
#
#   bash scripts/superset-local.sh                      # then open http://127.0.0.1:8088 (Ctrl-C stops)
#   bash scripts/superset-local.sh --screenshots docs/img   # publish, save the dashboard PNGs, stop
#
# Data: HELSEDATA_HOME (default ./var); when it has no warehouse yet, `helsedata run --demo` makes one.
# Superset's own state (SQLite metadata, secret key, admin password) lives in
# HELSEDATA_SUPERSET_HOME (default $HELSEDATA_HOME/superset). Port: HELSEDATA_SUPERSET_PORT (8088).
set -euo pipefail
cd "$(dirname "$0")/.."
screenshots=""
if [ "${1:-}" = "--screenshots" ]; then screenshots="${2:?--screenshots needs a folder}"; fi

[ -x .venv/bin/helsedata ] || bash scripts/setup.sh
bash scripts/superset-setup.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code
export HELSEDATA_HOME="${HELSEDATA_HOME:-$PWD/var}"
export HELSEDATA_SUPERSET_HOME="${HELSEDATA_SUPERSET_HOME:-$HELSEDATA_HOME/superset}"
mkdir -p "$HELSEDATA_SUPERSET_HOME"
secret() {  # a random value kept in a file of Superset's home (mode 0600), created once
  [ -s "$HELSEDATA_SUPERSET_HOME/$1" ] || (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(32))" > "$HELSEDATA_SUPERSET_HOME/$1")
  cat "$HELSEDATA_SUPERSET_HOME/$1"
}
export SUPERSET_SECRET_KEY="${SUPERSET_SECRET_KEY:-$(secret secret_key)}"
export SUPERSET_CONFIG_PATH="$PWD/dashboards/superset_bundle/superset_config.py" FLASK_APP=superset
export HELSEDATA_SUPERSET_USERNAME="${HELSEDATA_SUPERSET_USERNAME:-admin}"
export HELSEDATA_SUPERSET_PASSWORD="${HELSEDATA_SUPERSET_PASSWORD:-$(secret admin_password)}"
port="${HELSEDATA_SUPERSET_PORT:-8088}"
export HELSEDATA_SUPERSET_URL="http://127.0.0.1:$port"
superset=.venv-superset/bin/superset

$superset db upgrade >"$HELSEDATA_SUPERSET_HOME/setup.log" 2>&1
$superset fab create-admin --username "$HELSEDATA_SUPERSET_USERNAME" --firstname Helsedata --lastname Admin \
  --email admin@localhost --password "$HELSEDATA_SUPERSET_PASSWORD" >>"$HELSEDATA_SUPERSET_HOME/setup.log" 2>&1
$superset init >>"$HELSEDATA_SUPERSET_HOME/setup.log" 2>&1

$superset run -h 127.0.0.1 -p "$port" >"$HELSEDATA_SUPERSET_HOME/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
until curl -fsS "$HELSEDATA_SUPERSET_URL/health" >/dev/null 2>&1; do
  kill -0 $server 2>/dev/null || { echo "Superset did not start; see $HELSEDATA_SUPERSET_HOME/server.log" >&2; exit 1; }
  sleep 2
done

if [ -e "$HELSEDATA_HOME/warehouse.duckdb" ]; then
  .venv/bin/helsedata publish
else
  .venv/bin/helsedata run --demo
fi

if [ -n "$screenshots" ]; then
  .venv/bin/python -m dashboards.screenshots --url "$HELSEDATA_SUPERSET_URL" --out "$screenshots"
  exit
fi
echo "Superset: $HELSEDATA_SUPERSET_URL  user: $HELSEDATA_SUPERSET_USERNAME  password: in $HELSEDATA_SUPERSET_HOME/admin_password"
wait $server
