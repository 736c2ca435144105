#!/usr/bin/env bash
# Builds the Python module with `pip install .` (nanobind + scikit-build-core over the C++ library)
# and runs tests/python with pytest. torch is used when it is already installed (installing it
# would cost CI more than the whole suite); the numpy path is tested either way.
#   PYTHON=python3          the interpreter to install into
#   PY_BUILD_DIR=build/python  kept between runs, so a rebuild only compiles what changed
#   JOBS=$(nproc)           parallel compile jobs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
PY_BUILD_DIR=${PY_BUILD_DIR:-build/python}
export CMAKE_BUILD_PARALLEL_LEVEL=${JOBS:-$(nproc)}

# Build and test requirements from PyPI; the build then runs without isolation, reusing them.
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  "scikit-build-core>=0.10" "nanobind>=2.2" pytest numpy safetensors

config=(-Cbuild-dir="$PY_BUILD_DIR")
if command -v ccache >/dev/null; then
  config+=(-Ccmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache
           -Ccmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache)
fi
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-build-isolation --no-deps \
  "${config[@]}" .

"$PYTHON" -m pytest -q tests/python
if "$PYTHON" -c "import torch" 2>/dev/null; then
  # Again as a machine without torch sees it: the numpy fallback of load_file and safe_open.
  STLOAD_TEST_NO_TORCH=1 "$PYTHON" -m pytest -q tests/python
fi
