#!/usr/bin/env bash
# Training at scale, measured on workload W1: a GPT-2-small-shaped checkpoint (random weights, written
# once), the real GPT-2 tokenizer, real SST-2 at its own lengths, batch 8. Not a test: run it by hand on
# a quiet machine (any other process on 2 cores halves a figure).
#   1. io.softprompt.bench.ScaleBenchmark, in one process (each comparison a ratio within the run):
#      decision rows, length-grouped sampling, gradient accumulation, packs of K = 1, 4, 8 against the
#      same K runs one after another;
#   2. an 8-point sweep (init random/vocab x tokens 10/20 x seeds 1/2, STEPS steps each) three ways:
#      packed (--pack 8), packed under a token budget (--pack 8 --token-budget 1024), and one run per
#      process (--workers 2): wall time, peak resident memory of all the sweep's processes together
#      (sampled every 0.5 s), examples/s, rows per forward pass.
#   scripts/bench-scale.sh [STEPS]
# Env: SHARED (default ../shared); WORK (default a temp folder); ONLY=packs (the packs of part 1 only) or
#      ONLY=sweep (part 2 only).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
. scripts/lib.sh
need_shared
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
STEPS=${1:-20}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
CP="target/softprompt/lib/*"
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
model=$(gpt2_small_model)

echo "$(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
java -cp "$CP" io.softprompt.bench.MatmulRate
if [ "${ONLY:-}" != sweep ]; then
echo "== in one process (ScaleBenchmark, $STEPS steps)"
java -Xmx1g -XX:MaxDirectMemorySize=64g -Dai.djl.offline=true -cp "$CP" io.softprompt.bench.ScaleBenchmark "$model" \
  "$SHARED/data/sst2" "$STEPS" ${ONLY:+"$ONLY"} 2> >(grep -v DEBUG >&2)
[ "${ONLY:-}" = packs ] && exit 0
fi

echo "== an 8-point sweep, three ways ($STEPS steps per run)"
cfg="$WORK/sweep-scale.json"
cat > "$cfg" <<JSON
{"name": "scale", "base": {"task": "sst2", "model": "$model", "train": "$(realpath "$SHARED/data/sst2/train.tsv")",
  "steps": $STEPS, "batch_size": 8, "max_length": 64, "lr": 0.03, "schedule": "constant", "warmup": 0,
  "checkpoint_every": 10, "log_every": 5},
 "grid": {"init": ["random", "vocab"], "tokens": [10, 20], "seed": [1, 2]}}
JSON
# peak of the summed resident memory of a process tree, sampled every 0.5 s while it runs
peak_rss() {
  local root=$1 peak=0
  while kill -0 "$root" 2>/dev/null; do
    local sum=0 p
    for p in $root $(pgrep -P "$root" || true); do
      # a process that just ended may have no status file, or no VmRSS line (a zombie): 0
      sum=$((sum + $(awk '/VmRSS/ { v = $2 } END { print v + 0 }' /proc/$p/status 2>/dev/null || echo 0)))
    done
    [ "$sum" -gt "$peak" ] && peak=$sum
    sleep 0.5
  done
  echo $((peak / 1024))
}
sweep_way() {
  local id=$1 name=$2; shift 2
  local out="$WORK/scale-$id"
  rm -rf "$out"
  local t0; t0=$(date +%s.%N)
  target/softprompt/bin/softprompt sweep --config "$cfg" --out "$out" "$@" >"$WORK/scale-$id.log" 2>&1 &
  local pid=$!
  local peak; peak=$(peak_rss $pid)
  wait $pid || { echo "sweep $name failed: see $WORK/scale-$id.log" >&2; tail -5 "$WORK/scale-$id.log" >&2; return 1; }
  local t1; t1=$(date +%s.%N)
  local wall; wall=$(echo "$t1 - $t0" | bc)
  local examples=$((8 * STEPS * 8))
  printf "%-34s wall %6.1f s   peak RSS (all processes) %6d MB   %5.2f examples/s   %s\n" "$name" "$wall" "$peak" \
    "$(echo "$examples / $wall" | bc -l)" "$(grep -c '"finish"' "$out/sweep.jsonl") of 8 finished"
}
sweep_way packed "packed (--pack 8)" --pack 8
sweep_way budget "packed, --token-budget 1024" --pack 8 --token-budget 1024
sweep_way workers "one run per process (--workers 2)" --workers 2
echo "rows per forward pass: packed, the 64 rows of a step (8 runs x batch 8) sorted by length in passes of 8; under the budget as many as fit in 1,024 positions; 8 per process"
