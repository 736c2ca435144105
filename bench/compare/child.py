#!/usr/bin/env python3
"""One load in a fresh process, for run.py: `child.py METHOD PATH DEVICE`.

Imports come first and are not timed. The timed region is the load call plus `materialise()`,
which reads one byte of every 4 KiB page of every tensor: loaders that hand back lazily mapped
tensors (safetensors on the CPU, torch.load(mmap=True)) pay here for the pages they have not read
yet, eager ones pay almost nothing. On a GPU the region ends with torch.cuda.synchronize().

Prints one JSON line prefixed with RESULT: seconds (load + materialise), load_seconds,
touch_seconds, tensors, bytes, the anonymous RSS just before the load (baseline) and device memory.
"""

import json
import sys
import time

PAGE = 4096


def rss_anon_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def load_torch(path, device):
    import torch
    return torch.load(path, map_location=device, weights_only=True)


def load_torch_mmap(path, device):
    import torch
    lazy = torch.load(path, mmap=True, weights_only=True)
    # copy=True: on the CPU .to("cpu") would hand back the mapped tensor itself, loading nothing.
    return {name: t.to(device, copy=True) for name, t in lazy.items()}


def load_safetensors(path, device):
    from safetensors.torch import load_file
    return load_file(path, device=device)


def load_fastsafetensors(path, device):
    from fastsafetensors import fastsafe_open
    with fastsafe_open(filenames=[path], nogds=True, device=device, debug_log=False) as f:
        # clone(): fastsafetensors' tensors live in its own buffer, freed when the file closes.
        return {key: f.get_tensor(key).clone().detach() for key in f.get_keys()}


def load_stload_python(path, device):
    import stload
    return stload.load_file(path, device=device)


METHODS = {
    "torch.load": load_torch,
    "torch.load-mmap": load_torch_mmap,
    "safetensors": load_safetensors,
    "fastsafetensors": load_fastsafetensors,
    "stload-python": load_stload_python,
}


def as_torch(value):
    import torch
    if isinstance(value, torch.Tensor):
        return value
    return torch.from_dlpack(value)


def materialise(state):
    """Reads a byte of every page of every tensor; returns (tensors, bytes, checksum)."""
    import torch
    tensors = 0
    total = 0
    checksum = 0
    for value in state.values():
        t = as_torch(value)
        n = t.numel() * t.element_size()
        tensors += 1
        total += n
        if n == 0:
            continue
        flat = t.reshape(-1).view(torch.uint8) if t.dim() else t.reshape(1).view(torch.uint8)
        checksum += int(flat[::PAGE].sum(dtype=torch.int64)) + int(flat[-1])
    return tensors, total, checksum


def main():
    method, path, device = sys.argv[1:4]
    import torch
    load = METHODS[method]
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.init()
        torch.cuda.synchronize()
        free_before, device_total = torch.cuda.mem_get_info()
    baseline = rss_anon_bytes()
    start = time.perf_counter()
    state = load(path, device)
    if cuda:
        torch.cuda.synchronize()
    loaded = time.perf_counter()
    tensors, total, checksum = materialise(state)
    if cuda:
        torch.cuda.synchronize()
    end = time.perf_counter()
    result = {
        "method": method,
        "seconds": end - start,
        "load_seconds": loaded - start,
        "touch_seconds": end - loaded,
        "tensors": tensors,
        "bytes": total,
        "checksum": checksum,
        "baseline_rss_anon_bytes": baseline,
        "after_rss_anon_bytes": rss_anon_bytes(),
    }
    if cuda:
        free_after, _ = torch.cuda.mem_get_info()
        result["device_used_bytes"] = free_before - free_after
        result["device_peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
        result["device_total_bytes"] = device_total
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
