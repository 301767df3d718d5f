#!/bin/sh
# Proves that every native-library profile resolves its artifacts from Maven Central, and that the code
# builds against each profile's DJL: for each profile, `mvn dependency:list` names the engine, JNI and
# native jars it must (the expected triple below), and `mvn -DskipTests package` builds core and cli
# with them. Not part of the default build: the cuda profile downloads a 2.4 GB jar once (into ~/.m2).
# Nothing here runs the natives of another platform, or a GPU: only that they resolve and the code builds.
#
#   scripts/check-profiles.sh                 all profiles
#   scripts/check-profiles.sh osx-aarch64     one
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
profiles=${*:-linux-x86_64 linux-aarch64 osx-aarch64 cuda}
failed=0
for p in $profiles; do
    case $p in
        linux-x86_64)  want="api:jar:0.36.0 pytorch-engine:jar:0.36.0 pytorch-jni:jar:2.7.1-0.36.0 pytorch-native-cpu:jar:linux-x86_64:2.7.1" ;;
        linux-aarch64) want="api:jar:0.36.0 pytorch-engine:jar:0.36.0 pytorch-jni:jar:2.7.1-0.36.0 pytorch-native-cpu:jar:linux-aarch64:2.7.1" ;;
        osx-aarch64)   want="api:jar:0.36.0 pytorch-engine:jar:0.36.0 pytorch-jni:jar:2.7.1-0.36.0 pytorch-native-cpu:jar:osx-aarch64:2.7.1" ;;
        cuda)          want="api:jar:0.33.0 pytorch-engine:jar:0.33.0 pytorch-jni:jar:2.5.1-0.33.0 pytorch-native-cu124:jar:linux-x86_64:2.5.1" ;;
        *) echo "unknown profile $p (known: linux-x86_64 linux-aarch64 osx-aarch64 cuda)" >&2; exit 2 ;;
    esac
    start=$(date +%s)
    if ! mvn -B -q -P"$p" -pl core dependency:list -DoutputFile="$out/$p.txt" -DexcludeTransitive=false >"$out/$p.log" 2>&1; then
        echo "PROFILE $p: dependency resolution FAILED"; tail -20 "$out/$p.log"; failed=1; continue
    fi
    natives=$(grep -c "pytorch-native" "$out/$p.txt" || true)
    missing=""
    for w in $want; do
        grep -q "$w" "$out/$p.txt" || missing="$missing $w"
    done
    if [ -n "$missing" ] || [ "$natives" -ne 1 ]; then
        echo "PROFILE $p: resolved, but expected$missing and exactly one native jar (found $natives):"
        grep -E "djl" "$out/$p.txt"; failed=1; continue
    fi
    if ! mvn -B -q -P"$p" -DskipTests -Ddist.dir="$out/dist-$p" package >"$out/$p-build.log" 2>&1; then
        echo "PROFILE $p: resolved, but the build FAILED"; tail -20 "$out/$p-build.log"; failed=1; continue
    fi
    jar=$(ls "$out/dist-$p/lib" | grep pytorch-native)
    echo "PROFILE $p: resolves $(echo $want | tr ' ' ',') and builds; lib/ holds $jar ($(($(date +%s) - start)) s)"
done
# the build above left target/ built for the last profile: rebuild for this machine
mvn -B -q -DskipTests install >/dev/null 2>&1 || true
exit $failed
