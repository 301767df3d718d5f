#!/usr/bin/env bash
# Runs a sweep (the same command CI's sweep workflow runs for each shard).
#   scripts/sweep.sh CONFIG OUT [softprompt sweep flags: --workers K, --shard i/n, --set KEY=JSON ...]
# Re-running with the same OUT skips finished runs and resumes interrupted ones.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/sweep.sh CONFIG OUT [sweep flags]" >&2; exit 2; }
config=$1 out=$2
shift 2
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
exec target/softprompt/bin/softprompt sweep --config "$config" --out "$out" "$@"
