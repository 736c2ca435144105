#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run) and as the README tells developers to:
#   1. build/ci: the normal build (CUDA engine on when a toolkit is found), every ctest test, then
#      scripts/test-python.sh when it exists;
#   2. build/asan: every test again under AddressSanitizer + UndefinedBehaviorSanitizer (gcc),
#      except the build-wiring tests (labels in $ASAN_EXCLUDE_LABELS);
#   3. build/tsan: the concurrent suites (ctest labels in $TSAN_LABELS) under ThreadSanitizer.
# The cuda-sim suite (the CUDA engine on a simulated runtime, docs/cuda-sim.md) runs in all three:
# it needs only the CUDA headers, so the sanitizer builds (STLOAD_CUDA=OFF) have it too.
# Exits non-zero when anything fails. Sanitized builds use the CMakePresets.json presets.
#
# Environment:
#   STLOAD_SANITIZER_PASSES=0  skip passes 2 and 3 (quick local runs; CI runs them)
#   JOBS                       build and ctest parallelism (default: nproc)
#   BUILD_DIR                  the normal build's directory (default: build/ci)
#   ASAN_EXCLUDE_LABELS        ctest label regex pass 2 leaves out (default: package|headers). Those
#                              tests configure and compile other projects against the library
#                              (install + find_package, add_subdirectory, each header alone): they
#                              check the build's wiring, which pass 1 has checked; the little their
#                              programs load, the sanitized suites load too. They cost about four
#                              minutes in pass 1, mostly compiling.
#   TSAN_LABELS                ctest label regex of pass 3 (default below); suites are labelled
#                              with their directory's name (tests/CMakeLists.txt); label any
#                              other test 'tsan' to add it to pass 3
#   TSAN_TARGETS               executables of pass 3 that are not gtest suites (default below)
#   PYTHON                     the interpreter deps.sh installs for and the cross-check uses
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build/ci}
JOBS=${JOBS:-$(nproc)}
SANITIZER_PASSES=${STLOAD_SANITIZER_PASSES:-1}
ASAN_EXCLUDE_LABELS=${ASAN_EXCLUDE_LABELS:-package|headers}
TSAN_LABELS=${TSAN_LABELS:-conformance|reliability|pipeline|engine|tsan|cuda-sim}
TSAN_TARGETS=${TSAN_TARGETS:-fuzz_load_replay}
export BUILD_DIR

# ccache when installed: the three builds share most preprocessed headers, and CI caches reruns.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
python=(-DPython3_EXECUTABLE="$(command -v "${PYTHON:-python3}")")

started=$SECONDS
step() { printf '\n== %s (%ds so far)\n' "$*" $((SECONDS - started)); }

./scripts/deps.sh

step "normal build: $BUILD_DIR"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTLOAD_WERROR=ON "${python[@]}" "${launcher[@]}"
cmake --build "$BUILD_DIR" -j "$JOBS"
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS")

if [[ -f scripts/test-python.sh ]]; then
  step "Python tests: scripts/test-python.sh"
  bash scripts/test-python.sh
fi

if [[ $SANITIZER_PASSES == 0 ]]; then
  step "done; sanitizer passes skipped (STLOAD_SANITIZER_PASSES=0)"
  exit 0
fi

# Findings must fail the run: UBSan's default is to report and go on, and a TSan report alone
# does not change the exit status.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

step "ASan + UBSan: build/asan, all but labels '$ASAN_EXCLUDE_LABELS'"
cmake --preset asan "${python[@]}" "${launcher[@]}" >/dev/null
cmake --build build/asan -j "$JOBS"
(cd build/asan && ctest --output-on-failure -j "$JOBS" -LE "$ASAN_EXCLUDE_LABELS")

step "TSan: build/tsan, labels '$TSAN_LABELS'"
cmake --preset tsan "${python[@]}" "${launcher[@]}" >/dev/null
# Only what pass 3 runs: gtest suites are executables named after their labels (their tests are
# discovered after the build); other labelled tests' executables are listed in TSAN_TARGETS. A
# label's '-' is '_' in its executable's name (cuda-sim: cuda_sim).
mapfile -t targets < <(
  ninja -C build/tsan -t targets all | sed -n 's/^\([A-Za-z0-9_]*\): phony$/\1/p' |
    grep -E "^(${TSAN_LABELS//-/_})" || true
)
targets+=($TSAN_TARGETS)
if ((${#targets[@]} == 0)); then
  echo "no test is labelled '$TSAN_LABELS': nothing to run under TSan"
else
  cmake --build build/tsan -j "$JOBS" --target "${targets[@]}"
  (cd build/tsan && ctest --output-on-failure -j "$JOBS" -L "$TSAN_LABELS")
fi

step "done"
