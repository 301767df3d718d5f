#!/usr/bin/env bash
# The public API's javadoc with every doclint check (missing @param/@return included): the facade
# io.softprompt.api and the types its methods take and return. Prints the warnings; exits 1 on any.
# (mvn install checks the facade itself; javadoc aborts when the plugin hands it part of a package.)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -o compile -pl core >/dev/null
cp=$(mktemp)
trap 'rm -f "$cp"' EXIT
mvn -B -q -o dependency:build-classpath -pl core -Dmdep.outputFile="$cp" >/dev/null
src=core/src/main/java/io/softprompt
files=("$src"/api/SoftPrompt.java "$src"/loader/LoadedModel.java "$src"/train/TrainConfig.java "$src"/train/TrainJob.java
  "$src"/train/Trainer.java "$src"/prompt/Prompt.java "$src"/infer/Member.java "$src"/infer/MultiTask.java
  "$src"/eval/Evaluator.java "$src"/eval/Metrics.java "$src"/data/Example.java)
out=$(javadoc -quiet -Xdoclint:all -Xmaxwarns 1000 -d "$(mktemp -d)" -cp "$(cat "$cp"):core/target/classes" "${files[@]}" 2>&1 || true)
n=$(grep -c "warning\|error" <<<"$out" || true)
grep "warning\|error" <<<"$out" || true
echo "javadoc: $n warnings or errors on the public API (${#files[@]} files)"
[ "$n" -eq 0 ]
