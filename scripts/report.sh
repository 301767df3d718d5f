#!/usr/bin/env bash
# Builds the report of a sweep's runs: runs.csv, summary.md, PNG and SVG plots (an earlier report in
# REPORT_DIR is replaced; a folder holding other files is refused).
#   scripts/report.sh RUNS_DIR REPORT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: scripts/report.sh RUNS_DIR REPORT_DIR" >&2; exit 2; }
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
exec target/softprompt/bin/softprompt report "$1" --out "$2" --force
