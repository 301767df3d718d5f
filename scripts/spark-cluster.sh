#!/usr/bin/env bash
# softprompt-spark on a real Spark standalone cluster, on loopback: a master and two workers (one core
# each) started from the Spark jars Maven resolved (no download), both jobs submitted with
# SparkSubmit, everything stopped at the end (also on failure or Ctrl-C). Not a test: run it by hand,
# on a quiet machine for the figures.
#   1. scoring: a table of ROWS rows of three tasks (prompts of 5, 10 and 20 tokens trained briefly on
#      the embedded sentiment-lm, SST-2 sentences) scored with 1 and 2 executors; labels and
#      probabilities compared with `softprompt infer --input` on the same rows; rows/s of each;
#   2. training: STEPS data-parallel steps (2 executors, 2 shards a step) against the same run in one
#      process, prompts compared; per-step time of each, on sentiment-lm and on GPT-2-small shapes
#      (random weights; needs ../shared for the GPT-2 tokenizer and SST-2, skipped without it).
#   scripts/spark-cluster.sh [ROWS] [STEPS]
# Env: WORK (default a temp folder), SHARED (default ../shared), SPARK_PORT (default 7077).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROWS=${1:-4000}
STEPS=${2:-20}
SHARED=${SHARED:-../shared}
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-spark-cluster}
PORT=${SPARK_PORT:-7077}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
export MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
export SPARK_LOCAL_IP=127.0.0.1

[ -f target/softprompt-spark/softprompt-spark.jar ] && [ -x target/softprompt/bin/softprompt ] \
  || mvn -B -q package -DskipTests
