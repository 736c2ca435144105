#!/usr/bin/env python3
"""Writes the compare benchmark's input: one synthetic Llama-like BF16 state dict, twice.

`stload generate --preset llama --size-gib G` writes the .safetensors (deterministic: fixed seed);
this script reads it back with the reference `safetensors` package and writes the very same tensors
with `torch.save` as the .pt, then checks every tensor of the .pt equals its .safetensors twin.
Both files are fsync'ed so that `posix_fadvise(DONTNEED)` can evict them later (dirty pages stay).

    python3 bench/compare/gen.py --size-gib 4 --stload build/bench/apps/stload --out-dir DIR

Writes DIR/llama-<G>g.safetensors, DIR/llama-<G>g.pt and DIR/llama-<G>g.json (what was written);
an existing pair whose .json matches is kept.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

STAMP_VERSION = 1


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def paths_for(out_dir, size_gib):
    # Not with_suffix(): for 0.5 GiB the stem "llama-0.5g" would lose ".5g" and collide with 0.25.
    stem = Path(out_dir) / f"llama-{size_gib:g}g"
    return (stem.parent / (stem.name + ".safetensors"), stem.parent / (stem.name + ".pt"),
            stem.parent / (stem.name + ".json"))


def generate(size_gib, stload, out_dir, force=False):
    """Returns the stamp dict (paths, tensors, bytes); writes the files unless they are current."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    st_path, pt_path, stamp_path = paths_for(out_dir, size_gib)
    if not force and stamp_path.exists() and st_path.exists() and pt_path.exists():
        stamp = json.loads(stamp_path.read_text())
        if (stamp.get("version") == STAMP_VERSION and stamp.get("size_gib") == size_gib
                and stamp.get("safetensors_file_bytes") == st_path.stat().st_size
                and stamp.get("pt_file_bytes") == pt_path.stat().st_size):
            # The directory may have been given relative to another working directory.
            return stamp | {"safetensors": str(st_path.resolve()), "pt": str(pt_path.resolve())}

    start = time.perf_counter()
    subprocess.run([str(stload), "generate", "--preset", "llama", "--size-gib", f"{size_gib:g}",
                    "--out", str(st_path)], check=True, stdout=sys.stderr)
    state = load_file(str(st_path))  # lazily mapped; torch.save reads it through
    torch.save(state, str(pt_path))
    del state
    fsync_file(st_path)
    fsync_file(pt_path)

    # Same names, dtypes, shapes and bytes on both sides (both opened lazily: no 2x memory).
    reread = torch.load(str(pt_path), mmap=True, weights_only=True)
    tensors = 0
    data_bytes = 0
    with safe_open(str(st_path), framework="pt") as reference:
        names = sorted(reference.keys())
        if names != sorted(reread.keys()):
            raise SystemExit(f"{pt_path}: tensor names differ from {st_path}")
        for name in names:
            expected = reference.get_tensor(name)
            got = reread[name]
            # Bitwise: random BF16 bits include NaNs, which never compare equal as numbers.
            if (got.dtype != expected.dtype or got.shape != expected.shape
                    or not torch.equal(got.view(torch.uint8), expected.view(torch.uint8))):
                raise SystemExit(f"{pt_path}: tensor {name} differs from {st_path}")
            tensors += 1
            data_bytes += expected.numel() * expected.element_size()
    del reread
    with open(st_path, "rb") as f:
        header_bytes = 8 + int.from_bytes(f.read(8), "little")
    stamp = {
        "version": STAMP_VERSION,
        "size_gib": size_gib,
        "preset": "llama",
        "dtype": "bfloat16",
        "tensors": tensors,
        "data_bytes": data_bytes,
        "safetensors": str(st_path.resolve()),
        "safetensors_file_bytes": st_path.stat().st_size,
        "safetensors_data_offset": header_bytes,
        "pt": str(pt_path.resolve()),
        "pt_file_bytes": pt_path.stat().st_size,
        "generate_seconds": round(time.perf_counter() - start, 2),
    }
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")
    return stamp


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, required=True, help="1, 4, 8 or 16 (any positive size works)")
    parser.add_argument("--stload", required=True, help="path of the stload CLI")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--force", action="store_true", help="rewrite even when current")
    args = parser.parse_args()
    print(json.dumps(generate(args.size_gib, args.stload, args.out_dir, args.force), indent=1))


if __name__ == "__main__":
    main()
