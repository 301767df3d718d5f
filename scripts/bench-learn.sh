#!/usr/bin/env bash
# Time to a good prompt: how long each kind of soft prompt takes to reach a dev accuracy on the embedded
# sentiment-lm (a small GPT-2 trained to hold a sentiment skill behind a cue; not a pretrained LM), the
# built-in sst2 task, 1,500 steps x batch 16 at most, dev (872 rows) evaluated every 50 steps. Each method
# runs its best recipe from scripts/learn-table.sh (docs/learn-table.md) for seeds 1 2 3, one after
# another on this machine; per method and target (0.58, 0.60, 0.62) it prints the mean wall seconds from
# the run's start (the initial evaluation and the evaluations before it included) and the mean steps to
# the first evaluation at or above the target, over the seeds that reach it, then the mean best accuracy.
# Prints the machine's matmul rate first. Not a test: run it on a quiet machine.
#   scripts/bench-learn.sh            (about 20 minutes on 2 cores)
# Env: SOFTPROMPT (the launcher), WORK (default a temp folder), SEEDS ("1 2 3"), METHODS (all five), STEPS (1500).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench-learn}
SEEDS=${SEEDS:-"1 2 3"}
METHODS=${METHODS:-"input input+mlp input+residual deep deep+projection"}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
bin=${SOFTPROMPT:-target/softprompt/bin/softprompt}
lib=$(dirname "$bin")/../lib
mkdir -p "$WORK"
recipe() { # the config and flags of each method's best recipe (docs/learn-table.md)
  case $1 in
    input) echo "configs/train-sentiment-lm.json --lr 0.01" ;;
    input+mlp) echo "configs/train-sentiment-lm.json --reparam mlp --lr 0.001" ;;
    input+residual) echo "configs/train-sentiment-lm.json --reparam residual --lr 0.01" ;;
    deep) echo "configs/train-sentiment-lm-deep.json" ;;
    deep+projection) echo "configs/train-sentiment-lm-deep.json --prefix-projection --lr 0.0003" ;;
    *) echo "bench-learn.sh: unknown method $1" >&2; exit 2 ;;
  esac
}
echo "sentiment-lm, sst2, N 20, batch 16, at most 1500 steps, dev every 50 steps; seeds $SEEDS; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
java -cp "$lib/*" io.softprompt.bench.MatmulRate
echo
echo "| method | to 0.58: s (steps) | to 0.60: s (steps) | to 0.62: s (steps) | best (mean) | run s (mean) |"
echo "|---|---|---|---|---|---|"
for m in $METHODS; do
  : > "$WORK/$m.reach"
  for s in $SEEDS; do
    out="$WORK/${m//+/_}-s$s"
    rm -rf "$out.sp" "$out.run"
    read -r config flags <<< "$(recipe "$m")"
    # shellcheck disable=SC2086
    $bin train --config "$config" $flags --seed "$s" --steps "${STEPS:-1500}" --eval-every 50 --models-dir "$WORK/models" -o "$out.sp" --json \
      > "$out.json" 2> "$out.log" || { tail -3 "$out.log" >&2; exit 1; }
    best=$(sed -E 's/.*"best_dev_accuracy":([0-9.]+).*/\1/' "$out.json")
    wall=$(sed -E 's/.*"wall_seconds":([0-9.]+).*/\1/' "$out.json")
    # each evaluation: step, seconds since the run started, dev accuracy
    grep '"dev"' "$out.run/metrics.jsonl" |
      sed -E 's/.*"step":([0-9]+).*"elapsed_sec":([0-9.]+).*"dev":\{[^}]*"accuracy":([0-9.]+).*/\1 \2 \3/' |
      awk -v best="$best" -v wall="$wall" '
        { for (k = 1; k <= 3; k++) if (!(k in st) && $3 >= 0.56 + 0.02 * k) { st[k] = $1; se[k] = $2 } }
        END { for (k = 1; k <= 3; k++) printf "%s %s ", (k in st ? st[k] : "-"), (k in se ? se[k] : "-"); print best, wall }' \
      >> "$WORK/$m.reach"
  done
  awk -v m="$m" '
    { n++; for (k = 1; k <= 3; k++) if ($(2 * k - 1) != "-") { c[k]++; st[k] += $(2 * k - 1); se[k] += $(2 * k) }
      best += $7; wall += $8 }
    END { printf "| %s |", m
          for (k = 1; k <= 3; k++) {
            if (!c[k]) { printf " never |"; continue }
            printf " %.0f (%.0f)%s |", se[k] / c[k], st[k] / c[k], (c[k] < n ? sprintf(", %d of %d seeds", c[k], n) : "")
          }
          printf " %.4f | %.0f |\n", best / n, wall / n }' "$WORK/$m.reach"
done
