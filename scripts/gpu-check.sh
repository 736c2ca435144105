#!/usr/bin/env bash
# The one-shot GPU check (bench/README.md, "One-shot GPU check"): the first minutes on a GPU are
# spent measuring, not building.
#
#   scripts/gpu-check.sh bundle   here (toolkit, compilers): build gpu-bundle/, at most 64 MiB
#   scripts/gpu-check.sh run      on the bare GPU machine, from the repository root, gpu-bundle/
#                                 present: every raw result under $OUT, in at most 8 minutes
#   STLOAD_GPU_CHECK_REHEARSAL=1 scripts/gpu-check.sh run
#                                 here, without a GPU: the CPU engine, 0.25 and 0.5 GiB checkpoints,
#                                 every step that can run; the rest reported as skipped and why
#
# Environment: OUT (run: where results go; default build/gpu-check-out, or
# build/gpu-check-rehearsal), STLOAD_GPU_CHECK_BUDGET_S (run: hard budget, default 470 s),
# STLOAD_GPU_CHECK_SIZES (run: GiB, default 8,16; rehearsal 0.25,0.5, since the llama preset's
# smallest model, one layer, is 336 MiB), STLOAD_GPU_CHECK_PYTHON (run: default python3), JOBS
# (bundle: build jobs, default 2), STLOAD_GPU_BUNDLE_BUILD (bundle: build folder).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=$REPO/gpu-bundle
# The device tool sends at most 64 MiB (working tree and carried folders together).
BUNDLE_LIMIT_BYTES=$((64 << 20))
# Targets the run needs; the gpu test binary is the `gpu` ctest suite.
TARGETS=(stload_cli gpu stload_ceiling stload_ceiling_gpu stload_h2d_probe)

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

log() { printf '%s gpu-check: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  log "error: $*" >&2
  exit 1
}

# ----------------------------------------------------------------------------------------------
# bundle: a Release build with the CUDA runtime linked statically, so that the GPU machine needs
# only its driver; libcrypto is static too. libstdc++ and libgcc_s stay shared on purpose: linked
# statically, GCC 12's libstdc++ and unwinder pull in arc4random and _dl_find_object and so need
# glibc 2.36, while shared they need GLIBCXX_3.4.30 (GCC 12) and glibc 2.34, which Debian 12,
# Ubuntu 22.04 and newer have (and any machine with PyTorch has a libstdc++ that new). The
# assumption: the GPU machine's libstdc++ is of Debian 12's age or newer. MANIFEST.json records
# the newest GLIBC_ and GLIBCXX_ symbol versions the binaries ask for.

bundle() {
  local build=${STLOAD_GPU_BUNDLE_BUILD:-$REPO/build/gpu-bundle-build}
  local jobs=${JOBS:-2}
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  log "configuring $build (Release, CUDA runtime static)"
  # -O2, as the tested dev build: GCC 12 at -O3 raises a false -Wrestrict inside std::string's
  # operator+ (GCC bug 105329), and warnings are errors.
  cmake -S "$REPO" -B "$build" -G Ninja "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DSTLOAD_CUDA=ON \
    -DCMAKE_CUDA_RUNTIME_LIBRARY=Static \
    -DSTLOAD_BUILD_TESTS=ON \
    -DSTLOAD_BUILD_BENCH=ON \
    -DSTLOAD_BUILD_PYTHON=OFF \
    -DSTLOAD_INSTALL=OFF \
    -DOPENSSL_USE_STATIC_LIBS=TRUE \
    -DCMAKE_EXE_LINKER_FLAGS= >/dev/null
  # Without a toolkit CMake configures the CPU-only tree, which has no GPU ceiling target.
  grep -q 'stload_ceiling_gpu' "$build/build.ninja" ||
    die "no CUDA compiler found: the bundle needs the CUDA toolkit (/usr/local/cuda)"
  log "building ${TARGETS[*]} with $jobs jobs"
  cmake --build "$build" -j "$jobs" --target "${TARGETS[@]}"

  rm -rf "$BUNDLE"
  mkdir -p "$BUNDLE/bin" "$BUNDLE/compare"
  cp "$build/apps/stload" "$BUNDLE/bin/stload"
  cp "$build/tests/gpu" "$BUNDLE/bin/stload_gpu_tests"
  cp "$build/bench/stload_ceiling" "$build/bench/stload_ceiling_gpu" \
    "$build/bench/stload_h2d_probe" "$BUNDLE/bin/"
  strip --strip-unneeded "$BUNDLE"/bin/*
  cp "$REPO"/bench/compare/*.py "$BUNDLE/compare/"
  cp "$REPO/scripts/gpu-check.sh" "$REPO/scripts/gpu-check-run.sh" "$BUNDLE/"

  # Nothing but glibc's and GCC's runtime libraries may be needed at run time.
  local bin deps
  for bin in "$BUNDLE"/bin/*; do
    deps=$(ldd "$bin" | awk '{print $1}' |
      grep -Ev '^(linux-vdso\.so|/lib64/ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libstdc\+\+\.so|libgcc_s\.so)' ||
      true)
    [[ -z $deps ]] || die "$bin needs shared libraries the GPU machine may lack: $deps"
  done
  local glibc glibcxx
  glibc=$(objdump -T "$BUNDLE"/bin/* | grep -o 'GLIBC_[0-9.]*[0-9]' | sort -uV | tail -1)
  glibcxx=$(objdump -T "$BUNDLE"/bin/* | grep -o 'GLIBCXX_[0-9.]*[0-9]' | sort -uV | tail -1)

  local bytes
  bytes=$(du -sb "$BUNDLE" | cut -f1)
  python3 - "$BUNDLE" "$bytes" "$glibc" "$glibcxx" "$build" <<'PY'
import json, os, subprocess, sys, datetime
bundle, size, glibc, glibcxx, build = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def git(*a):
    r = subprocess.run(["git", "-C", bundle + "/..", *a], capture_output=True, text=True)
    return r.stdout.strip()
nvcc = subprocess.run(["/usr/local/cuda/bin/nvcc", "--version"], capture_output=True, text=True).stdout
manifest = {
    "built": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "commit": git("rev-parse", "--short", "HEAD"),
    "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    "build_type": "Release", "build_dir": build,
    "cuda_toolkit": (nvcc.strip().splitlines() or [""])[-1],
    "linking": "CUDA runtime and libcrypto static; glibc, libstdc++ and libgcc_s shared",
    "needs_glibc": glibc,
    "needs_glibcxx": glibcxx,
    "bytes": size,
    "files": {f: os.path.getsize(os.path.join(bundle, "bin", f)) for f in sorted(os.listdir(os.path.join(bundle, "bin")))},
}
with open(os.path.join(bundle, "MANIFEST.json"), "w") as out:
    json.dump(manifest, out, indent=1)
    out.write("\n")
PY
  bytes=$(du -sb "$BUNDLE" | cut -f1)
  log "bundle $BUNDLE: $((bytes / 1048576)) MiB ($bytes bytes), needs $glibc and $glibcxx or newer"
  ((bytes <= BUNDLE_LIMIT_BYTES)) || die "bundle is $bytes bytes, over the 64 MiB the device tool carries"
  du -b "$BUNDLE"/bin/* | sed 's|'"$BUNDLE"'/||'
}

case ${1:-} in
  bundle) bundle ;;
  run)
    # shellcheck source=scripts/gpu-check-run.sh
    source "$REPO/scripts/gpu-check-run.sh"
    run
    ;;
  *) usage ;;
esac
