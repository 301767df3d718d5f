#!/usr/bin/env bash
# Learning-rate robustness of residual prompt tuning (Razdaibiedina et al. 2023) against plain prompt tuning
# on the embedded sentiment-lm (a small GPT-2 trained to hold a sentiment skill behind a cue; not a
# pretrained LM), the built-in sst2 task, N 20, batch 16, STEPS steps (1500), dev (872 rows) every 50 steps,
# seeds 1 2 3, at each rate of a 100x range (0.003 to 0.3). Per method and rate it prints:
#   best     best dev accuracy, mean ± std over the seeds;
#   mean     the mean of every evaluation after step 0 (the area under the dev curve over the budget: how
#            fast and how far a run got, less noisy than any one step);
#   to 0.55, to 0.58   mean steps to the first evaluation at or above it, over the seeds that reach it.
# Then, per rate, the two methods paired by seed (same batches, same start): residual − plain in the mean
# of the dev curve and in the mean training loss over the run, mean ± standard error over the seeds, and a
# verdict: slower or faster where a difference passes two standard errors, else level. Reuses runs already
# in WORK. Not a test: about 40 minutes on 2 cores (three seeds).
# Env: SOFTPROMPT (the launcher; default target/softprompt/bin/softprompt), WORK (default a temp folder),
#      SEEDS ("1 2 3"), RATES ("0.003 0.01 0.03 0.1 0.3"), STEPS (1500), FLAGS_residual (extra flags).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-lr-range}
SEEDS=${SEEDS:-"1 2 3"}
RATES=${RATES:-"0.003 0.01 0.03 0.1 0.3"}
STEPS=${STEPS:-1500}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
bin=${SOFTPROMPT:-target/softprompt/bin/softprompt}
mkdir -p "$WORK"
flags_of() { case $1 in residual) echo "--reparam residual ${FLAGS_residual:-}" ;; *) echo "" ;; esac; }

# curve METHOD LR SEED: trains once (or reuses); prints "best mean step_to_0.55 step_to_0.58"
curve() {
  local m=$1 lr=$2 s=$3
  local out="$WORK/$m-lr$lr-s$s"
  if [ ! -s "$out.json" ]; then
    rm -rf "$out.sp" "$out.run"
    # shellcheck disable=SC2046
    $bin train --config configs/train-sentiment-lm.json $(flags_of "$m") --lr "$lr" --seed "$s" --steps "$STEPS" \
      --eval-every 50 --models-dir "$WORK/models" -o "$out.sp" --json > "$out.json.tmp" 2> "$out.log" || {
        tail -3 "$out.log" >&2; rm -f "$out.json.tmp"; exit 1; }
    mv "$out.json.tmp" "$out.json"
  fi
  grep '"dev"' "$out.run/metrics.jsonl" | sed -E 's/.*"step":([0-9]+).*"dev":\{[^}]*"accuracy":([0-9.]+).*/\1 \2/' |
    awk '$1 > 0 { n++; sum += $2; if ($2 > best) best = $2; if (!a && $2 >= 0.55) a = $1; if (!b && $2 >= 0.58) b = $1 }
         END { printf "%.4f %.4f %s %s\n", best, sum / n, (a ? a : "-"), (b ? b : "-") }'
}

# run_means METHOD LR SEED: "dev_curve_mean train_loss_mean" of one finished run (every evaluation after
# step 0; every logged training loss after step 1)
run_means() {
  local f="$WORK/$1-lr$2-s$3.run/metrics.jsonl"
  local c l
  c=$(grep '"dev"' "$f" | sed -E 's/.*"step":([0-9]+).*"dev":\{[^}]*"accuracy":([0-9.]+).*/\1 \2/' |
    awk '$1 > 0 { n++; t += $2 } END { printf "%.5f", t / n }')
  l=$(grep -v '"dev"' "$f" | sed -E 's/.*"step":([0-9]+),"loss":([0-9.eE+-]+).*/\1 \2/' |
    awk '$1 > 1 { n++; t += $2 } END { printf "%.5f", t / n }')
  echo "$c $l"
}

# summary METHOD LR: one table row
summary() {
  local m=$1 lr=$2 rows="" s
  for s in $SEEDS; do rows+="$(curve "$m" "$lr" "$s")"$'\n'; done
  printf "%s" "$rows" | awk -v m="$m" -v lr="$lr" '
    NF == 4 { k++; b[k] = $1; u[k] = $2; sb += $1; su += $2
              if ($3 != "-") { ca++; sa += $3 } if ($4 != "-") { cc++; sc += $4 } }
    END { mb = sb / k; mu = su / k; for (j = 1; j <= k; j++) { vb += (b[j] - mb)^2; vu += (u[j] - mu)^2 }
          d = (k > 1) ? 1 / (k - 1) : 0
          printf "| %s | %s | %.4f ± %.4f | %.4f ± %.4f | %s | %s |\n", lr, m, mb, sqrt(vb * d), mu, sqrt(vu * d),
            (ca ? sprintf("%.0f%s", sa / ca, (ca < k ? sprintf(" (%d of %d)", ca, k) : "")) : "never"),
            (cc ? sprintf("%.0f%s", sc / cc, (cc < k ? sprintf(" (%d of %d)", cc, k) : "")) : "never") }'
}

echo "sentiment-lm, sst2, N 20, $STEPS steps x batch 16, dev every 50 steps, seeds $SEEDS; residual flags: --reparam residual ${FLAGS_residual:-}; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| lr | method | best | mean of the dev curve | steps to 0.55 | steps to 0.58 |"
echo "|---|---|---|---|---|---|"
for lr in $RATES; do
  summary plain "$lr"
  summary residual "$lr"
done
echo
echo "Paired by seed (the same seed gives both methods the same batches and start), residual − plain, mean ± standard error:"
echo
echo "| lr | seeds | mean of the dev curve | train loss, mean over the run | verdict |"
echo "|---|---|---|---|---|"
for lr in $RATES; do
  for s in $SEEDS; do
    echo "$(run_means plain "$lr" "$s") $(run_means residual "$lr" "$s")"
  done | awk -v lr="$lr" '
    { k++; dc[k] = $3 - $1; dl[k] = $4 - $2; sc += dc[k]; sl += dl[k] }
    END { mc = sc / k; ml = sl / k; for (j = 1; j <= k; j++) { vc += (dc[j] - mc)^2; vl += (dl[j] - ml)^2 }
          ec = (k > 1) ? sqrt(vc / (k - 1) / k) : 0; el = (k > 1) ? sqrt(vl / (k - 1) / k) : 0
          slower = (mc < -2 * ec || ml > 2 * el); faster = (mc > 2 * ec || ml < -2 * el)
          v = (k < 2) ? "one seed: no verdict" : slower ? "slower" : faster ? "faster" : "level (within 2 standard errors)"
          printf "| %s | %d | %+.4f ± %.4f | %+.4f ± %.4f | %s |\n", lr, k, mc, ec, ml, el, v }'
done
echo
echo "slower: the dev curve lower, or the training loss higher, by more than two standard errors; faster: the reverse."
