#!/usr/bin/env python3
"""stload.load_file vs safetensors.torch.load_file, CPU, warm page cache, fresh processes.

    python3 bench/python_load_compare.py CHECKPOINT [--runs 5] [--save FILE]

Each run is a new interpreter that imports torch, stload and safetensors (untimed), then times one
method. Methods alternate run by run so drift on a shared machine hits both alike; medians are
printed. Three figures per method, since the two libraries return different things:

  call      the load_file() call alone. safetensors, and stload by default (zero_copy), return
            tensors viewing a private mapping of the file: no byte has been read yet.
            stload-copy (zero_copy=False) returns tensors owning memory the file was streamed
            into (its arenas are pre-faulted inside the call).
  touched   call + reading every byte once (max over a uint8 view): when the data is in hand.
  owned     call + what it takes to own the bytes (clone() for mapped views; nothing for
            stload-copy): the state a loader that must not hold the file mapping needs.

Also: CPU seconds of the process for `owned`, and its anonymous RSS after the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, os, sys, time, resource
import torch
import stload
import safetensors.torch
path, method, mode = sys.argv[1:4]
torch.set_num_threads(max(1, os.cpu_count() or 1))

def rss_anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return 0

def touch(tensors):
    for t in tensors.values():
        if t.numel():
            t.reshape(-1).view(torch.uint8).max()

cpu0 = time.process_time()
start = time.perf_counter()
if method == "stload":
    tensors = stload.load_file(path)
elif method == "stload-copy":
    tensors = stload.load_file(path, zero_copy=False)
else:
    tensors = safetensors.torch.load_file(path)
if mode == "touched":
    touch(tensors)
elif mode == "owned" and method != "stload-copy":
    tensors = {k: v.clone() for k, v in tensors.items()}
seconds = time.perf_counter() - start
cpu = time.process_time() - cpu0
nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
print(json.dumps({"seconds": seconds, "cpu": cpu, "bytes": nbytes, "rss_anon": rss_anon()}))
"""


def run(python: str, path: str, method: str, mode: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run([python, "-c", CHILD, path, method, mode], check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start  # the whole process: interpreter, imports, load, exit
    return {**json.loads(out.strip().splitlines()[-1]), "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--save", help="also write the table to this file")
    args = parser.parse_args()

    with open(args.checkpoint, "rb") as f:  # warm the page cache
        while f.read(64 << 20):
            pass
    size = os.path.getsize(args.checkpoint)
    methods = ("stload", "stload-copy", "safetensors")
    modes = ("call", "touched", "owned")
    results = {(m, mode): [] for m in methods for mode in modes}
    for _ in range(args.runs):
        for mode in modes:
            for method in methods:
                results[(method, mode)].append(run(args.python, args.checkpoint, method, mode))

    lines = [f"checkpoint: {args.checkpoint} ({size / 2**30:.2f} GiB), warm page cache, "
             f"median of {args.runs} fresh processes, {os.cpu_count()} CPUs, "
             f"{time.strftime('%Y-%m-%d')}",
             f"{'method':<13}{'mode':<9}{'seconds':>9}{'GB/s':>8}{'cpu s':>8}{'RssAnon MiB':>13}"
             f"{'process s':>11}"]
    medians = {}
    for mode in modes:
        for method in methods:
            rows = results[(method, mode)]
            seconds = statistics.median(r["seconds"] for r in rows)
            medians[(method, mode)] = seconds
            cpu = statistics.median(r["cpu"] for r in rows)
            rss = statistics.median(r["rss_anon"] for r in rows) / 2**20
            rate = rows[0]["bytes"] / seconds / 1e9
            wall = statistics.median(r["wall"] for r in rows)
            lines.append(f"{method:<13}{mode:<9}{seconds:>9.3f}{rate:>8.2f}{cpu:>8.2f}{rss:>13.0f}"
                         f"{wall:>11.3f}")
    for mode in modes:
        for method in ("stload", "stload-copy"):
            ratio = medians[(method, mode)] / medians[("safetensors", mode)]
            lines.append(f"{mode}: {method} / safetensors = {ratio:.2f}x the time")
    text = "\n".join(lines)
    print(text)
    if args.save:
        with open(args.save, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
