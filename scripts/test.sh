#!/usr/bin/env bash
# One command for the tests: install, then run the whole suite (unit, integration, functional).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The report tests render pages in a real headless browser (Debian's chromium).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The Superset test starts a real Superset 6.1 on loopback from its own pinned virtualenv.
bash scripts/superset-setup.sh 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
export HELSEDATA_SUPERSET_VENV="$PWD/.venv-superset" HELSEDATA_SUPERSET_TEST=1
# The layers (import-linter contracts in pyproject.toml) and ruff first: seconds, and they name the line.
.venv/bin/lint-imports
.venv/bin/ruff check .
# loadgroup: tests marked xdist_group (the real Superset) share one worker and its fixtures
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup --durations=25 "$@"
