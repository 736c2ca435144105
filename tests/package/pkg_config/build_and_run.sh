#!/usr/bin/env bash
# A downstream build that knows only pkg-config: compile the consumer with the flags stload.pc
# gives, against the installed tree, and run it.
# usage: build_and_run.sh PREFIX CXX WORK_DIR [EXTRA_FLAGS...]
set -euo pipefail
prefix=$1 cxx=$2 work=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
libdir=$(dirname "$(find "$prefix" -name stload.pc -path '*/pkgconfig/*' | head -n 1)")
export PKG_CONFIG_PATH=$libdir PKG_CONFIG_LIBDIR=$libdir
mkdir -p "$work"
cflags=$(pkg-config --cflags stload)
libs=$(pkg-config --libs stload)
echo "pkg-config: cflags '$cflags' libs '$libs'"
# shellcheck disable=SC2086  # flags are word lists
"$cxx" "$@" $cflags "$here/../common/consumer.cpp" -o "$work/consumer" $libs \
  -Wl,-rpath,"$(pkg-config --variable=libdir stload)"
"$work/consumer" "$work/scratch"
