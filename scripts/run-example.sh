#!/usr/bin/env bash
# The main job, end to end: install dependencies, build stload, write an example checkpoint (a
# Llama-shaped bf16 model of about 1 GiB in two shards, deterministic), load it onto the GPU -- or
# with the CPU engine where there is none -- and print what landed where and how fast.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build/ci}  # shared with scripts/test.sh, so one build serves both
EXAMPLE_DIR=${EXAMPLE_DIR:-examples-data/llama-1gib}
EXAMPLE_GIB=${EXAMPLE_GIB:-1}
STLOAD=$BUILD_DIR/apps/stload

# The two steps of the example.
GENERATE=("$STLOAD" generate --preset llama --size-gib "$EXAMPLE_GIB" --shards 2 --out "$EXAMPLE_DIR")
RUN=("$STLOAD" load "$EXAMPLE_DIR/model.safetensors.index.json")

now() { date +%s.%N; }
step() {  # step TITLE COMMAND...: runs the command, then says how long it took
  local title=$1 start
  shift
  echo "==> $title: $*"
  start=$(now)
  "$@"
  echo "==> $title took $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }')"
  echo
}

step "dependencies" ./scripts/deps.sh
step "configure" cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython3_EXECUTABLE="$(command -v python3)"
step "build" cmake --build "$BUILD_DIR" -j "$(nproc)" --target stload_cli
rm -rf "$EXAMPLE_DIR"
step "write example checkpoint" "${GENERATE[@]}"
step "run" "${RUN[@]}"
