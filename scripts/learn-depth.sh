#!/usr/bin/env bash
# What prompts in the top layers learn, and what they cost, on the embedded sentiment-lm (4 layers; a
# small GPT-2 trained to hold a sentiment skill behind a cue, not a pretrained LM): the deep recipe
# (configs/train-sentiment-lm-deep.json: 1,500 steps x 16, AdamW 0.03) with its prompt in all 4 / the top
# 3 / 2 / 1 layers, late prompts entering layers 1 and 2, and the input recipe
# (configs/train-sentiment-lm.json), over SEEDS; each partial or late recipe once more with the activation
# cache off (--activation-cache-mb 0, the first seed). Prints one line per recipe: best dev accuracy mean
# ± std, the step it was reached at, wall seconds per run and the time to a dev accuracy of TARGET.
# PART=search instead runs the search for a better top-3 recipe (its learning rate, schedule, optimizer,
# length, initialisation, steps) on SEARCH_SEEDS, then configs/train-sentiment-lm-partial.json (the best
# partial recipe it found) and the deep recipe from the same initialisation over SEEDS; PART=all runs both.
# Not a test: run it by hand, on a quiet machine (wall times halve with anything else running).
#   scripts/learn-depth.sh            Env: SEEDS (default "1 2 3"), TARGET (default 0.65), WORK,
#                                          PART (table | search | all; default table), SEARCH_SEEDS (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-learn-depth}
SEEDS=${SEEDS:-1 2 3}
TARGET=${TARGET:-0.65}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
mkdir -p "$WORK"
deep=configs/train-sentiment-lm-deep.json
rate() { java -cp "target/softprompt/lib/*" io.softprompt.bench.MatmulRate; }
echo "== $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg), seeds $SEEDS, target $TARGET, $(rate)"
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
PART=${PART:-table}
case $PART in table|search|all) ;; *) echo "PART must be table, search or all, not $PART" >&2; exit 2;; esac
if [ "$PART" != search ]; then
one "deep, all 4 layers" "$deep" "$SEEDS"
one "input" configs/train-sentiment-lm.json "$SEEDS"
for k in 3 2 1; do one "deep, top $k" "$deep" "$SEEDS" --prompt-layers "$k"; done
for l in 1 2; do one "late, entering layer $l" "$deep" "$SEEDS" --depth late --prompt-layers $((4 - l)); done
first=${SEEDS%% *}
for k in 3 2 1; do one "deep, top $k, cache off" "$deep" "$first" --prompt-layers "$k" --activation-cache-mb 0; done
for l in 1 2; do one "late, entering layer $l, cache off" "$deep" "$first" --depth late --prompt-layers $((4 - l)) --activation-cache-mb 0; done
fi
if [ "$PART" != table ]; then
  ss=${SEARCH_SEEDS:-1}
  one "search: top 3 (the deep recipe)" "$deep" "$ss" --prompt-layers 3
  one "search: lr 0.02" "$deep" "$ss" --prompt-layers 3 --lr 0.02
  one "search: lr 0.05 cosine" "$deep" "$ss" --prompt-layers 3 --lr 0.05 --schedule cosine
  one "search: lr 0.1" "$deep" "$ss" --prompt-layers 3 --lr 0.1
  one "search: adafactor" "$deep" "$ss" --prompt-layers 3 --optimizer adafactor
  one "search: 10 tokens" "$deep" "$ss" --prompt-layers 3 --tokens 10
  one "search: 40 tokens" "$deep" "$ss" --prompt-layers 3 --tokens 40
  one "search: init text 'review :'" "$deep" "$ss" --prompt-layers 3 --init text --init-text "review :"
  one "search: init text, the whole cue" "$deep" "$ss" --prompt-layers 3 --init text --init-text "review : sentiment :"
  one "search: init random" "$deep" "$ss" --prompt-layers 3 --init random
  one "search: init random, lr 0.05" "$deep" "$ss" --prompt-layers 3 --init random --lr 0.05
  one "search: init random, 40 tokens" "$deep" "$ss" --prompt-layers 3 --init random --tokens 40
  one "search: 3,000 steps (2x budget)" "$deep" "$ss" --prompt-layers 3 --steps 3000
  one "best partial recipe (config)" configs/train-sentiment-lm-partial.json "$SEEDS"
  one "deep, all 4 layers, same init" "$deep" "$SEEDS" --init "$(sed -nE 's/.*"init": "([a-z]+)".*/\1/p' configs/train-sentiment-lm-partial.json)"
fi
echo "== done $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(rate)"
echo "sentiment-lm: a 4-layer GPT-2 trained on SST-2 to hold a sentiment skill behind a cue; dev majority class 50.9%"
