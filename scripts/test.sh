#!/usr/bin/env bash
# The whole test suite: dependencies, configure build/ci (CUDA engine on when a toolkit is found),
# build everything, run every ctest test. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build/ci}
JOBS=${JOBS:-$(nproc)}

./scripts/deps.sh
# The interpreter deps.sh installed the Python packages for is the one the cross-check must use.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython3_EXECUTABLE="$(command -v "${PYTHON:-python3}")"
cmake --build "$BUILD_DIR" -j "$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS"
