#!/usr/bin/env bash
# The README's screenshot of the indicator report's summary: demo run into a temporary
# HELSEDATA_HOME, then headless Chromium → docs/img/indikatorrapport.png.
# Options are passed on, e.g. `bash scripts/report-screenshot.sh --home var` to use a publication you have.
set -euo pipefail
cd "$(dirname "$0")/.."
exec env PYTHONPATH="$PWD" .venv/bin/python scripts/report_screenshot.py "$@"
