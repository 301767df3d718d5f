#!/usr/bin/env bash
# What prompts in the top layers learn, and what they cost, on the embedded sentiment-lm (4 layers; a
# small GPT-2 trained to hold a sentiment skill behind a cue, not a pretrained LM): the deep recipe
# (configs/train-sentiment-lm-deep.json: 1,500 steps x 16, AdamW 0.03) with its prompt in all 4 / the top
# 3 / 2 / 1 layers, late prompts entering layers 1 and 2, and the input recipe
# (configs/train-sentiment-lm.json), over SEEDS; each partial or late recipe once more with the activation
# cache off (--activation-cache-mb 0, the first seed). Prints one line per recipe: best dev accuracy mean
# ± std, the step it was reached at, wall seconds per run and the time to a dev accuracy of TARGET.
# Not a test: run it by hand, on a quiet machine (wall times halve with anything else running).
#   scripts/learn-depth.sh            Env: SEEDS (default "1 2 3"), TARGET (default 0.65), WORK
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-learn-depth}
SEEDS=${SEEDS:-1 2 3}
TARGET=${TARGET:-0.65}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
mkdir -p "$WORK"
deep=configs/train-sentiment-lm-deep.json
echo "== $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg), seeds $SEEDS, target $TARGET"
printf "%-34s %-15s %-22s %-12s %s\n" recipe "best dev" "best step per seed" "wall s/run" "s to $TARGET per seed"
one() { # name config seeds flags...
  local name=$1 config=$2 seeds=$3; shift 3
  local accs=() steps=() walls=() reach=()
  for s in $seeds; do
    local out="$WORK/$name-$s"
    rm -rf "$out.sp" "$out.run"
    target/softprompt/bin/softprompt train --config "$config" --seed "$s" "$@" --models-dir "$WORK/models" \
      -o "$out.sp" --json > "$out.json" 2> "$out.log" || { tail -3 "$out.log" >&2; exit 1; }
    accs+=("$(sed -E 's/.*"best_dev_accuracy":([0-9.]+).*/\1/' "$out.json")")
    steps+=("$(sed -E 's/.*"best_step":([0-9]+).*/\1/' "$out.json")")
    walls+=("$(sed -E 's/.*"wall_seconds":([0-9.]+).*/\1/' "$out.json")")
    # the first evaluation at or above the target, as the run's metrics log timed it
    reach+=("$(awk -v t="$TARGET" '/"dev":\{/ && !done {
        a = $0; sub(/.*"dev":\{[^}]*"accuracy":/, "", a); sub(/[,}].*/, "", a)
        e = $0; sub(/.*"elapsed_sec":/, "", e); sub(/[,}].*/, "", e)
        if (a + 0 >= t + 0) { printf "%.0f", e; done = 1 } } END { if (!done) printf "-" }' "$out.run/metrics.jsonl")")
  done
  printf "%s\n" "${accs[@]}" | awk -v name="$name" -v steps="${steps[*]}" -v walls="${walls[*]}" -v reach="${reach[*]}" '
    { a[NR] = $1; s += $1 } END { m = s / NR; for (k = 1; k <= NR; k++) v += (a[k] - m)^2; sd = NR > 1 ? sqrt(v / (NR - 1)) : 0
      n = split(walls, w, " "); ws = ""; for (k = 1; k <= n; k++) ws = ws (k > 1 ? " " : "") sprintf("%.0f", w[k])
      printf "%-34s %.4f ± %.4f %-22s %-12s %s\n", name, m, sd, steps, ws, reach }'
}
one "deep, all 4 layers" "$deep" "$SEEDS"
one "input" configs/train-sentiment-lm.json "$SEEDS"
for k in 3 2 1; do one "deep, top $k" "$deep" "$SEEDS" --prompt-layers "$k"; done
for l in 1 2; do one "late, entering layer $l" "$deep" "$SEEDS" --depth late --prompt-layers $((4 - l)); done
first=${SEEDS%% *}
for k in 3 2 1; do one "deep, top $k, cache off" "$deep" "$first" --prompt-layers "$k" --activation-cache-mb 0; done
for l in 1 2; do one "late, entering layer $l, cache off" "$deep" "$first" --depth late --prompt-layers $((4 - l)) --activation-cache-mb 0; done
echo "sentiment-lm: a 4-layer GPT-2 trained on SST-2 to hold a sentiment skill behind a cue; dev majority class 50.9%"
