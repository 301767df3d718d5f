#!/usr/bin/env bash
# Many prompts at the speed of one: the same SST-2 dev rows scored with K = 1, 4, 16, 64 distinct prompts
# (different N and tasks, one in four deep) mixed in every batch, through the scorer with its prefix
# cache, on GPT-2-small shapes (random weights, real GPT-2 tokenizer): rows/s, its ratio to K = 1, and
# p50/p99 batch latency (io.softprompt.bench.PromptsBenchmark); then the same prompts through
# `softprompt serve` under load (the rows as requests of ITEMS items from THREADS client threads at once,
# the server batching up to 32 rows): rows/s and p50/p99 request latency per K. Prints the machine's
# matmul rate first. Not a test: run it on a quiet machine.
#   scripts/bench-prompts.sh [ROWS]          (ROWS default 256; about 5 minutes)
# Env: SHARED (default ../shared); WORK (default a temp folder); PORT (default 18081); THREADS (default
#      16); ITEMS (default 8); ONLY=scorer|serve runs one half.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
. scripts/lib.sh
need_shared
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
CP="target/softprompt/lib/*"
model=$(gpt2_small_model)
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
echo "$(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
java -cp "$CP" io.softprompt.bench.MatmulRate
if [ "${ONLY:-}" != serve ]; then
  java -Xmx1g -XX:+UseSerialGC -XX:MaxDirectMemorySize=64g -Dai.djl.offline=true -cp "$CP" \
    io.softprompt.bench.PromptsBenchmark "$model" "$SHARED/data/sst2" "${1:-256}" 2> >(grep -v DEBUG >&2)
fi
if [ "${ONLY:-}" != scorer ]; then
  PORT=${PORT:-18081}
  prompts="$WORK/bench-prompts"
  rm -rf "$prompts"
  java -Xmx1g -Dai.djl.offline=true -cp "$CP" io.softprompt.bench.PromptsBenchmark write "$model" "$prompts" 2>/dev/null
  target/softprompt/bin/softprompt serve --model "$model" --prompts "$prompts" --port "$PORT" --queue 4096 \
    2>"$WORK/bench-prompts-serve.log" &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  java -Xmx256m -cp "$CP" io.softprompt.bench.PromptsBenchmark serve "http://127.0.0.1:$PORT" "$SHARED/data/sst2" \
    "${1:-256}" "${THREADS:-16}" "${ITEMS:-8}"
fi
