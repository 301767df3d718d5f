#!/usr/bin/env bash
# Memory check: 2,000 training steps on a small random GPT-2 (4 layers, d 256, the real GPT-2
# tokenizer) over ../shared/data/sst2, printing resident memory every 100 steps, then the growth from
# step 200 to the last step (target: under 5%). Not a test: run it by hand or in CI.
#   scripts/memcheck.sh [STEPS]
# Env: SHARED (default ../shared); WORK (default a temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-memcheck}
STEPS=${1:-2000}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
model="$WORK/gpt2-mini-random"
if [ ! -f "$model/model.safetensors" ]; then
  echo "writing a random gpt2-mini to $model (once)" >&2
  java -cp "target/softprompt/lib/*" io.softprompt.bench.RandomModel gpt2-mini "$model" \
    "$SHARED/tokenizers/gpt2/tokenizer.json" "$SHARED/data/sst2/train.tsv" >&2
fi
rm -rf "$WORK/run" "$WORK/mem.sp"
target/softprompt/bin/softprompt train --model "$model" --task sst2 \
  --train "$SHARED/data/sst2/train.tsv" --dev "$SHARED/data/sst2/dev.tsv" \
  --tokens 20 --steps "$STEPS" --batch-size 8 --max-length 64 --eval-every 1000 --checkpoint-every 500 \
  --log-every 100 -o "$WORK/mem.sp" --run-dir "$WORK/run" >/dev/null 2>"$WORK/train.log" || {
    tail -5 "$WORK/train.log" >&2; exit 1; }
echo "step  rss_mb  (random-weight gpt2-mini: memory only, the accuracy means nothing)"
sed -E 's/.*"step":([0-9]+).*"rss_mb":([0-9.]+).*/\1 \2/' "$WORK/run/metrics.jsonl" |
  awk '{ printf "%5d  %7.1f\n", $1, $2; rss[$1] = $2; last = $1 }
       END { if (rss[200] > 0) printf "growth from step 200 to step %d: %+.2f%%\n", last, 100 * (rss[last] - rss[200]) / rss[200] }'
