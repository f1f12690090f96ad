#!/usr/bin/env bash
# Create .venv-superset: Apache Superset 6.1 in its own virtualenv, pinned by
# requirements/superset-constraints.txt. Idempotent. Used by the real-Superset test and by anyone
# who wants the dashboards locally (see docs/publishing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
venv=.venv-superset
stamp=$venv/.helsedata-installed
want="$(cat requirements/superset.in requirements/superset-constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x $venv/bin/python ] || "$PYTHON" -m venv $venv
  $venv/bin/python -m pip install --quiet --upgrade "pip==25.3"
  $venv/bin/python -m pip install --quiet -r requirements/superset.in -c requirements/superset-constraints.txt
  echo "$want" > "$stamp"
fi
