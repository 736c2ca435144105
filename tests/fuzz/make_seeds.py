#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into corpus/<target>/.

parse_header and load take one .safetensors file; checkpoint_index takes an index.json and up to
two shards joined by SPLIT (the separator fuzz_checkpoint_index.cpp cuts at); pickle takes a
data.pkl, zip_directory a whole torch.save archive (seeded from tests/data/pt).

Seeds are small on purpose (libFuzzer mutates small inputs best): each valid file has a handful of
tiny tensors, and each invalid one breaks exactly one rule of the format so the fuzzer starts next
to every error path. Standard library only; the output is deterministic, so re-running it leaves
the committed corpus unchanged. Inputs found by fuzzing are kept: fuzz-<sha1> (new coverage edges,
merged in with `-merge=1 -use_counters=0`) and crash-* / regress-* (findings).

Usage: python3 tests/fuzz/make_seeds.py [CORPUS_DIR]   (default: tests/fuzz/corpus)
"""

import json
import pathlib
import struct
import sys

# name -> bits per element (format rule 7)
DTYPE_BITS = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}


def nbytes(dtype, shape):
    count = 1
    for dim in shape:
        count *= dim
    return count * DTYPE_BITS[dtype] // 8


def raw(header_text, data=b"", length=None):
    """8-byte little-endian length (or a lying one), the header bytes as given, then the data."""
    header = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def valid(tensors, metadata=None, pad=True):
    """A valid file: tensors = [(name, dtype, shape)], laid out in order, data bytes patterned."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape in tensors:
        size = nbytes(dtype, shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":"))
    if pad:
        text += " " * (-(8 + len(text)) % 8)
    return raw(text, bytes(i % 251 for i in range(offset)))


