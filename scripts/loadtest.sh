#!/usr/bin/env bash
# Bounded load test of `softprompt serve` on loopback: random GPT-2-small weights, two prompts (sst2,
# N = 20, and a second task on the same sentences, N = 10), REQUESTS requests of 1-4 mixed-task items
# from THREADS client threads. Prints throughput, p50/p99 latency and errors, and checks every answer
# against `softprompt infer --input` on the same rows. Exit code 1 on any error or difference. Samples
# the server's resident memory every second and prints its growth from a quarter of the run to the end.
#   scripts/loadtest.sh [REQUESTS] [THREADS]
# Env: SHARED (default ../shared); WORK (default a temp folder); PORT (default 18080); DEPTH (default
#      input: both prompts input prompts; deep: both deep prompts, 20 and 10 key and value rows in every layer).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
. scripts/lib.sh
need_shared
WORK=${WORK:-${TMPDIR:-/tmp}/softprompt-bench}
PORT=${PORT:-18080}
REQUESTS=${1:-200}
THREADS=${2:-8}
DEPTH=${DEPTH:-input}
case "$DEPTH" in input|deep) ;; *) echo "loadtest: DEPTH is input or deep (got $DEPTH)" >&2; exit 2 ;; esac
sp=target/softprompt/bin/softprompt
CP="target/softprompt/lib/*"
[ -x "$sp" ] || mvn -B -q package -DskipTests
model=$(gpt2_small_model)
lt="$WORK/loadtest"
rm -rf "$lt" && mkdir -p "$lt/prompts"
cat > "$lt/review.json" <<JSON
{"name": "review", "template": "Review: {sentence} Verdict:", "verbalizer": {"0": " bad", "1": " good"},
 "train": "$(cd "$SHARED/data/sst2" && pwd)/dev.tsv"}
JSON
# untrained prompts (--steps 0): the load test measures serving, not accuracy
$sp train --model "$model" --task sst2 --train "$SHARED/data/sst2/dev.tsv" --tokens 20 --depth "$DEPTH" --steps 0 \
  -o "$lt/prompts/sst2.sp" 2>/dev/null
$sp train --model "$model" --task "$lt/review.json" --tokens 10 --depth "$DEPTH" --steps 0 -o "$lt/prompts/review.sp" 2>/dev/null
java -cp "$CP" io.softprompt.bench.LoadTest rows "$SHARED/data/sst2/dev.tsv" 200 sst2,review "$lt/rows.jsonl"
$sp infer --model "$model" --prompt sst2="$lt/prompts/sst2.sp" --prompt review="$lt/prompts/review.sp" \
  --input "$lt/rows.jsonl" > "$lt/expected.jsonl"
$sp serve --model "$model" --prompts "$lt/prompts" --port "$PORT" 2>"$lt/serve.log" &
server=$!
trap 'kill $server $sampler 2>/dev/null || true' EXIT
(while kill -0 "$server" 2>/dev/null; do
   awk '/VmRSS/ { print $2 / 1024 }' "/proc/$server/status" 2>/dev/null; sleep 1
 done) > "$lt/rss.log" &
sampler=$!
echo "model        $model (random weights: speed only), $(nproc) cores, $DEPTH prompts"
status=0
java -cp "$CP" io.softprompt.bench.LoadTest run "http://127.0.0.1:$PORT" "$lt/rows.jsonl" "$lt/expected.jsonl" \
  "$THREADS" "$REQUESTS" 4 || status=$?
awk 'NF { rss[n++] = $1 } END { if (n >= 4) { q = int(n / 4); printf "server RSS   %.0f MB at a quarter of the run (%d s), %.0f MB at the end (%d s): %+.1f%%\n", rss[q], q, rss[n-1], n, 100 * (rss[n-1] - rss[q]) / rss[q] } }' "$lt/rss.log"
exit $status
