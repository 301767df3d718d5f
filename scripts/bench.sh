#!/usr/bin/env bash
# Speed benchmark: prompt tuning on GPT-2-small shapes (random weights, real GPT-2 tokenizer) on SST-2.
# Prints train/eval examples/s, achieved vs. matmul GFLOP/s and peak RSS. Not a test: run it by hand.
#   scripts/bench.sh [STEPS] [EVAL_EXAMPLES]
# Env: SHARED (default ../shared), WORK (default a temp folder; the 500 MB checkpoint is written once there).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
STEPS=${1:-30}
EVAL=${2:-256}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
CP="target/softprompt/lib/*"
MODEL="$WORK/gpt2-small-random"
if [ ! -f "$MODEL/model.safetensors" ]; then
  echo "writing random GPT-2-small weights to $MODEL (once)" >&2
  java -Xmx4g -cp "$CP" io.softprompt.bench.RandomModel "$MODEL" "$SHARED/tokenizers/gpt2/tokenizer.json" 12 768 12 50257 1024 >&2
fi
# The measured process: a 1 GB heap is plenty (weights and activations live in native memory).
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
exec java -Xmx1g -Dai.djl.offline=true -cp "$CP" io.softprompt.bench.Benchmark "$MODEL" "$SHARED/data/sst2" "$STEPS" "$EVAL"
