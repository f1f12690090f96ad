#!/usr/bin/env bash
# One command for a fresh machine: install, then run the whole platform on demo data
# (synthetic extracts → ingestion → dbt marts → quality labels → published tables and report).
# Options are passed to `helsedata run`, e.g. `bash scripts/run-demo.sh --scale 0.05`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/helsedata run --demo "$@"
