#!/usr/bin/env python3
"""stload vs torch on torch.save checkpoints (issue 16): load, and convert to safetensors.

    python3 bench/pt_compare.py [--sizes 1,4] [--runs 3] [--stload build/dev/apps/stload]
                                [--work-dir DIR] [--save FILE]

For each size (GiB) it writes a Llama-like bf16 state dict with torch.save (lm_head tied to the
embedding, as small Llamas tie them), then times, each run a fresh process, methods alternating
run by run so drift on a shared machine hits both alike (medians printed):

  load     `stload load model.pt --engine cpu`   vs  `torch.load(model.pt, weights_only=True)`
  convert  `stload convert model.pt out.safetensors`
           vs  torch.load + safetensors.torch.save_file (the tied tensor cloned first, since
           save_file refuses tensors that share memory; stload writes every key with its own
           bytes by default, so both outputs hold the same keys and bytes)

Two times per run: `process`, the whole process from spawn to exit (for Python that includes
`import torch`, as a user's script pays it), and `call`, the work alone (the CLI's own figure
for stload; time around the calls for Python). Memory: the peak of RssAnon (anonymous RSS,
sampled every 2 ms from /proc/PID/status) and ru_maxrss (peak total RSS, page-cache-backed
mapped pages included). The page cache is warm (the checkpoint is read once first); outputs go
to the page cache too, and are deleted between runs.

Targets (issue 16): load >= 3x torch.load; convert >= 3x faster than torch.load + save_file with
peak anonymous RSS <= staging + 64 MiB (stload convert's staging: at most one 8 MiB block, used
only where the kernel cannot copy file to file; with copy_file_range it holds none).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

GEN = r"""
import sys, torch
path, gib = sys.argv[1], float(sys.argv[2])
# Llama-like: hidden 2048, MLP 8192, vocab 32000, bf16; layers to reach the size.
h, f, v = 2048, 8192, 32000
layer = 4 * h * h + 3 * h * f + 2 * h
layers = max(1, round((gib * 2**30 / 2 - v * h - h) / layer))
g = torch.Generator().manual_seed(0)
def w(*shape):
    return torch.empty(*shape, dtype=torch.bfloat16).uniform_(-1, 1, generator=g)
sd = {"model.embed_tokens.weight": w(v, h)}
for i in range(layers):
    p = f"model.layers.{i}."
    for n in ("q", "k", "v", "o"):
        sd[p + f"self_attn.{n}_proj.weight"] = w(h, h)
    sd[p + "mlp.gate_proj.weight"] = w(f, h)
    sd[p + "mlp.up_proj.weight"] = w(f, h)
    sd[p + "mlp.down_proj.weight"] = w(h, f)
    sd[p + "input_layernorm.weight"] = w(h)
    sd[p + "post_attention_layernorm.weight"] = w(h)
sd["model.norm.weight"] = w(h)
sd["lm_head.weight"] = sd["model.embed_tokens.weight"]  # tied
torch.save(sd, path)
print(layers, len(sd))
"""

TORCH_LOAD = r"""
import sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
sd = torch.load(sys.argv[1], weights_only=True, map_location="cpu")
t2 = time.perf_counter()
n = sum(t.numel() * t.element_size() for t in sd.values())
print(f"CALL {t2 - t1:.6f} IMPORT {t1 - t0:.6f} BYTES {n}")
"""

TORCH_CONVERT = r"""
import sys, time
t0 = time.perf_counter()
import torch
import safetensors.torch
t1 = time.perf_counter()
sd = torch.load(sys.argv[1], weights_only=True, map_location="cpu")
seen = set()
for k, t in sd.items():  # save_file refuses shared storages: give the tied key its own copy
    if t.untyped_storage().data_ptr() in seen:
        sd[k] = t.clone()
    seen.add(sd[k].untyped_storage().data_ptr())
safetensors.torch.save_file(sd, sys.argv[2], metadata={"format": "pt"})
t2 = time.perf_counter()
print(f"CALL {t2 - t1:.6f} IMPORT {t1 - t0:.6f}")
"""


def measure(argv: list[str]) -> dict:
    """Runs `argv`, sampling its RssAnon; returns wall seconds, peaks and stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_anon = 0
    status = f"/proc/{proc.pid}/status"
    while True:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak_anon = max(peak_anon, int(line.split()[1]) * 1024)
                        break
        except OSError:
            pass
        pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.002)
    seconds = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(wait_status)  # reaped by wait4 above
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {proc.returncode}: {err}")
    return {"process": seconds, "anon": peak_anon, "maxrss": usage.ru_maxrss * 1024,
            "out": out, "err": err}


