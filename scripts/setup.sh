#!/usr/bin/env bash
# Installs what a bare Debian/Ubuntu machine lacks to build softprompt: a JDK >= 17, Maven,
# fontconfig with one font family (the sweep report draws its PNG plots with Java2D, which needs a
# font even headless) and jemalloc (bin/softprompt preloads it when present: flat memory over long
# runs). Everything else (DJL, the PyTorch CPU natives, tokenizers, XChart) comes from
# Maven Central during the build.
set -euo pipefail
need=()
if ! command -v javac >/dev/null 2>&1 || ! javac -version 2>&1 | grep -qE 'javac (1[7-9]|[2-9][0-9])'; then
  need+=(openjdk-17-jdk-headless)
fi
command -v mvn >/dev/null 2>&1 || need+=(maven)
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in fontconfig fonts-dejavu-core libjemalloc2; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
  done
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
