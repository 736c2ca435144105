#!/usr/bin/env bash
# Converted load vs plain load, CPU engine, same run (issue 15): a BF16 checkpoint loaded whole
# through the `stload` CLI as stored, with --dtype f16 and with --dtype f32, rounds interleaved
# (plain, staged plain, f16, f32; then again) so that the shared machine's load falls on every
# variant alike. Prints each run's copy GB/s as `stload load --json` reports it ("gbps": output
# bytes / copy_seconds, 10^9), the medians, and each median's ratio to the plain load's (target
# >= 0.8). A direct load (the default) converts on the reader threads through cache-sized blocks;
# the --no-direct variants go through the staging ring, plain and converted: they show what the
# staging pass costs each.
# Usage: bench/convert_load.sh [STLOAD_BINARY] [GIB] [ROUNDS]
#   (defaults build/dev/apps/stload, 4, 3). The checkpoint is written under /tmp and deleted after.
set -euo pipefail
stload=${1:-build/dev/apps/stload}
gib=${2:-4}
rounds=${3:-3}
file=$(mktemp -u /tmp/stload-convert-load-XXXXXX).safetensors
trap 'rm -f "$file"' EXIT

echo "# stload converted-load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "# host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(free -g | awk '/Mem:/{print $2}') GiB; shared with other jobs"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$stload" generate --preset llama --size-gib "$gib" --out "$file" | sed 's/^/# /'
# Warm the page cache once, so that every run reads from memory (the mapping).
"$stload" load "$file" --engine cpu --json >/dev/null 2>&1

results=$(mktemp)
trap 'rm -f "$file" "$results"' EXIT
variants=("plain|" "plain --no-direct|--no-direct" "--dtype f16|--dtype f16" "--dtype f32|--dtype f32"
          "f16 --no-direct|--dtype f16 --no-direct" "f32 --no-direct|--dtype f32 --no-direct")
for ((round = 1; round <= rounds; ++round)); do
  for variant in "${variants[@]}"; do
    name=${variant%%|*}
    args=${variant#*|}
    # shellcheck disable=SC2086  # args is a word list on purpose
    json=$("$stload" load "$file" --engine cpu --json $args 2>/dev/null)
    echo "$round|$name|$(cut -d' ' -f1 /proc/loadavg)|$json" >>"$results"
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [line.rstrip("\n").split("|", 3) for line in open(sys.argv[1])]
print(f"{'round':>5}  {'variant':<18} {'loadavg':>7} {'out GB':>7} {'copy s':>7} {'GB/s':>6}")
by = {}
for rnd, name, load, raw in rows:
    j = json.loads(raw)
    by.setdefault(name, []).append(j["gbps"])
    print(f"{rnd:>5}  {name:<18} {load:>7} {j['bytes'] / 1e9:7.2f} {j['copy_seconds']:7.3f} "
          f"{j['gbps']:6.2f}")
plain = statistics.median(by["plain"])
print()
print(f"{'variant':<18} {'median GB/s':>11} {'vs plain':>9}")
for name, values in by.items():
    m = statistics.median(values)
    print(f"{name:<18} {m:11.2f} {m / plain:8.2f}x")
EOF
