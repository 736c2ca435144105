#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and fuzzes each one.
#
# Usage: tests/fuzz/run.sh SECONDS [extra libFuzzer flags...]
#   e.g. tests/fuzz/run.sh 600            # ten minutes per target
#        FUZZ_TARGETS=parse_header tests/fuzz/run.sh 60 -max_len=8192
#   FUZZ_CMAKE_ARGS adds configure arguments (word-split), FUZZ_BUILD_DIR moves build-fuzz/,
#   FUZZ_NICE sets the fuzzers' niceness (default 10: the machines are shared).
#
# Targets (every directory under tests/fuzz/corpus, one after another): parse_header (one header),
# checkpoint_index (an index.json and two shards), load (validate-and-load through the CPU engine).
#
# The committed corpus (tests/fuzz/corpus/NAME) is read, never written: new inputs go to
# build-fuzz/fuzz-work/NAME/corpus, crashes to build-fuzz/fuzz-work/NAME/artifacts. A finding is
# minimized with `-minimize_crash=1` and committed under corpus/NAME as regress-<what> so that
# ctest replays it forever.
set -euo pipefail

seconds=${1:?usage: $0 SECONDS [libFuzzer flags...]}
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_BUILD_JOBS:-2}
targets=${FUZZ_TARGETS:-$(cd "$root/tests/fuzz/corpus" && ls)}

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTLOAD_CUDA=OFF -DSTLOAD_BUILD_BENCH=OFF \
  -DSTLOAD_BUILD_FUZZ=ON -DSTLOAD_SANITIZE="address;undefined" ${FUZZ_CMAKE_ARGS:-} >/dev/null
ninja -C "$build" -j"$jobs" $(for t in $targets; do printf 'fuzz_%s ' "$t"; done)

status=0
for target in $targets; do
  work=$build/fuzz-work/$target
  mkdir -p "$work/corpus" "$work/artifacts"
  # -jobs=1 -workers=1: one fuzzing process (the machines are shared); libFuzzer then runs it as a
  # child that logs to fuzz-0.log in the working directory.
  log=$work/fuzz-0.log
  rm -f "$log"
  echo "== fuzz_$target for ${seconds}s (log: $log)"
  # The first corpus directory receives new inputs; the committed one is only read.
  # -timeout: a load that hangs (a pipeline deadlock) is a finding too.
  if ! (cd "$work" && nice -n "${FUZZ_NICE:-10}" "$build/tests/fuzz/fuzz_$target" \
      -max_total_time="$seconds" -jobs=1 -workers=1 -print_final_stats=1 -timeout=30 \
      -dict="$root/tests/fuzz/safetensors.dict" -artifact_prefix="$work/artifacts/" \
      "$@" "$work/corpus" "$root/tests/fuzz/corpus/$target" >"$work/driver.log" 2>&1); then
    echo "!! fuzz_$target FAILED; artifacts in $work/artifacts:"
    ls -l "$work/artifacts"
    grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -20 || true
    status=1
  fi
  # Summary: the seed load, the last progress line, and the final statistics.
  grep -E '^#[0-9]+\s+INITED' "$log" || true
  grep -E '^#[0-9]+' "$log" | tail -1 || true
  grep -E '^stat::' "$log" || true
done
exit $status
