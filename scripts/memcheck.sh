#!/usr/bin/env bash
# Memory check: trains STEPS steps (batch 8, 20 prompt tokens, inputs up to 64 tokens, an evaluation
# every 200 steps) through bin/softprompt and prints resident memory every 100 steps, then the growth
# from step 200 (after the first evaluation: its buffers are a one-time allocation) to the last step
# (target: under 5%), and the peak. Not a test: run it by hand or in CI.
#   scripts/memcheck.sh [MODEL] [STEPS] [DEPTH]
#   MODEL: gpt2-tiny (default; the committed fixture, 2 layers, d 64) | gpt2-mini (random, 4 layers,
#          d 256, the real GPT-2 tokenizer) | gpt2-small (random, GPT-2 small's shapes)
#   DEPTH: all (default: the three below, one after another) | input (an input prompt) | deep (a deep
#          prompt: 20 key and value rows in every layer) | pack (a deep and an input prompt trained as
#          one pack by sweep --pack 2, in one process)
# Env: SHARED (default ../shared: SST-2 and the GPT-2 tokenizer; without it gpt2-tiny trains on the
#      built-in sample); WORK (default a temp folder); DIST (default target/softprompt: point it at a
#      copy to keep building while a long check runs); SOFTPROMPT_HEAP, SOFTPROMPT_MALLOC as the launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-memcheck}
MODEL=${1:-gpt2-tiny}
STEPS=${2:-2000}
DEPTH=${3:-all}
case "$DEPTH" in all|input|deep|pack) ;; *) echo "memcheck: unknown DEPTH $DEPTH (all | input | deep | pack)" >&2; exit 2 ;; esac
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
alloc=glibc
if [ "${SOFTPROMPT_MALLOC:-jemalloc}" = jemalloc ]; then  # the launcher's search, same order
  for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
             /usr/lib64/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2; do
    if [ -f "$lib" ]; then alloc=jemalloc; break; fi
  done
fi
echo "model $MODEL ($model), data $what, $STEPS steps"
echo "allocator $alloc, heap ${SOFTPROMPT_HEAP:-512m} (memory only: random or tiny weights)"
flags=(--tokens 20 --steps "$STEPS" --batch-size 8 --max-length 64 --eval-every 200 --checkpoint-every 500 --log-every 100)

# the table of one run's metrics.jsonl: rss every 100 steps, growth from step 200 to the last, the peak
table() {
  echo "step  rss_mb"
  sed -E 's/.*"step":([0-9]+).*"rss_mb":([0-9.]+).*/\1 \2/' "$1" |
    awk -v what="$2" -v sum="$WORK/summary" '{ printf "%5d  %7.1f\n", $1, $2; rss[$1] = $2; last = $1; if ($2 > peak) peak = $2 }
         END { g = rss[200] > 0 ? sprintf("%+.2f%%", 100 * (rss[last] - rss[200]) / rss[200]) : "n/a"
               printf "growth from step 200 to step %d: %s (peak %.1f MB)\n", last, g, peak
               printf "%s: step 200 %.1f MB, step %d %.1f MB, growth %s, peak %.1f MB\n", what, rss[200], last, rss[last], g, peak >> sum }'
}

solo() { # DEPTH
  rm -rf "$WORK/run-$1" "$WORK/mem-$1.sp"
  local t0; t0=$(date +%s)
  "$DIST/bin/softprompt" train --model "$model" --task sst2 "${data[@]}" --depth "$1" "${flags[@]}" \
    -o "$WORK/mem-$1.sp" --run-dir "$WORK/run-$1" >/dev/null 2>"$WORK/train-$1.log" || {
      tail -5 "$WORK/train-$1.log" >&2; exit 1; }
  echo
  echo "== $1 prompt: $(( $(date +%s) - t0 )) s"
  table "$WORK/run-$1/metrics.jsonl" "$1"
}

pack() { # a deep and an input prompt in one process, every step shared
  rm -rf "$WORK/pack"
  local json=() f
  for ((i = 0; i < ${#data[@]}; i += 2)); do json+=("\"${data[i]#--}\": \"$(realpath "${data[i+1]}")\","); done
  cat >"$WORK/pack.json" <<JSON
{"base": {"model": "$(realpath "$model")", "task": "sst2", ${json[*]} "tokens": 20, "steps": $STEPS, "batch_size": 8,
          "max_length": 64, "eval_every": 200, "checkpoint_every": 500, "log_every": 100},
 "grid": {"depth": ["deep", "input"]}}
JSON
  local t0; t0=$(date +%s)
  "$DIST/bin/softprompt" sweep --config "$WORK/pack.json" --out "$WORK/pack" --pack 2 >/dev/null 2>"$WORK/pack.log" || {
    tail -5 "$WORK/pack.log" >&2; exit 1; }
  echo
  echo "== a pack of a deep and an input prompt (sweep --pack 2, one process): $(( $(date +%s) - t0 )) s"
  for f in "$WORK"/pack/*/metrics.jsonl; do
    echo "-- $(basename "$(dirname "$f")") (the process's rss, as each run logs it)"
    table "$f" "pack, $(basename "$(dirname "$f")")"
  done
}

rm -f "$WORK/summary"
case "$DEPTH" in
  all) solo input; solo deep; pack ;;
  input|deep) solo "$DEPTH" ;;
  pack) pack ;;
esac
echo
echo "summary ($MODEL, $STEPS steps):"
cat "$WORK/summary"
