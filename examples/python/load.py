#!/usr/bin/env python3
"""Loads a safetensors checkpoint with stload, the ways an inference server would.

    python examples/python/load.py model.safetensors [--device cuda:0] [--only model.layers.0]

Make a checkpoint to try it on with `stload generate --preset tiny-llama --out tiny.safetensors`.
"""

import argparse
import time

import stload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help=".safetensors file, shard directory or *.index.json")
    parser.add_argument("--device", default="cpu", help='"cpu", "cuda:0", "auto"')
    parser.add_argument("--only", nargs="*", help="tensor names or module prefixes to load")
    args = parser.parse_args()

    try:
        import torch  # noqa: F401 - imported here so its import time stays out of the timing
    except ImportError:
        pass  # stload hands over numpy arrays instead

    # 1. Everything at once: a dict like safetensors.torch.load_file's, without its copies.
    start = time.perf_counter()
    try:
        tensors = stload.load_file(args.checkpoint, device=args.device, only=args.only)
    except stload.StloadError as error:  # carries the C++ error code, e.g. "InvalidOffset"
        raise SystemExit(f"cannot load {args.checkpoint}: {error} (code {error.code})")
    seconds = time.perf_counter() - start
    total = sum(t.nbytes for t in tensors.values())
    print(f"load_file: {len(tensors)} tensors, {total / 2**20:.1f} MiB in {seconds:.3f} s")
    for name, tensor in list(tensors.items())[:3]:
        print(f"  {name}: {tuple(tensor.shape)} {tensor.dtype}")
    del tensors  # the memory goes with the last tensor

    # 2. Streaming, as a vLLM / SGLang weight loader consumes a checkpoint.
    count = sum(1 for _name, _tensor in stload.iter_tensors(args.checkpoint, device=args.device,
                                                              only=args.only))
    print(f"iter_tensors: {count} tensors")

    # 3. Lazily, tensor by tensor or slice by slice (tensor parallelism).
    with stload.safe_open(args.checkpoint, device=args.device) as f:
        name = f.keys()[0]
        piece = f.get_slice(name)
        rows = piece.get_shape()[0] if piece.get_shape() else 0
        half = piece[: rows // 2] if rows else piece[...]
        print(f"safe_open: {name} {piece.get_dtype()} {piece.get_shape()} -> "
              f"first half {tuple(half.shape)}; metadata {f.metadata()}")


if __name__ == "__main__":
    main()
