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