def tensor(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def header_only(obj, data_size=0):
    return raw(json.dumps(obj, separators=(",", ":")), bytes(data_size))


def seeds():
    s = {}
    # --- valid files -----------------------------------------------------------------------
    s["valid_empty_object"] = raw("{}")
    s["valid_empty_padded"] = raw("{}      ")
    s["valid_leading_whitespace"] = raw(" \t\r\n{}")
    s["valid_metadata_only"] = valid([], {"format": "pt"})
    s["valid_metadata_null"] = raw('{"__metadata__":null}')
    s["valid_two_tensors"] = valid([("a", "F32", [2, 2]), ("b", "BF16", [3])], {"format": "pt"})
    s["valid_scalar"] = valid([("s", "F64", [])])
    s["valid_empty_tensor"] = valid([("e", "F32", [0, 4])])
    s["valid_empty_then_data"] = valid([("e", "I32", [0]), ("x", "I32", [1])])
    s["valid_f4_even"] = valid([("q", "F4", [2, 3])])
    s["valid_f6_four"] = valid([("q", "F6_E2M3", [4]), ("r", "F6_E3M2", [4])])
    s["valid_unpadded"] = valid([("x", "U8", [3])], pad=False)
    s["valid_unicode_name"] = valid([("模型.权重\u00e9", "F16", [1])], {"k\u00fc": "v\u2603"})
    s["valid_escaped_name"] = raw(
        '{"a\\"b\\\\c\\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\0")
    s["valid_unknown_field"] = header_only(
        {"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1], "extra": [1, {"z": None}]}}, 1)
    s["valid_json_order_differs"] = raw(
        '{"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},'
        '"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', bytes(4))
    s["valid_realistic_names"] = valid([
        ("model.embed_tokens.weight", "BF16", [4, 2]),
        ("model.layers.0.self_attn.q_proj.weight", "BF16", [2, 2]),
        ("model.layers.0.mlp.down_proj.weight", "BF16", [2, 2]),
        ("model.norm.weight", "F32", [2]),
    ], {"format": "pt"})
    for group in (["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3"],
                  ["F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16"],
                  ["F16", "BF16", "I32", "U32", "F32"],
                  ["C64", "F64", "I64", "U64"]):
        s["valid_dtypes_" + "_".join(d.lower() for d in group[:2])] = valid(
            [(f"t{i}", d, [2]) for i, d in enumerate(group)])

    # --- rules 1-2: the length prefix --------------------------------------------------------
    s["bad_too_small"] = b"\x02\0\0\0\0\0"
    s["bad_too_large"] = struct.pack("<Q", 100_000_001) + b"{}"
    s["bad_length_past_end"] = raw("{}", length=64)
    s["bad_length_overflow"] = raw("{}", length=2**64 - 1)
    s["bad_length_zero"] = raw("", b"{}")

    # --- rule 3: UTF-8 and JSON ----------------------------------------------------------------
    s["bad_utf8"] = raw(b'{"\xff":{}}')
    s["bad_utf8_overlong"] = raw(b'{"\xc0\xaf":1}')
    s["bad_utf8_surrogate"] = raw(b'{"\xed\xa0\x80":1}')
    s["bad_not_object"] = raw("[]")
    s["bad_not_json"] = raw("{\"a\":")
    s["bad_trailing_chars"] = raw("{} x")
    s["bad_nested_deep"] = header_only(
        {"t": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1],
               "x": json.loads("[" * 130 + "]" * 130)}}, 1)
    s["bad_duplicate_tensor"] = raw(
        '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        '"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2))
    s["bad_duplicate_field"] = raw('{"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
                                   b"\0")
    s["bad_duplicate_metadata_key"] = raw('{"__metadata__":{"k":"a","k":"b"}}')
    s["bad_unknown_dtype"] = header_only({"a": tensor("F128", [1], 0, 16)}, 16)

    # --- rule 4: schema ------------------------------------------------------------------------
    s["bad_metadata_not_string"] = header_only({"__metadata__": {"k": 1}})
    s["bad_metadata_array"] = header_only({"__metadata__": ["k"]})
    s["bad_tensor_not_object"] = header_only({"a": [1]})
    s["bad_missing_shape"] = header_only({"a": {"dtype": "U8", "data_offsets": [0, 1]}}, 1)
    s["bad_negative_dim"] = header_only({"a": tensor("U8", [-1], 0, 1)}, 1)
    s["bad_float_dim"] = header_only({"a": tensor("U8", [1.5], 0, 1)}, 1)
    s["bad_three_offsets"] = raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', b"\0")
    s["bad_one_offset"] = raw('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}}', b"\0")

    # --- rules 5-6: offsets and sizes ------------------------------------------------------------
    s["bad_gap"] = header_only({"a": tensor("U8", [1], 0, 1), "b": tensor("U8", [1], 2, 3)}, 3)
    s["bad_overlap"] = header_only({"a": tensor("U8", [2], 0, 2), "b": tensor("U8", [2], 1, 3)}, 3)
    s["bad_backwards"] = header_only({"a": tensor("U8", [0], 0, 0), "b": tensor("U8", [1], 1, 0)}, 1)
    s["bad_not_from_zero"] = header_only({"a": tensor("U8", [1], 1, 2)}, 2)
    s["bad_elements_overflow"] = header_only({"a": tensor("U8", [2**32, 2**32], 0, 1)}, 1)
    s["bad_bits_overflow"] = header_only({"a": tensor("U64", [2**62], 0, 1)}, 1)
    s["bad_u64_max_offset"] = header_only({"a": tensor("U8", [1], 0, 2**64 - 1)}, 1)
    s["bad_misaligned_f4"] = header_only({"a": tensor("F4", [3], 0, 1)}, 1)
    s["bad_size_mismatch"] = header_only({"a": tensor("F32", [2], 0, 4)}, 4)
    s["bad_trailing_data"] = header_only({"a": tensor("U8", [1], 0, 1)}, 2)
    s["bad_truncated_data"] = header_only({"a": tensor("U8", [4], 0, 4)}, 3)
    return s


SPLIT = b"\0SPLIT\0"


def index(weight_map, metadata=None):
    obj = {"weight_map": weight_map}
    if metadata is not None:
        obj["metadata"] = metadata
    return json.dumps(obj, separators=(",", ":")).encode()


def sharded(index_bytes, *shards):
    return SPLIT.join((index_bytes,) + shards)


def checkpoint_index_seeds():
    a = valid([("x", "F32", [2]), ("y", "U8", [3])], {"format": "pt"})
    b = valid([("z", "BF16", [2, 2])])
    both = {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}
    s = {}
    s["valid_two_shards"] = sharded(index(both, {"total_size": 27}), a, b)
    s["valid_one_shard"] = sharded(index({"x": "a.safetensors", "y": "a.safetensors"}), a)
    s["valid_dot_slash_name"] = sharded(index({"z": "./b.safetensors"}), b"", b)
    s["valid_empty_shard_unlisted"] = sharded(index({"z": "b.safetensors"}), raw("{}"), b)
    s["bad_wrong_shard"] = sharded(index({"x": "b.safetensors", "y": "a.safetensors",
                                          "z": "b.safetensors"}), a, b)
    s["bad_not_in_any_shard"] = sharded(index(dict(both, w="a.safetensors")), a, b)
    s["bad_unlisted_tensor"] = sharded(index({"x": "a.safetensors", "z": "b.safetensors"}), a, b)
    s["bad_in_both_shards"] = sharded(index({"x": "a.safetensors", "y": "a.safetensors"}), a, a)
    s["bad_missing_shard_file"] = sharded(index(both), a)
    s["bad_parent_dir"] = sharded(index({"x": "../a.safetensors"}), a)
    s["bad_absolute"] = sharded(index({"x": "/a.safetensors"}), a)
    s["bad_directory_shard"] = sharded(index({"x": "."}), a)
    s["bad_index_as_shard"] = sharded(index({"x": "model.safetensors.index.json"}), a)
    s["bad_same_file_twice"] = sharded(index({"x": "a.safetensors", "y": "./a.safetensors"}), a)
    s["bad_empty_name"] = sharded(index({"x": ""}), a)
    s["bad_entry_not_string"] = sharded(b'{"weight_map":{"x":1}}', a)
    s["bad_duplicate_entry"] = sharded(b'{"weight_map":{"x":"a.safetensors","x":"a.safetensors"}}', a)
    s["bad_weight_map_empty"] = sharded(index({}), a)
    s["bad_weight_map_array"] = sharded(b'{"weight_map":["a.safetensors"]}', a)
    s["bad_no_weight_map"] = sharded(b'{"metadata":{}}', a)
    s["bad_index_not_json"] = sharded(b'{"weight_map":{', a)
    s["bad_index_trailing"] = sharded(index(both) + b" x", a, b)
    s["bad_index_utf8"] = sharded(b'{"weight_map":{"\xff":"a.safetensors"}}', a)
    s["bad_shard_header"] = sharded(index({"x": "a.safetensors"}), raw("{}", length=64))
    s["bad_shard_truncated"] = sharded(index(both), a[:-1], b)
    return s


def load_seeds():
    """Files that take several chunks (1 KiB) and wrap the staging ring (4 KiB) of fuzz_load."""
    s = {name: data for name, data in seeds().items() if name.startswith("valid_")}
    s["valid_multi_chunk"] = valid([("big", "U8", [3000])])
    s["valid_ring_wraps"] = valid([("a", "F32", [700]), ("b", "BF16", [900]), ("c", "U8", [1])])
    s["valid_chunk_boundaries"] = valid([("a", "U8", [1024]), ("e", "F32", [0]), ("b", "U8", [1023]),
                                         ("c", "U8", [1025])])
    s["valid_many_small"] = valid([(f"t{i}", "U8", [i % 5]) for i in range(40)])
    s["bad_truncated_multi_chunk"] = valid([("big", "U8", [3000])])[:-1]
    return s


PT_FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "data" / "pt"


class _Reduce:
    """An object whose pickle calls `func(*args)`: pickle.dumps only writes it, never calls it."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def pickle_seeds():
    """data.pkl of the torch.save fixtures, plain state-dict-like pickles of every protocol, and
    the attacks the reader refuses (written by pickle.dumps, which calls nothing)."""
    import collections
    import os
    import pickle
    import subprocess
    import zipfile

    out = {}
    for fixture in ("state_dict_dtypes.pt", "nested_checkpoint.pth"):
        with zipfile.ZipFile(PT_FIXTURES / fixture) as z:
            name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            out["torch_" + fixture.split(".")[0]] = z.read(name)
    plain = {"epoch": 3, "lr": 0.5, "name": "run", "flags": [True, False, None],
             "shape": (1, 2, 3), "blob": b"\x00\xff", "big": 1 << 40, "neg": -7,
             "nested": collections.OrderedDict(a={"b": [1, 2]})}
    for proto in (2, 3, 4, 5):
        out[f"plain_protocol_{proto}"] = pickle.dumps(plain, protocol=proto)
    shared = [1, 2]
    out["memo_shared"] = pickle.dumps({"a": shared, "b": shared}, protocol=2)
    cycle = []
    cycle.append(cycle)
    out["memo_cycle"] = pickle.dumps(cycle, protocol=2)
    out["attack_os_system"] = pickle.dumps(_Reduce(os.system, ("true",)), protocol=2)
    out["attack_eval_p4"] = pickle.dumps(_Reduce(eval, ("1",)), protocol=4)
    out["attack_popen"] = pickle.dumps(_Reduce(subprocess.Popen, (["true"],)), protocol=2)
    out["attack_newobj"] = pickle.dumps(collections.Counter(a=1), protocol=2)
    return out


def zip_seeds():
    """torch.save archives (the fixtures), and small archives from zipfile: stored, deflated,
    zip64-forced, without data.pkl."""
    import io
    import zipfile

    out = {}
    for fixture in ("state_dict_dtypes.pt", "nested_checkpoint.pth", "legacy_format.pt"):
        out["torch_" + fixture.split(".")[0]] = (PT_FIXTURES / fixture).read_bytes()

    def archive(entries, compression=zipfile.ZIP_STORED, zip64=False):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression) as z:
            for name, data in entries:
                with z.open(name, "w", force_zip64=zip64) as f:
                    f.write(data)
        return buffer.getvalue()

    with zipfile.ZipFile(PT_FIXTURES / "nested_checkpoint.pth") as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    out["zipfile_stored"] = archive(members)
    out["zipfile_deflated"] = archive(members, zipfile.ZIP_DEFLATED)
    out["zipfile_zip64"] = archive(members, zip64=True)
    out["zipfile_no_data_pkl"] = archive([("archive/readme", b"hello")])
    return out


def write_corpus(out, generated, max_seed):
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*"):  # keep fuzzing regressions, drop seeds this script no longer makes
        if stale.is_file() and not stale.name.startswith(("fuzz-", "crash-", "regress-")) \
                and stale.name not in generated:
            stale.unlink()
    for name, data in sorted(generated.items()):
        assert len(data) < max_seed, f"{name}: {len(data)} bytes, seeds must stay under {max_seed}"
        (out / name).write_bytes(data)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    assert total < 200 * 1024, f"{out} is {total} bytes, keep it under 200 KiB"
    print(f"wrote {len(generated)} seeds to {out} ({total} bytes in the directory)")


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                        pathlib.Path(__file__).resolve().parent / "corpus")
    write_corpus(root / "parse_header", seeds(), 4096)
    write_corpus(root / "checkpoint_index", checkpoint_index_seeds(), 4096)
    write_corpus(root / "load", load_seeds(), 8192)
    write_corpus(root / "pickle", pickle_seeds(), 8192)
    write_corpus(root / "zip_directory", zip_seeds(), 16384)


if __name__ == "__main__":
    main()
