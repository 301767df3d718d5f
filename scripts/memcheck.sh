#!/usr/bin/env bash
# Memory check: trains STEPS steps (batch 8, 20 prompt tokens, inputs up to 64 tokens, an evaluation
# every 200 steps) through bin/softprompt and prints resident memory every 100 steps, then the growth
# from step 200 (after the first evaluation: its buffers are a one-time allocation) to the last step
# (target: under 5%). Not a test: run it by hand or in CI.
#   scripts/memcheck.sh [MODEL] [STEPS]
#   MODEL: gpt2-tiny (default; the committed fixture, 2 layers, d 64) | gpt2-mini (random, 4 layers,
#          d 256, the real GPT-2 tokenizer) | gpt2-small (random, GPT-2 small's shapes)
# Env: SHARED (default ../shared: SST-2 and the GPT-2 tokenizer; without it gpt2-tiny trains on the
#      built-in sample); WORK (default a temp folder); DIST (default target/softprompt: point it at a
#      copy to keep building while a long check runs); SOFTPROMPT_HEAP, SOFTPROMPT_MALLOC as the launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-memcheck}
MODEL=${1:-gpt2-tiny}
STEPS=${2:-2000}
DIST=${DIST:-target/softprompt}
[ -x "$DIST/bin/softprompt" ] || mvn -B -q package -DskipTests
mkdir -p "$WORK"
data=()
if [ -f "$SHARED/data/sst2/train.tsv" ]; then
  data=(--train "$SHARED/data/sst2/train.tsv" --dev "$SHARED/data/sst2/dev.tsv")
  what="SST-2 ($SHARED/data/sst2)"
else
  what="the built-in SST-2 sample ($SHARED/data/sst2 not found)"
fi
case "$MODEL" in
  gpt2-tiny) model=core/src/test/resources/fixtures/gpt2-tiny ;;
  gpt2-mini|gpt2-small)
    model="$WORK/$MODEL-random"
    if [ ! -f "$SHARED/tokenizers/gpt2/tokenizer.json" ]; then
      echo "memcheck: $MODEL needs the GPT-2 tokenizer and SST-2 under $SHARED (set SHARED)" >&2; exit 2
    fi
    if [ ! -f "$model/model.safetensors" ]; then
      echo "writing a random $MODEL to $model (once)" >&2
      java -Xmx6g -cp "$DIST/lib/*" io.softprompt.bench.RandomModel "$MODEL" "$model" \
        "$SHARED/tokenizers/gpt2/tokenizer.json" "$SHARED/data/sst2/train.tsv" >&2
    fi ;;
  *) echo "memcheck: unknown MODEL $MODEL (gpt2-tiny | gpt2-mini | gpt2-small)" >&2; exit 2 ;;
esac
rm -rf "$WORK/run" "$WORK/mem.sp"
t0=$(date +%s)
"$DIST/bin/softprompt" train --model "$model" --task sst2 "${data[@]}" \
  --depth input --tokens 20 --steps "$STEPS" --batch-size 8 --max-length 64 --eval-every 200 --checkpoint-every 500 \
  --log-every 100 -o "$WORK/mem.sp" --run-dir "$WORK/run" >/dev/null 2>"$WORK/train.log" || {
    tail -5 "$WORK/train.log" >&2; exit 1; }
echo "model $MODEL ($model), data $what, $STEPS steps in $(( $(date +%s) - t0 )) s"
alloc=glibc
if [ "${SOFTPROMPT_MALLOC:-jemalloc}" = jemalloc ]; then  # the launcher's search, same order
  for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
             /usr/lib64/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -f "$lib" ]; then alloc=jemalloc; break; fi
  done
fi
echo "allocator $alloc, heap ${SOFTPROMPT_HEAP:-512m} (memory only: random or tiny weights)"
echo "step  rss_mb"
sed -E 's/.*"step":([0-9]+).*"rss_mb":([0-9.]+).*/\1 \2/' "$WORK/run/metrics.jsonl" |
  awk '{ printf "%5d  %7.1f\n", $1, $2; rss[$1] = $2; last = $1 }
       END { if (rss[200] > 0) printf "growth from step 200 to step %d: %+.2f%%\n", last, 100 * (rss[last] - rss[200]) / rss[200] }'
