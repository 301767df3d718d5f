#!/usr/bin/env bash
# Depth benchmark: a deep prompt in every layer against one in the top half and the top quarter of the
# layers (with the activation cache and without), at real model shapes (random weights) on SST-2: batch
# 8, 20 prompt tokens, inputs padded to 64 tokens, the first EXAMPLES training examples for EPOCHS epochs
# (epoch 1: the cache cold; later epochs: read from it), the dev sample evaluated twice. Prints examples/s,
# the cache's size and the peak RSS per case, the speed-ups, and the matmul rate before and after. Not a
# test: run it by hand, on a quiet machine (anything else running on 2 cores halves the figures).
#   scripts/bench-depth.sh [MODEL] [EXAMPLES] [EPOCHS] [DEV] [BUDGET_MB]
#   MODEL: qwen3-0.6b (default) | gpt2-small | gemma3-270m | modernbert-base
# Env: SHARED (default ../shared); WORK (default a temp folder; checkpoints are written there once).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
. scripts/lib.sh
need_shared
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
MODEL=${1:-qwen3-0.6b}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
CP="target/softprompt/lib/*"
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
case "$MODEL" in
  qwen3-0.6b|gpt2-small|gemma3-270m|modernbert-base) ;;
  *) echo "unknown MODEL $MODEL (qwen3-0.6b | gpt2-small | gemma3-270m | modernbert-base)" >&2; exit 2 ;;
esac
dir="$WORK/$MODEL-random"
if [ ! -f "$dir/model.safetensors" ] && [ ! -f "$dir/model.safetensors.index.json" ]; then
  echo "writing random $MODEL weights to $dir (once)" >&2
  java -Xmx8g -cp "$CP" io.softprompt.bench.RandomModel "$MODEL" "$dir" \
    "$SHARED/tokenizers/gpt2/tokenizer.json" "$SHARED/data/sst2/train.tsv" >&2
fi
echo "== $MODEL, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
# the kept states live in native memory, as the weights and activations do
java -Xmx1g -XX:MaxDirectMemorySize=64g -Dai.djl.offline=true -cp "$CP" io.softprompt.bench.DepthBenchmark "$dir" \
  "$SHARED/data/sst2" "${2:-32}" "${3:-3}" "${4:-64}" "${5:-1024}"
