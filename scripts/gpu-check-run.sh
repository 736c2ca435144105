# shellcheck shell=bash
# `scripts/gpu-check.sh run`, sourced by scripts/gpu-check.sh (REPO, BUNDLE, log and die come from
# there). Every step runs under its own `timeout`, cut to what is left of the budget, so that one
# hung step cannot eat the rest; its stdout and stderr go to $RAW/<step>.out and .err and its
# outcome to $RAW/steps.jsonl. At the end (also on an early exit) the raw folder is packed into
# $OUT/gpu-check-raw.tar.gz, because the device tool brings back at most 8 files from $OUT:
# $OUT then holds gpu-check.log, summary.json, summary.txt and the archive.

# Seconds kept back at the end for the summary and the packing.
PACK_RESERVE_S=25

json_text() {
  local text=${1//\\/\\\\}
  text=${text//\"/\\\"}
  printf '%s' "${text//$'\n'/ }"
}

# record STEP STATUS RC SECONDS LIMIT WHY
record() {
  printf '{"step":"%s","status":"%s","rc":%s,"seconds":%s,"limit_s":%s,"why":"%s"}\n' \
    "$1" "$2" "$3" "$4" "$5" "$(json_text "$6")" >>"$RAW/steps.jsonl"
}

skipped() {
  record "$1" skipped null 0 0 "$2"
  log "$1: skipped: $2"
}

seconds_left() { echo $((DEADLINE - PACK_RESERVE_S - $(date +%s))); }

# step [--rehearsal-fails WHY] [--show] NAME LIMIT_S COMMAND...: COMMAND must be a program
# (timeout runs programs, not shell functions). In a rehearsal a step marked --rehearsal-fails is
# expected to fail (it needs the GPU): its failure is recorded as such, with why. --show copies
# the step's stderr (its progress) into the log as it comes.
step() {
  local expected="" show=0
  if [[ $1 == --rehearsal-fails ]]; then
    ((REHEARSAL)) && expected=$2
    shift 2
  fi
  if [[ $1 == --show ]]; then
    show=1
    shift
  fi
  local name=$1 limit=$2
  shift 2
  local left
  left=$(seconds_left)
  if ((left < 5)); then
    skipped "$name" "time budget spent"
    return 0
  fi
  ((limit <= left)) || limit=$left
  local started rc=0 status=ok why=""
  started=$(date +%s.%N)
  if ((show)); then
    timeout --kill-after=5 "$limit" "$@" >"$RAW/$name.out" 2> >(tee "$RAW/$name.err" >&2) || rc=$?
  else
    timeout --kill-after=5 "$limit" "$@" >"$RAW/$name.out" 2>"$RAW/$name.err" || rc=$?
  fi
  local seconds
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if ((rc == 124 || rc == 137)); then
    status=timeout
    why="stopped after its ${limit} s limit"
  elif ((rc != 0)); then
    status=failed
    why=$(tail -n 1 "$RAW/$name.err" | cut -c 1-300)
    [[ -n $why ]] || why=$(tail -n 1 "$RAW/$name.out" | cut -c 1-300)
    if [[ -n $expected ]]; then
      status=failed-as-expected
      why="$expected; it said: $why"
    fi
  fi
  record "$name" "$status" "$rc" "$seconds" "$limit" "$why"
  log "$name: $status (exit $rc, $seconds s of $limit s)${why:+: $why}"
  return 0
}

facts() {
  local smi=""
  smi=$(command -v nvidia-smi || true)
  if [[ -n $smi ]]; then
    step facts-nvidia-smi-q 30 "$smi" -q
    step facts-nvidia-smi-topo 15 "$smi" topo -m
  else
    skipped facts-nvidia-smi "nvidia-smi is not on the PATH"
  fi
  step --rehearsal-fails "no GPU here: doctor exits 1 when CUDA is unusable" \
    facts-doctor 30 "$BIN/stload" doctor --json
  step --rehearsal-fails "no GPU here: doctor exits 1 when CUDA is unusable" \
    facts-doctor-text 30 "$BIN/stload" doctor
  step facts-bundle 5 cat "$BUNDLE/MANIFEST.json"
  step facts-lscpu 10 lscpu
  step facts-free 5 free -b
  step facts-meminfo 5 cat /proc/meminfo
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  step facts-system 15 bash -c 'uname -a; cat /etc/os-release; echo "nproc $(nproc)";
    echo "ulimit -l (locked memory, pinned buffers) $(ulimit -l)";
    cat /proc/driver/nvidia/version 2>&1; df -h /dev/shm "$1" /tmp; mount | grep -E " /dev/shm | / "' \
    _ "$REPO"
  # The host side of each NVIDIA PCI function's link, from sysfs (vendor 0x10de).
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  step facts-pcie 10 bash -c 'found=0; for d in /sys/bus/pci/devices/*; do
      [[ $(cat "$d/vendor" 2>/dev/null) == 0x10de ]] || continue; found=1
      printf "%s class=%s" "${d##*/}" "$(cat "$d/class")"
      for f in current_link_speed current_link_width max_link_speed max_link_width numa_node; do
        printf " %s=%s" "$f" "$(cat "$d/$f" 2>/dev/null | tr " " _)"; done; echo; done
    ((found)) || echo "no NVIDIA PCI function under /sys/bus/pci/devices (hidden by the VM or container?)"'
  step facts-python 60 "$PYTHON" -c 'import json, sys
facts = {"python": sys.version.split()[0], "executable": sys.executable}
try:
    import torch
    facts.update(torch=torch.__version__, torch_cuda=torch.version.cuda, cuda_available=torch.cuda.is_available())
    if torch.cuda.is_available():
        facts["device"] = torch.cuda.get_device_name(0)
except Exception as error:
    facts["torch"] = f"absent: {error}"
try:
    import safetensors
    facts["safetensors"] = safetensors.__version__
except Exception as error:
    facts["safetensors"] = f"absent: {error}"
print(json.dumps(facts))'
  if command -v numactl >/dev/null; then
    step facts-numa 10 numactl -H
  else
    skipped facts-numa "numactl is not installed"
  fi
}

gpu_tests() {
  # Every skip prints why (cuda_report's verdict); on a GPU machine a skip is a finding.
  step gpu-tests 150 "$BIN/stload_gpu_tests" "--gtest_output=xml:$RAW/gpu-tests.xml"
}

sanitizer() {
  local sanitizer=""
  sanitizer=$(command -v compute-sanitizer || true)
  for candidate in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [[ -n $sanitizer || ! -x $candidate ]] || sanitizer=$candidate
  done
  if [[ -z $sanitizer ]]; then
    skipped compute-sanitizer "compute-sanitizer is absent (not on the PATH, not under /usr/local/cuda)"
    return 0
  fi
  mkdir -p "$WORK"
  step sanitizer-input 30 "$BIN/stload" generate --preset tiny-llama --out "$WORK/tiny.safetensors"
  step --rehearsal-fails "no GPU here" compute-sanitizer 120 "$sanitizer" --tool memcheck \
    --leak-check full --error-exitcode 9 "$BIN/stload" load "$WORK/tiny.safetensors" --engine cuda
}

ceilings() {
  step --rehearsal-fails "no GPU here: the probe needs a CUDA device" \
    h2d-probe 90 "$BIN/stload_h2d_probe" --sizes-mib 1,16,64,256,1024 --reps 5
  step --rehearsal-fails "no GPU here: the ceiling needs a CUDA device" \
    ceiling-gpu 60 "$BIN/stload_ceiling_gpu" $((4 << 30)) --reps 5
}

measure() {
  local left
  left=$(seconds_left)
  local args=(measure --bin "$BIN" --raw "$RAW" --sizes "$SIZES" --deadline $(($(date +%s) + left - 10)))
  ((REHEARSAL)) && args+=(--rehearsal)
  step --show measure "$left" "$PYTHON" "$BUNDLE/compare/gpu_check.py" "${args[@]}"
}

pack() {
  local rc=$?
  trap - EXIT
  local args=(summary --raw "$RAW" --out "$OUT/summary.json" --text "$OUT/summary.txt")
  ((REHEARSAL)) && args+=(--rehearsal)
  timeout 20 "$PYTHON" "$BUNDLE/compare/gpu_check.py" "${args[@]}" ||
    log "summary failed; the raw files are in the archive"
  # Python's tarfile when there is no tar: a bare image may lack it, never the Python of the check.
  if command -v tar >/dev/null; then
    tar -czf "$OUT/gpu-check-raw.tar.gz" -C "$OUT" raw && rm -rf "$RAW"
  else
    (cd "$OUT" && "$PYTHON" -m tarfile -c gpu-check-raw.tar.gz raw) && rm -rf "$RAW"
  fi
  rm -rf "$WORK" /dev/shm/stload-gpu-check
  log "done in $(($(date +%s) - START)) s of the $BUDGET s budget; in $OUT: $(find "$OUT" -maxdepth 1 -type f -printf '%f ')"
  # Let tee write the last lines before this shell is gone.
  exec 1>&3 2>&4
  wait "$TEE_PID" 2>/dev/null || true
  exit "$rc"
}

run() {
  REHEARSAL=0
  [[ ${STLOAD_GPU_CHECK_REHEARSAL:-0} == 0 ]] || REHEARSAL=1
  if ((REHEARSAL)); then
    OUT=${OUT:-$REPO/build/gpu-check-rehearsal}
    SIZES=${STLOAD_GPU_CHECK_SIZES:-0.25,0.5}
  else
    OUT=${OUT:-$REPO/build/gpu-check-out}
    SIZES=${STLOAD_GPU_CHECK_SIZES:-8,16}
  fi
  BUDGET=${STLOAD_GPU_CHECK_BUDGET_S:-470}
  START=$(date +%s)
  DEADLINE=$((START + BUDGET))
  BIN=$BUNDLE/bin
  PYTHON=${STLOAD_GPU_CHECK_PYTHON:-python3}
  RAW=$OUT/raw
  WORK=${TMPDIR:-/tmp}/stload-gpu-check
  [[ -x $BIN/stload && -x $BIN/stload_gpu_tests ]] ||
    die "no bundle at $BUNDLE: run 'scripts/gpu-check.sh bundle' on the build machine (and carry gpu-bundle)"
  mkdir -p "$OUT"
  rm -rf "$RAW" "$OUT/gpu-check.log" "$OUT/summary.json" "$OUT/summary.txt" "$OUT/gpu-check-raw.tar.gz"
  mkdir -p "$RAW"
  exec 3>&1 4>&2
  exec > >(tee "$OUT/gpu-check.log") 2>&1
  TEE_PID=$!
  trap pack EXIT

  if ((REHEARSAL)); then
    log "REHEARSAL on $(uname -n) without a GPU: CPU engine, sizes $SIZES GiB; GPU steps are" \
      "expected to fail or skip, and no figure of this run says anything about a GPU"
  else
    log "one-shot GPU check on $(uname -n): sizes $SIZES GiB, budget $BUDGET s"
  fi
  log "bundle: $(tr -s ' \n' ' ' <"$BUNDLE/MANIFEST.json" | cut -c 1-400)"
  facts
  gpu_tests
  sanitizer
  ceilings
  measure
}
