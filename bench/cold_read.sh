#!/usr/bin/env bash
# Cold-read benchmark (issue 14): how fast `stload load` (CPU engine) reads a checkpoint that is
# not in the page cache, by each read method, against the cold ceiling of the same file in the
# same run: `dd iflag=direct bs=16M` (the device's sequential O_DIRECT read, no copy after it).
#
# Before every timed run the file is evicted from the page cache with posix_fadvise
# POSIX_FADV_DONTNEED (after an fsync, so no dirty page stays behind); fincore checks it worked.
# With DROP_CACHES=1 (root only) `echo 1 > /proc/sys/vm/drop_caches` is used as well, which
# drops every clean page of the machine: not the default, since it slows everyone else down.
# On a VM the host may still cache the disk image: "cold" here means cold for this kernel.
#
# usage: bench/cold_read.sh CHECKPOINT [REPS]     (STLOAD=path/to/stload, default build/dev)
# Prints one line per run, then the median of each method and its ratio to the ceiling's median.
set -euo pipefail

file=${1:?usage: bench/cold_read.sh CHECKPOINT [REPS]}
reps=${2:-3}
stload=${STLOAD:-build/dev/apps/stload}
methods=(pread direct mmap)

evict() {
  python3 - "$file" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
PY
  if [[ ${DROP_CACHES:-0} == 1 ]]; then
    sync
    echo 1 >/proc/sys/vm/drop_caches
  fi
  local resident
  resident=$(fincore --noheadings --bytes --output RES "$file" | tr -d ' ')
  if ((resident > 64 * 1024 * 1024)); then
    echo "eviction failed: $resident bytes of $file still resident" >&2
    exit 1
  fi
}

now() { date +%s.%N; }

size=$(stat -c %s "$file")
echo "# cold_read.sh $(date -u +%FT%TZ) on $(hostname): $(nproc) CPUs, kernel $(uname -r)"
echo "# file $file, $size bytes, $(df -T "$file" | awk 'NR==2 {print $2 " on " $1}')"
echo "# stload $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($stload), load average $(cut -d' ' -f1 /proc/loadavg)"
echo "# method rep wall_s GB/s [copy_s]"

declare -A times copies
for ((rep = 1; rep <= reps; rep++)); do
  # dd first in each round, then the methods, so drift in the machine's load hits all alike.
  evict
  start=$(now)
  dd if="$file" of=/dev/null bs=16M iflag=direct status=none
  wall=$(echo "$(now) - $start" | bc -l)
  times[dd]+="$wall "
  printf 'dd_direct %d %.3f %.2f\n' "$rep" "$wall" "$(echo "$size / $wall / 1000000000" | bc -l)"
  for method in "${methods[@]}"; do
    evict
    start=$(now)
    json=$("$stload" load "$file" --engine cpu --read "$method" --json 2>/dev/null)
    wall=$(echo "$(now) - $start" | bc -l)
    copy=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["copy_seconds"])' <<<"$json")
    times[$method]+="$wall "
    copies[$method]+="$copy "
    printf '%s %d %.3f %.2f copy_s=%.3f\n' "$method" "$rep" "$wall" \
      "$(echo "$size / $wall / 1000000000" | bc -l)" "$copy"
  done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ceiling=$(median "${times[dd]}")
echo "# medians: whole process wall s, GB/s, x the dd ceiling; then the copy phase alone (read"
echo "# and copy, what LoadStats.copy_seconds times: no open, no arena allocation), GB/s, x ceiling"
printf '# %-7s %.3f s  %.2f GB/s  %.2fx\n' dd "$ceiling" "$(echo "$size / $ceiling / 1000000000" | bc -l)" 1
for method in "${methods[@]}"; do
  m=$(median "${times[$method]}")
  c=$(median "${copies[$method]}")
  printf '# %-7s %.3f s  %.2f GB/s  %.2fx   copy %.3f s  %.2f GB/s  %.2fx\n' "$method" "$m" \
    "$(echo "$size / $m / 1000000000" | bc -l)" "$(echo "$ceiling / $m" | bc -l)" "$c" \
    "$(echo "$size / $c / 1000000000" | bc -l)" "$(echo "$ceiling / $c" | bc -l)"
done
