#!/usr/bin/env bash
# Prompt transfer (Vu et al. 2022, SPoT) on the embedded sentiment-lm: does starting from a prompt
# tuned on one half of the training data speed up tuning on the other half? Splits the model's SST-2
# training rows into halves A and B, tunes a source prompt on A, then tunes on B twice: from the
# recipe's initialisation and from the source (--init-from), and prints both dev accuracy curves.
# configs/train-sentiment-lm.json's recipe with SEED; STEPS per run (default: the recipe's 1,500).
#   scripts/transfer.sh [SEED] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-transfer}
SEED=${1:-1}
STEPS=${2:-1500}
sp=target/softprompt/bin/softprompt
[ -x "$sp" ] || mvn -B -q package -DskipTests
rm -rf "$WORK" && mkdir -p "$WORK"
data=sentiment-lm/src/main/resources/models/sentiment-lm/data   # the embedded model's own SST-2 rows
train="$data/train.tsv"
rows=$(( $(wc -l < "$train") - 1 ))
half=$(( rows / 2 ))
# one pass each (a head closing a pipe early would kill the script under pipefail)
awk -v h="$half" 'NR == 1 || NR <= h + 1' "$train" > "$WORK/half-a.tsv"
awk -v h="$half" 'NR == 1 || NR > h + 1' "$train" > "$WORK/half-b.tsv"
run() { # name, extra flags...
  local name=$1; shift
  $sp train --config configs/train-sentiment-lm.json --models-dir "$WORK/models" --seed "$SEED" --steps "$STEPS" \
    --dev "$data/dev.tsv" -o "$WORK/$name.sp" --json "$@" > "$WORK/$name.json" 2> "$WORK/$name.log" || {
      tail -3 "$WORK/$name.log" >&2; exit 1; }
}
t0=$(date +%s)
run source --train "$WORK/half-a.tsv"
run scratch --train "$WORK/half-b.tsv"
run transfer --train "$WORK/half-b.tsv" --init transfer --init-from "$WORK/source.sp"
curve() { grep -o '"step":[0-9]*\|"accuracy":[0-9.]*' "$WORK/$1.run/metrics.jsonl" | awk -F: '
  /step/ { s = $2 } /accuracy/ { printf "%s:%.4f ", s, $2 }'; }
init() { sed -E 's/.*"initial_dev_accuracy":([0-9.]+).*/\1/' "$WORK/$1.json"; }
echo "sentiment-lm, seed $SEED, $STEPS steps a run; halves of $rows training rows: A $half, B $(( rows - half ))"
printf "source    (A, recipe init)   step 0:%.4f %s\n" "$(init source)" "$(curve source)"
printf "scratch   (B, recipe init)   step 0:%.4f %s\n" "$(init scratch)" "$(curve scratch)"
printf "transfer  (B, from source)   step 0:%.4f %s\n" "$(init transfer)" "$(curve transfer)"
echo "$(( $(date +%s) - t0 )) s"