def stload_call_seconds(out: str) -> float:
    # load prints "... in S s" / convert prints "... in S s (G GB/s)"; the first "in X s" wins.
    match = re.search(r" in ([0-9.]+) s", out)
    if not match:
        raise RuntimeError(f"no time in stload's output: {out!r}")
    return float(match.group(1))


def load_seconds(out: str) -> float:
    """The load's own seconds from `stload load --json`."""
    return float(json.loads(out)["total_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4", help="GiB, comma separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stload", default="build/dev/apps/stload")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--save", help="also write the output to this file")
    args = parser.parse_args()

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"# pt_compare.py, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    say(f"# host: {os.uname().nodename}, {os.cpu_count()} CPUs; "
        + subprocess.run([args.python, "-c", "import torch, safetensors; "
                          "print('torch', torch.__version__, 'safetensors', "
                          "safetensors.__version__)"], capture_output=True,
                         text=True).stdout.strip())
    say(f"# stload: {args.stload} ({subprocess.run([args.stload, '--version'], capture_output=True, text=True).stdout.strip()})")
    say(f"# runs per method: {args.runs}, fresh process each, alternating; warm page cache; medians")
    work = args.work_dir or tempfile.mkdtemp(prefix="pt_compare-", dir=".")
    os.makedirs(work, exist_ok=True)
    for size in [float(s) for s in args.sizes.split(",")]:
        model = os.path.join(work, f"model-{size:g}gib.pt")
        out = os.path.join(work, "out.safetensors")
        gen = subprocess.run([args.python, "-c", GEN, model, str(size)], check=True,
                             capture_output=True, text=True).stdout.split()
        file_bytes = os.path.getsize(model)
        with open(model, "rb") as f:  # warm the page cache
            while f.read(64 << 20):
                pass
        say()
        say(f"## {size:g} GiB: {model}: {file_bytes / 2**30:.2f} GiB, {gen[1]} tensors "
            f"({gen[0]} layers, bf16, lm_head tied)")
        methods = {
            "stload load": [args.stload, "load", model, "--engine", "cpu", "--json"],
            "torch.load": [args.python, "-c", TORCH_LOAD, model],
            "stload convert": [args.stload, "convert", model, out],
            "torch.load+save_file": [args.python, "-c", TORCH_CONVERT, model, out],
        }
        results: dict[str, list[dict]] = {m: [] for m in methods}
        for _ in range(args.runs):
            for name, argv in methods.items():
                r = measure(argv)
                if "convert" in name or "save_file" in name:
                    if os.path.exists(out):
                        os.remove(out)
                if name == "stload load":
                    r["call"] = load_seconds(r["out"])
                elif name == "stload convert":
                    r["call"] = stload_call_seconds(r["out"])
                else:
                    r["call"] = float(re.search(r"CALL ([0-9.]+)", r["out"]).group(1))
                results[name].append(r)
        say(f"{'method':<22} {'process s':>10} {'call s':>8} {'GB/s':>6} {'peak RssAnon':>13} "
            f"{'ru_maxrss':>10}")
        med = {}
        for name, rs in results.items():
            m = {k: statistics.median(r[k] for r in rs) for k in ("process", "call", "anon", "maxrss")}
            med[name] = m
            say(f"{name:<22} {m['process']:>10.2f} {m['call']:>8.2f} "
                f"{file_bytes / m['call'] / 1e9:>6.2f} {m['anon'] / 2**20:>9.0f} MiB "
                f"{m['maxrss'] / 2**20:>6.0f} MiB")
        for name, rs in results.items():
            say(f"  runs, {name}: process s " + " ".join(f"{r['process']:.2f}" for r in rs)
                + "; call s " + " ".join(f"{r['call']:.2f}" for r in rs))
        say(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for ours, theirs, what in (("stload load", "torch.load", "load"),
                                   ("stload convert", "torch.load+save_file", "convert")):
            say(f"{what}: stload is {med[theirs]['process'] / med[ours]['process']:.2f}x faster "
                f"(whole process), {med[theirs]['call'] / med[ours]['call']:.2f}x (call alone)")
        say(f"convert peak RssAnon: stload {med['stload convert']['anon'] / 2**20:.0f} MiB "
            f"(target <= 8 MiB staging + 64 MiB = 72 MiB), torch "
            f"{med['torch.load+save_file']['anon'] / 2**20:.0f} MiB")
        os.remove(model)
    if args.save:
        with open(args.save, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
