# Shared by the benchmark scripts (sourced, not run).
# need_shared: stop with a clear message when the reference data these benchmarks use is absent
# (SST-2 and the real GPT-2 tokenizer live in ../shared, beside the clone; the tests never need them).
need_shared() {
  if [ ! -f "$SHARED/data/sst2/train.tsv" ] || [ ! -f "$SHARED/tokenizers/gpt2/tokenizer.json" ]; then
    echo "$(basename "$0"): needs SST-2 ($SHARED/data/sst2) and the GPT-2 tokenizer ($SHARED/tokenizers/gpt2)," \
      "the shared reference data beside the clone; set SHARED=DIR to point elsewhere" >&2
    exit 2
  fi
}

# gpt2_small_model: prints the folder of the random GPT-2-small checkpoint (real GPT-2 tokenizer) the
# benchmarks share, writing it once to $WORK/gpt2-small-random.
gpt2_small_model() {
  local model="$WORK/gpt2-small-random"
  if [ ! -f "$model/model.safetensors" ]; then
    echo "writing random gpt2-small weights to $model (once)" >&2
    java -Xmx6g -cp "target/softprompt/lib/*" io.softprompt.bench.RandomModel gpt2-small "$model" \
      "$SHARED/tokenizers/gpt2/tokenizer.json" "$SHARED/data/sst2/train.tsv" >&2
  fi
  echo "$model"
}