SP=target/softprompt/bin/softprompt
JOB_JAR=$ROOT/target/softprompt-spark/softprompt-spark.jar
JARS=$(ls "$ROOT"/target/softprompt-spark/lib/*.jar | paste -sd, -)

# ---- a SPARK_HOME made of the Maven-resolved Spark jars (the Worker builds executor class paths from it) ----
export SPARK_HOME=$WORK/spark-home
export SPARK_SCALA_VERSION=2.13   # the launcher asks; a binary distribution says so in its scripts
if [ ! -d "$SPARK_HOME/jars" ]; then
  mkdir -p "$SPARK_HOME/jars"
  # Spark and what it needs; the job's own stack (softprompt, DJL, picocli, ...) travels with --jars
  mvn -B -q -pl spark dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$WORK/classpath.txt" \
    -DexcludeGroupIds=io.softprompt,ai.djl,ai.djl.pytorch,ai.djl.huggingface,info.picocli,org.jline,org.jfree,org.apache.xmlgraphics \
    >/dev/null
  tr ':' '\n' < "$WORK/classpath.txt" | while read -r jar; do ln -sf "$jar" "$SPARK_HOME/jars/$(basename "$jar")"; done
  # a RELEASE file tells Spark's launcher that the jars live in SPARK_HOME/jars (as in a binary distribution)
  echo "Spark (Maven-resolved jars for softprompt-spark)" >"$SPARK_HOME/RELEASE"
fi
OPENS="-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector --add-opens=java.base/java.lang=ALL-UNNAMED
 --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
 --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
 --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
 --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
 --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
 --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
 -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true"
spark_java() { java -cp "$SPARK_HOME/jars/*" $OPENS "$@"; }
# a daemon in the background as java itself (so $! is the JVM's PID and stopping it stops the JVM)
spark_daemon() { local log=$1; shift; ( exec java -cp "$SPARK_HOME/jars/*" $OPENS "$@" >"$log" 2>&1 ) & PIDS+=($!); }

# ---- the cluster: started in the background, always stopped ----
PIDS=()
stop_all() {
  # workers first (they stop their executors), then the master
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM
MASTER=spark://127.0.0.1:$PORT
if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
  echo "port $PORT is taken (another Spark master?): set SPARK_PORT" >&2
  exit 2
fi
spark_daemon "$WORK/master.log" -Xmx512m org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$PORT" --webui-port 0
for w in 1 2; do
  rm -rf "$WORK/worker-$w"
  mkdir -p "$WORK/worker-$w"
  spark_daemon "$WORK/worker-$w.log" -Xmx512m org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 \
    --memory 3g --work-dir "$WORK/worker-$w" --webui-port 0 "$MASTER"
done
for i in $(seq 1 60); do
  [ "$(grep -l "Successfully registered with master" "$WORK"/worker-*.log 2>/dev/null | wc -l)" = 2 ] && break
  sleep 1
done
[ "$(grep -l "Successfully registered with master" "$WORK"/worker-*.log | wc -l)" = 2 ] \
  || { echo "the workers did not register: see $WORK/*.log" >&2; exit 1; }
echo "cluster up: master $MASTER, 2 workers of 1 core (logs in $WORK)"

# one core per executor, one PyTorch thread per executor
submit() {
  local cores=$1; shift
  spark_java -Xmx1g org.apache.spark.deploy.SparkSubmit --master "$MASTER" --deploy-mode client \
    --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 \
    --conf spark.executor.cores=1 --conf spark.cores.max="$cores" --conf spark.executor.memory=2g \
    --conf spark.executorEnv.OMP_NUM_THREADS=1 --conf spark.executorEnv.MALLOC_ARENA_MAX=2 \
    --conf "spark.executor.extraJavaOptions=-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1" \
    --conf spark.softprompt.train.partitions=2 \
    --class io.softprompt.spark.SparkMain --jars "$JARS" "$JOB_JAR" "$@"
}

# ---- 1. scoring ----
MODEL=$WORK/models/sentiment-lm
if [ ! -f "$MODEL/model.safetensors" ]; then
  $SP train --model sentiment-lm --models-dir "$WORK/models" --task sst2 --tokens 2 --depth input --steps 1 --output "$WORK/warm.sp" \
    --force >/dev/null 2>&1
fi
[ -f "$MODEL/model.safetensors" ] || { echo "the embedded model was not unpacked to $MODEL" >&2; exit 1; }
PROMPTS=$WORK/prompts
mkdir -p "$PROMPTS"
for spec in a:5 b:10 c:20; do
  name=${spec%%:*} n=${spec##*:}
  [ -f "$PROMPTS/$name.sp" ] || $SP train --model "$MODEL" --task sst2 --tokens "$n" --depth input --steps 40 --lr 0.1 --seed "$n" \
    --output "$PROMPTS/$name.sp" --run-dir "$WORK/train-$name.run" --force >"$WORK/train-$name.log" 2>&1
done
python3 - "$MODEL/data/dev.tsv" "$ROWS" "$WORK/rows.jsonl" <<'PY'
import csv, json, sys
src, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(src) as f:
    texts = [r[0] for r in csv.reader(f, delimiter='\t')][1:]
with open(out, 'w') as f:
    for i in range(rows):
        f.write(json.dumps({"id": i + 1, "task": "abc"[i % 3], "text": texts[i % len(texts)]}) + "\n")
PY
t0=$(date +%s.%N)
$SP infer --model "$MODEL" --prompt a="$PROMPTS/a.sp" --prompt b="$PROMPTS/b.sp" --prompt c="$PROMPTS/c.sp" \
  --input "$WORK/rows.jsonl" >"$WORK/infer.jsonl"
t1=$(date +%s.%N)
printf "%-44s %8.1f rows/s\n" "infer --input (one process, 2 threads)" "$(echo "$ROWS / ($t1 - $t0)" | bc -l)"
for cores in 1 2; do
  rm -rf "$WORK/scored-$cores"
  t0=$(date +%s.%N)
  submit "$cores" score --model "$MODEL" --prompts "$PROMPTS" --input "$WORK/rows.jsonl" \
    --output "$WORK/scored-$cores" --output-format json --partitions 2 --verbose >"$WORK/score-$cores.log" 2>&1 \
    || { echo "score with $cores executor(s) failed: see $WORK/score-$cores.log" >&2; tail -5 "$WORK/score-$cores.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  printf "%-44s %8.1f rows/s  (job %s; submit to exit %.1f s)\n" "spark score, $cores executor(s) of 1 core" \
    "$(grep -o '([0-9.]* rows/s)' "$WORK/score-$cores.log" | tr -d '()' | cut -d' ' -f1)" \
    "$(grep -o 'in [0-9.]* s' "$WORK/score-$cores.log")" "$(echo "$t1 - $t0" | bc)"
  python3 - "$WORK/infer.jsonl" "$WORK/scored-$cores" <<'PY'
import glob, json, sys
want = {}
for l in open(sys.argv[1]):
    j = json.loads(l); want[j["id"]] = j
got = [json.loads(l) for f in sorted(glob.glob(sys.argv[2] + "/part-*")) for l in open(f)]
assert [g["id"] for g in got] == sorted(want), "row order or row count differs"
worst, labels = 0.0, 0
for g in got:
    w = want[g["id"]]
    labels += g["label"] == w["label"]
    worst = max(worst, max(abs(g["probabilities"][k] - v) for k, v in w["probabilities"].items()))
print(f"   vs infer --input: {labels} of {len(got)} labels equal, largest probability difference {worst:.3g}")
assert labels == len(got) and worst <= 1e-6
PY
done

# ---- 2. training: data-parallel against one process ----
sp_values() { python3 - "$1" <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); t = h["prompt_embeddings"]; s, e = t["data_offsets"]
print(json.dumps(list(struct.unpack('<%df' % ((e - s) // 4), b[8 + n + s:8 + n + e]))))
PY
}
# ||a - b|| / ||a|| (asserted within 1e-5), and the largest element's difference against the largest value
compare() { python3 -c "
import json, math
a, b = json.load(open('$1')), json.load(open('$2'))
d = [x - y for x, y in zip(a, b)]
rel = math.sqrt(sum(x * x for x in d)) / math.sqrt(sum(x * x for x in a))
el = max(map(abs, d)) / max(map(abs, a))
print(f'   prompts after $STEPS steps: relative difference {rel:.3g} (largest element {max(map(abs, d)):.3g}, {el:.3g} of the largest value)')
assert rel <= 1e-5
"; }
train_both() {
  local label=$1 model=$2; shift 2
  local flags=(--model "$model" --task sst2 --tokens 20 --steps "$STEPS" --batch-size 8 --lr 0.03 --seed 1
    --checkpoint-every 0 --log-every 1 "$@")
  rm -rf "$WORK/one-$label".* "$WORK/dp-$label".*
  $SP train "${flags[@]}" --output "$WORK/one-$label.sp" >"$WORK/one-$label.log" 2>&1
  submit 2 train "${flags[@]}" --output "$WORK/dp-$label.sp" --verbose >"$WORK/dp-$label.log" 2>&1 \
    || { echo "spark train failed: see $WORK/dp-$label.log" >&2; tail -5 "$WORK/dp-$label.log" >&2; exit 1; }
  sp_values "$WORK/one-$label.sp" >"$WORK/one-$label.json"
  sp_values "$WORK/dp-$label.sp" >"$WORK/dp-$label.json"
  # per-step time: the elapsed seconds of the metrics log between step 3 and the last step
  python3 - "$label" "$WORK/one-$label.run/metrics.jsonl" "$WORK/dp-$label.run/metrics.jsonl" <<'PY'
import json, sys
def per_step(f):
    rows = [json.loads(l) for l in open(f) if '"step"' in l]
    rows = [r for r in rows if "elapsed_sec" in r and "dev" not in r]
    a, b = rows[2], rows[-1]
    return (b["elapsed_sec"] - a["elapsed_sec"]) / (b["step"] - a["step"])
one, dp = per_step(sys.argv[2]), per_step(sys.argv[3])
print(f"train {sys.argv[1]:<28} one process {one * 1000:8.0f} ms/step   spark, 2 executors {dp * 1000:8.0f} ms/step"
      f"   ({dp / one:.2f}x; overhead {1000 * (dp - one):+.0f} ms/step)")
PY
  compare "$WORK/one-$label.json" "$WORK/dp-$label.json"
}
train_both sentiment-lm "$MODEL" --train "$MODEL/data/train.tsv" --max-length 64
if [ -f "$SHARED/tokenizers/gpt2/tokenizer.json" ] && [ -f "$SHARED/data/sst2/train.tsv" ]; then
  G=$WORK/gpt2-small-random
  [ -f "$G/model.safetensors" ] || java -Xmx6g -cp "target/softprompt/lib/*" io.softprompt.bench.RandomModel gpt2-small "$G" \
    "$SHARED/tokenizers/gpt2/tokenizer.json" "$SHARED/data/sst2/train.tsv" >/dev/null
  train_both gpt2-small-shapes "$G" --train "$(realpath "$SHARED/data/sst2/train.tsv")" --max-length 64
else
  echo "GPT-2-small shapes skipped: needs $SHARED/tokenizers/gpt2 and $SHARED/data/sst2 (set SHARED=DIR)"
fi
echo "done; stopping the cluster"
