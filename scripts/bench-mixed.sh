#!/usr/bin/env bash
# Mixed-task inference benchmark: SST-2 dev (872 sentences) under two prompts on random GPT-2-small
# weights, (a) naive per-task uncached inference against (b) the full path (prefix cache, length
# buckets, label logits only). Prints examples/s of both. Not a test: run it by hand.
#   scripts/bench-mixed.sh [ROWS_PER_TASK]
# Env: SHARED (default ../shared); WORK (default a temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
. scripts/lib.sh
need_shared
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
model=$(gpt2_small_model)
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
java -Xmx1g -XX:+UseSerialGC -XX:MaxDirectMemorySize=64g -Dai.djl.offline=true -cp "target/softprompt/lib/*" \
  io.softprompt.bench.MixedBenchmark "$model" "$SHARED/data/sst2" "${1:-872}"
