#!/usr/bin/env bash
# Speed benchmark: prompt tuning at real model shapes (random weights) on SST-2: batch 8, 20 prompt
# tokens, inputs padded or truncated to 64 tokens. Prints train/eval examples/s, peak RSS and, for
# GPT-2, achieved vs. matmul GFLOP/s. Not a test: run it by hand.
#   scripts/bench.sh [MODEL] [STEPS] [EVAL_EXAMPLES]
#   MODEL: gpt2-small (default) | smollm2-135m | t5-base | all, or a family at its published shape
#   (README "Which models"): qwen3-0.6b | gemma3-270m | modernbert-base | phi4-mini | families (the
#   first three; phi4-mini, 3.8 B parameters, takes 15 GB of memory as float32 and minutes a step, so
#   it runs only when named: scripts/bench.sh phi4-mini 3 32; phi4-mini-8-layers, its width and vocabulary
#   with 8 of its 32 layers, fits a 24 GB machine)
# Env: SHARED (default ../shared); WORK (default a temp folder; checkpoints are written there once).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
. scripts/lib.sh
need_shared
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
MODEL=${1:-gpt2-small}
STEPS=${2:-30}
EVAL=${3:-256}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
CP="target/softprompt/lib/*"
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}

run() {
  local arch=$1 objective=$2
  local dir="$WORK/$arch-random"
  if [ ! -f "$dir/model.safetensors" ] && [ ! -f "$dir/model.safetensors.index.json" ]; then
    echo "writing random $arch weights to $dir (once)" >&2
    java -Xmx8g -cp "$CP" io.softprompt.bench.RandomModel "$arch" "$dir" \
      "$SHARED/tokenizers/gpt2/tokenizer.json" "$SHARED/data/sst2/train.tsv" >&2
  fi
  echo "== $arch"
  # The measured process: a 1 GB heap is plenty (weights and activations live in native memory).
  java -Xmx1g -XX:MaxDirectMemorySize=64g -Dai.djl.offline=true -cp "$CP" io.softprompt.bench.Benchmark "$dir" "$SHARED/data/sst2" \
    "$STEPS" "$EVAL" "$objective"
}

case "$MODEL" in
  gpt2-small) run gpt2-small verbalizer ;;
  smollm2-135m) run smollm2-135m verbalizer ;;
  t5-base) run t5-base lm ;;          # T5: Lester et al.'s text-to-text loss (label word + EOS)
  all) run gpt2-small verbalizer; run smollm2-135m verbalizer; run t5-base lm ;;
  qwen3-0.6b|gemma3-270m|modernbert-base|phi4-mini|phi4-mini-8-layers) run "$MODEL" verbalizer ;;
  families) for f in qwen3-0.6b gemma3-270m modernbert-base; do run "$f" verbalizer; done ;;
  *) echo "unknown MODEL $MODEL (gpt2-small | smollm2-135m | t5-base | all | qwen3-0.6b | gemma3-270m |" \
       "modernbert-base | phi4-mini | phi4-mini-8-layers | families)" >&2; exit 2 ;;
esac
