#!/usr/bin/env python3
"""Writes the tiny torch.save fixtures of tests/unit/test_torch_fixtures.cpp and, beside each,
`<file>.expect`: one line per tensor as torch.load(weights_only=True) sees it,
`name DTYPE d0,d1,... hex-of-bytes`, so the C++ test cross-checks stload against torch on
machines without torch. Rerun only to change the fixtures (it needs torch): python3 make_fixtures.py
"""
import os
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

SAFETENSORS_NAME = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL", torch.complex64: "C64",
    torch.uint16: "U16", torch.uint32: "U32", torch.uint64: "U64",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
    torch.float8_e4m3fnuz: "F8_E4M3FNUZ", torch.float8_e5m2fnuz: "F8_E5M2FNUZ",
    torch.float8_e8m0fnu: "F8_E8M0",
}


def state_dict():
    g = torch.Generator().manual_seed(16)
    sd = {}
    for dtype in SAFETENSORS_NAME:
        raw = torch.randint(0, 2 if dtype == torch.bool else 256, (6,), dtype=torch.uint8, generator=g)
        size = torch.empty((), dtype=dtype).element_size()
        sd[f"all.{SAFETENSORS_NAME[dtype].lower()}"] = raw.repeat(size).view(dtype)[:6].reshape(2, 3).clone()
    base = torch.arange(20, dtype=torch.float32)
    sd["shared.whole"] = base
    sd["shared.view"] = base[5:11].view(2, 3)  # storage offset 5, same storage
    sd["param"] = torch.nn.Parameter(torch.ones(4, dtype=torch.bfloat16))
    sd["scalar"] = torch.tensor(3.5, dtype=torch.float64)
    sd["empty"] = torch.zeros(0, 4)
    return sd


def write(name, obj, key=None):
    path = os.path.join(HERE, name)
    torch.save(obj, path)
    loaded = torch.load(path, weights_only=True)
    if key is not None:
        loaded = loaded[key]
    with open(path + ".expect", "w") as out:
        for tname, t in sorted(loaded.items()):
            data = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
            dims = ",".join(str(d) for d in t.shape)
            out.write(f"{tname} {SAFETENSORS_NAME[t.dtype]} {dims or '-'} {data.hex() or '-'}\n")


def main():
    sd = state_dict()
    write("state_dict_dtypes.pt", sd)
    model = {"a.weight": torch.randn(3, 2, generator=torch.Generator().manual_seed(1)),
             "a.bias": torch.zeros(3, dtype=torch.float16)}
    optimizer = {"state": {0: {"exp_avg": torch.ones(2)}}, "param_groups": [{"lr": 0.1}]}
    write("nested_checkpoint.pth", {"state_dict": model, "epoch": 3, "optimizer": optimizer},
          "state_dict")
    torch.save({"w": torch.ones(2)}, os.path.join(HERE, "legacy_format.pt"),
               _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
