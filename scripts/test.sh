#!/usr/bin/env bash
# One command for the tests: install, then run the whole suite (unit, integration, functional).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
