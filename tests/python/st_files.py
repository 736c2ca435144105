"""safetensors files written byte by byte, so every dtype (even those no framework can save) is
covered and the expected bytes are known independently of any reader; and comparison helpers."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Dict, List, Tuple

# dtype -> bits per element, as the format defines them.
BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}

# Dtypes safetensors' own readers reject (no framework type for 6-bit floats).
NO_REFERENCE = {"F6_E2M3", "F6_E3M2"}

Tensor = Tuple[str, List[int], bytes]  # dtype, shape, raw bytes


def nbytes(dtype: str, shape: List[int]) -> int:
    elements = 1
    for dim in shape:
        elements *= dim
    return elements * BITS[dtype] // 8


def random_bytes(rng: random.Random, dtype: str, shape: List[int]) -> bytes:
    n = nbytes(dtype, shape)
    if dtype == "BOOL":
        return bytes(rng.randrange(2) for _ in range(n))
    if dtype in ("F16", "BF16", "F32", "F64", "C64"):
        # Finite values only, so value comparisons mean what they say (NaN != NaN).
        fmt = {"F16": "e", "BF16": None, "F32": "f", "F64": "d", "C64": "f"}[dtype]
        count = n // (BITS[dtype] // 8) * (2 if dtype == "C64" else 1)
        values = [rng.uniform(-4, 4) for _ in range(count)]
        if dtype == "BF16":
            return b"".join(struct.pack("<f", v)[2:] for v in values)
        return struct.pack("<%d%s" % (count, fmt), *values)
    return rng.randbytes(n)


def write_safetensors(path: Path, tensors: Dict[str, Tensor], metadata=None) -> None:
    """Writes tensors in the given order, contiguous, header padded to 8 bytes as the reference
    writer does."""
    header: dict = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, (dtype, shape, raw) in tensors.items():
        assert len(raw) == nbytes(dtype, shape), name
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, raw in tensors.values():
            f.write(raw)


def every_dtype(seed: int = 0) -> Dict[str, Tensor]:
    """One tensor of each of the 22 dtypes, plus scalars, empties and an odd-width F4."""
    rng = random.Random(seed)
    shapes = {"F4": [3, 4], "F6_E2M3": [4], "F6_E3M2": [2, 4]}
    tensors: Dict[str, Tensor] = {}
    for dtype in BITS:
        shape = shapes.get(dtype, [3, 5])
        tensors[f"t.{dtype.lower()}"] = (dtype, shape, random_bytes(rng, dtype, shape))
    tensors["scalar.f32"] = ("F32", [], random_bytes(rng, "F32", []))
    tensors["scalar.bf16"] = ("BF16", [], random_bytes(rng, "BF16", []))
    tensors["empty.f16"] = ("F16", [0, 4], b"")
    tensors["empty.bf16"] = ("BF16", [2, 0], b"")
    tensors["f4.odd_last"] = ("F4", [4, 3], random_bytes(rng, "F4", [4, 3]))
    return tensors


def model_like(layers: int = 3, seed: int = 1) -> Dict[str, Tensor]:
    """A small Llama-shaped state dict in BF16/F32."""
    rng = random.Random(seed)
    tensors: Dict[str, Tensor] = {
        "model.embed_tokens.weight": ("BF16", [32, 16], random_bytes(rng, "BF16", [32, 16]))
    }
    for i in range(layers):
        for part, shape in (("self_attn.q_proj.weight", [16, 16]), ("mlp.up_proj.weight", [24, 16]),
                            ("input_layernorm.weight", [16])):
            dtype = "F32" if "norm" in part else "BF16"
            tensors[f"model.layers.{i}.{part}"] = (dtype, shape, random_bytes(rng, dtype, shape))
    tensors["lm_head.weight"] = ("BF16", [32, 16], random_bytes(rng, "BF16", [32, 16]))
    return tensors



def torch_bytes(tensor) -> bytes:
    """A torch tensor's raw bytes, whatever its dtype (bf16, float8, float4 included)."""
    import torch

    tensor = tensor.detach().to("cpu").contiguous()
    if tensor.dim() == 0:
        tensor = tensor.reshape(1)
    return tensor.view(torch.uint8).reshape(-1).numpy().tobytes()


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
