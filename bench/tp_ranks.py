#!/usr/bin/env python3
"""Tensor-parallel loads: per-rank bytes read and load time at world 1, 2, 4, 8 (issue 15).

    python3 bench/tp_ranks.py CHECKPOINT [--stload build/dev/apps/stload] [--reps 2]
                              [--split llama] [--save FILE]

Each rank is its own `stload load CKPT --engine cpu --tp R/W --split RULES --json` process,
run one after another (a CPU-only machine: the ranks would share its cores and memory
bandwidth if run at once, which measures the machine, not the plan). World 1 is the whole load
without --tp. The page cache is warmed first. Per world: the bytes each rank loaded (a part's
bytes are exactly the bytes read for it; replicated tensors count whole), the largest against
1/world of the model, and the median per-rank load time (stload's total_seconds, and the whole
process) against the whole load's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time


def run(stload: str, path: str, extra: list) -> dict:
    start = time.perf_counter()
    out = subprocess.run([stload, "load", path, "--engine", "cpu", "--json", *extra], check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    return {**json.loads(out.strip().splitlines()[-1]), "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--stload", default="build/dev/apps/stload")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--split", default="llama")
    parser.add_argument("--worlds", default="1,2,4,8")
    parser.add_argument("--save")
    args = parser.parse_args()
    with open(args.checkpoint, "rb") as f:  # warm the page cache
        while f.read(64 << 20):
            pass
    size = os.path.getsize(args.checkpoint)
    lines = [f"checkpoint: {args.checkpoint} ({size / 2**30:.2f} GiB), --split {args.split}, "
             f"CPU engine, warm page cache, ranks one after another, median of {args.reps}, "
             f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
             f"{time.strftime('%Y-%m-%d %H:%M')}",
             f"{'world':>5} {'max rank MiB':>13} {'model/world MiB':>16} {'ratio':>6} "
             f"{'rank s (median)':>16} {'whole s':>8} {'x whole':>8} {'process s':>10}"]
    whole = None
    whole_bytes = None
    for world in [int(w) for w in args.worlds.split(",")]:
        per_rank_bytes, seconds, walls = [], [], []
        for rank in range(world):
            extra = [] if world == 1 else ["--tp", f"{rank}/{world}", "--split", args.split]
            runs = [run(args.stload, args.checkpoint, extra) for _ in range(args.reps)]
            per_rank_bytes.append(runs[0]["bytes"])
            seconds.append(statistics.median(r["total_seconds"] for r in runs))
            walls.append(statistics.median(r["wall"] for r in runs))
        rank_s = statistics.median(seconds)
        if world == 1:
            whole, whole_bytes = rank_s, per_rank_bytes[0]
        share = whole_bytes / world
        lines.append(f"{world:>5} {max(per_rank_bytes) / 2**20:>13.1f} {share / 2**20:>16.1f} "
                     f"{max(per_rank_bytes) / share:>6.3f} {rank_s:>16.3f} {whole:>8.3f} "
                     f"{rank_s / whole:>8.3f} {statistics.median(walls):>10.3f}")
    text = "\n".join(lines)
    print(text)
    if args.save:
        with open(args.save, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
