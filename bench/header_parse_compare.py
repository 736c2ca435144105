#!/usr/bin/env python3
"""Header-parse figure: stload vs the reference `safetensors` package, on the same files.

Runs bench_header_parse (C++), which times stload::parse_header on in-memory headers and writes
header-N.safetensors files (N tensors of shape [1] BF16: the file is almost all header) and times
stload::Checkpoint::open on them. Then times, side by side on the same files,
    with safe_open(path, framework="numpy") as f: keys = list(f.keys())
and prints a markdown table. Both sides: warm page cache, median of --reps batches, each batch
long enough (--min-batch-ms) to time reliably. Wall and process CPU time are both reported:
on a shared machine wall time includes waiting for a core.

Usage: python3 bench/header_parse_compare.py [--bench PATH] [--reps 7] [--save FILE]
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def ensure_packages():
    try:
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "safetensors",
                               "numpy"])


def find_bench(given):
    if given:
        return pathlib.Path(given)
    candidates = sorted(ROOT.glob("build*/bench/bench_header_parse"),
                        key=lambda p: p.stat().st_mtime, reverse=True)
    # Sanitizer builds (build-fuzz, ...) are not for timing: prefer the plain build/.
    plain = ROOT / "build" / "bench" / "bench_header_parse"
    if plain.exists():
        return plain
    if candidates:
        return candidates[0]
    sys.exit("bench_header_parse not found; build it: cmake -S . -B build -G Ninja && "
             "ninja -C build bench_header_parse (or pass --bench PATH)")


def measure(fn, reps, min_batch_s):
    """Per-call (median wall, min wall, max wall, median cpu) seconds, as the C++ bench does."""
    fn()  # warm-up
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - start >= min_batch_s or batch >= 1 << 20:
            break
        batch *= 2
    wall, cpu = [], []
    for _ in range(reps):
        cpu0, start = time.process_time(), time.perf_counter()
        for _ in range(batch):
            fn()
        wall.append((time.perf_counter() - start) / batch)
        cpu.append((time.process_time() - cpu0) / batch)
    return statistics.median(wall), min(wall), max(wall), statistics.median(cpu)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next((" ".join(line.split()) for line in out.splitlines() if "Model name" in line),
                    "Model name: unknown")
    except (OSError, subprocess.CalledProcessError):
        return "Model name: unknown (no lscpu)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", help="path to bench_header_parse (default: build/bench/...)")
    parser.add_argument("--tensors", default="1000,100000")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--min-batch-ms", type=float, default=50.0)
    parser.add_argument("--work-dir", help="where the files go (default: a temporary directory)")
    parser.add_argument("--save", help="also write everything printed to this file")
    args = parser.parse_args()

    ensure_packages()
    import safetensors
    from safetensors import safe_open

    lines = []

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    bench = find_bench(args.bench)
    with tempfile.TemporaryDirectory(prefix="stload-header-bench-") as tmp:
        work = pathlib.Path(args.work_dir or tmp)
        emit(f"# header-parse benchmark, {datetime.date.today().isoformat()}")
        emit(f"host: {socket.gethostname()}  {cpu_model()}  nproc: {os.cpu_count()}  "
             f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        emit(f"python {platform.python_version()}, safetensors {safetensors.__version__}; "
             f"stload bench: {bench}")
        emit(f"reps: {args.reps} batches of >= {args.min_batch_ms:g} ms, warm page cache")
        emit()
        emit("## stload (bench_header_parse)")
        cmd = [str(bench), "--tensors", args.tensors, "--reps", str(args.reps),
               "--min-batch-ms", str(args.min_batch_ms), "--write-dir", str(work)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            emit(line)
        report = json.loads(next(l for l in reversed(out.splitlines()) if l.startswith("{")))

        rows = []
        for r in report["results"]:
            if r["mode"] != "checkpoint_open":
                continue

            def open_and_list(path=r["file"]):
                with safe_open(path, framework="numpy") as f:
                    keys = list(f.keys())
                assert len(keys) == r["tensors"]

            st = measure(open_and_list, args.reps, args.min_batch_ms / 1e3)
            parse = next(p for p in report["results"]
                         if p["mode"] == "parse_header" and p["tensors"] == r["tensors"])
            rows.append((r, st, parse))

    emit()
    emit("## safe_open + keys() vs Checkpoint::open, same files (N tensors of BF16 [1])")
    emit()
    emit("| tensors | header MB | stload median ms | safetensors median ms | ratio (safetensors/stload)"
         " | stload MB/s | stload tensors/s |")
    emit("|---:|---:|---:|---:|---:|---:|---:|")
    for r, st, _ in rows:
        emit(f"| {r['tensors']:,} | {r['header_bytes'] / 1e6:.2f} | {r['median_s'] * 1e3:.3f} | "
             f"{st[0] * 1e3:.3f} | {st[0] / r['median_s']:.2f} | {r['mb_per_s']:.1f} | "
             f"{r['tensors_per_s']:,.0f} |")
    emit()
    emit("Spread and CPU time (per call, ms):")
    emit()
    emit("| tensors | stload min / max | safetensors min / max | stload cpu | safetensors cpu"
         " | cpu ratio |")
    emit("|---:|---:|---:|---:|---:|---:|")
    for r, st, _ in rows:
        emit(f"| {r['tensors']:,} | {r['min_s'] * 1e3:.3f} / {r['max_s'] * 1e3:.3f} | "
             f"{st[1] * 1e3:.3f} / {st[2] * 1e3:.3f} | {r['cpu_median_s'] * 1e3:.3f} | "
             f"{st[3] * 1e3:.3f} | {st[3] / r['cpu_median_s']:.2f} |")
    emit()
    emit("## stload parse_header alone (in memory, realistic BF16 2-D shapes and offsets)")
    emit()
    emit("| tensors | header MB | median ms | cpu ms | MB/s | tensors/s |")
    emit("|---:|---:|---:|---:|---:|---:|")
    for _, _, p in rows:
        emit(f"| {p['tensors']:,} | {p['header_bytes'] / 1e6:.2f} | {p['median_s'] * 1e3:.3f} | "
             f"{p['cpu_median_s'] * 1e3:.3f} | {p['mb_per_s']:.1f} | {p['tensors_per_s']:,.0f} |")
    if args.save:
        pathlib.Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.save).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
