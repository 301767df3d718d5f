#!/usr/bin/env bash
# Where the time of a short command goes: `softprompt --version`, `--help` and a one-sentence `infer` on
# the embedded sentiment-lm (a small GPT-2 trained to hold a sentiment skill behind a cue; not a
# pretrained LM), through bin/softprompt as a user runs them, with the class-data-sharing archive
# (lib/softprompt.jsa, the default) and without it (SOFTPROMPT_CDS=off): the median wall time of RUNS
# runs each, and for infer the median of each phase, from -Dsoftprompt.trace.startup marks:
#   launch   the launcher script and the JVM's own start, to main()
#   commands building the command line's tree (picocli reads the command's annotations)
#   engine   logging set-up, reading the prompt file, locating the model, PyTorch's native library (its
#            loading starts on a background thread at main and overlaps the phases before it)
#   model    config, weights and tokenizer of the model
#   prompt   fitting the prompt to the model and its finiteness check pass
#   score    encoding, scoring and printing the sentence
#   exit     closing the model and the JVM's exit
# Prints `java -version`'s time and the machine's matmul rate first. Not a test: run it on a quiet machine.
#   scripts/bench-start.sh            (about 2 minutes)
# Env: SOFTPROMPT (the launcher; default target/softprompt/bin/softprompt), WORK (default a temp folder), RUNS (7),
#      BEFORE (an older build's launcher: its wall times in a column of their own; it has no phase marks).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench-start}
RUNS=${RUNS:-7}
[ -x target/softprompt/bin/softprompt ] || mvn -B -q package -DskipTests
bin=${SOFTPROMPT:-target/softprompt/bin/softprompt}
lib=$(dirname "$bin")/../lib
mkdir -p "$WORK"
now() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# wall MS of one command
wall() { local t0; t0=$(now); "$@" > /dev/null 2>&1; echo $(( $(now) - t0 )); }

echo "bin/softprompt start-up, median of $RUNS runs; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
java -cp "$lib/*" io.softprompt.bench.MatmulRate
if [ ! -f "$WORK/p.sp" ]; then # a prompt for the embedded model: the README's first command, two steps
  "$bin" train --task sst2 --tokens 20 --steps 2 --eval-every 2 --models-dir "$WORK/models" -o "$WORK/p.sp" \
    > "$WORK/train.log" 2>&1 || { tail -3 "$WORK/train.log" >&2; exit 1; }
fi
infer=("$bin" infer --models-dir "$WORK/models" --prompt "$WORK/p.sp" "a gorgeous, witty film")
"${infer[@]}" > /dev/null 2>&1 # the first run after a build pays for the page cache; not counted
jv=$(for i in $(seq "$RUNS"); do wall java -version; done | median)
echo
echo "java -version: $jv ms"
echo
if [ -n "${BEFORE:-}" ]; then
  echo "| command | before ($BEFORE) | without the archive (SOFTPROMPT_CDS=off) | with it (default) |"
  echo "|---|---|---|---|"
else
  echo "| command | without the archive (SOFTPROMPT_CDS=off) | with it (default) |"
  echo "|---|---|---|"
fi
for what in version help infer; do
  row="| $what |"
  if [ -n "${BEFORE:-}" ]; then
    case $what in
      version) cmd=("$BEFORE" --version) ;;
      help) cmd=("$BEFORE" --help) ;;
      infer) cmd=("$BEFORE" "${infer[@]:1}") ;;
    esac
    "${cmd[@]}" > /dev/null 2>&1 || true
    row+=" $(for i in $(seq "$RUNS"); do wall "${cmd[@]}"; done | median) ms |"
  fi
  for cds in off on; do
    case $what in
      version) cmd=("$bin" --version) ;;
      help) cmd=("$bin" --help) ;;
      infer) cmd=("${infer[@]}") ;;
    esac
    row+=" $(for i in $(seq "$RUNS"); do SOFTPROMPT_CDS=$cds wall "${cmd[@]}"; done | median) ms |"
  done
  echo "$row"
done
echo
echo "infer, one sentence, by phase (ms, median of $RUNS):"
echo
echo "| phase | without the archive | with it |"
echo "|---|---|---|"
for cds in off on; do
  : > "$WORK/phases-$cds"
  for i in $(seq "$RUNS"); do
    t0=$(now)
    SOFTPROMPT_CDS=$cds JAVA_OPTS="-Dsoftprompt.trace.startup=true" "${infer[@]}" 2> "$WORK/trace" > /dev/null
    t1=$(now)
    awk -v t0="$t0" -v t1="$t1" '$1 == "startup" { t[$2] = $3 }
      END { printf "%d %d %d %d %d %d %d %d\n", t["main"] - t0, t["commands"] - t["main"], t["engine"] - t["commands"],
              t["model"] - t["engine"], t["prompt"] - t["model"], t["scored"] - t["prompt"], t1 - t["scored"], t1 - t0 }' \
      "$WORK/trace" >> "$WORK/phases-$cds"
  done
done
k=1
for phase in launch commands engine model prompt score exit total; do
  off=$(cut -d' ' -f$k "$WORK/phases-off" | median)
  on=$(cut -d' ' -f$k "$WORK/phases-on" | median)
  echo "| $phase | $off | $on |"
  k=$((k + 1))
done
