#!/usr/bin/env python3
"""Cross-checks `stload inspect --json` and `stload validate` against the reference implementation.

Files are written by the reference `safetensors` package (its numpy writer, and its raw
`serialize_file` for the dtypes numpy lacks), then read by both sides:
  - the reference: `safe_open` (names, dtypes, shapes, metadata) and the header read by hand
    (8-byte little-endian length n, then n bytes of JSON) for data_offsets; the absolute offset of a
    tensor is 8 + n + begin;
  - stload: `stload inspect --json PATH`.
Names, dtypes, shapes, absolute offsets, sizes, metadata and the order by offset must agree, and the
bytes at stload's offsets must be the array the test wrote. Then corrupted copies are given to both
`safetensors.deserialize` and `stload validate`: they must agree on accept or reject.

Exit status: 0 all agree, 1 a disagreement, 77 (ctest SKIP_RETURN_CODE) when the reference package
cannot be had.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

SKIP = 77
PACKAGES = ["safetensors", "numpy"]


# --- getting the reference -----------------------------------------------------------------------


def _importable():
    try:
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
        import safetensors.numpy  # noqa: F401
    except ImportError:
        return False
    return True


def ensure_reference(deps_dir):
    """Imports safetensors and numpy, pip-installing them when missing. False when impossible."""
    if os.path.isdir(deps_dir):
        sys.path.insert(0, deps_dir)
    if _importable():
        return True
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    attempts = [
        pip + PACKAGES,
        # An externally managed interpreter (PEP 668) refuses the first; a private target does not.
        pip + ["--target", deps_dir] + PACKAGES,
    ]
    for command in attempts:
        print("crosscheck: installing the reference: " + " ".join(command), flush=True)
        if subprocess.run(command).returncode == 0:
            if os.path.isdir(deps_dir) and deps_dir not in sys.path:
                sys.path.insert(0, deps_dir)
            import importlib

            importlib.invalidate_caches()
            if _importable():
                return True
    return False


# --- writing files with the reference ------------------------------------------------------------

# Header dtype -> (the reference's TensorSpec dtype name (safetensors >= 0.7), bits per element of
# the shape passed to it), for dtypes numpy lacks. F4 is given as packed pairs: the reference
# doubles the last dimension in the header.
RAW_DTYPES = {
    "F4": ("float4_e2m1fn_x2", 8),
    "BF16": ("bfloat16", 16),
    "F8_E5M2": ("float8_e5m2", 8),
    "F8_E4M3": ("float8_e4m3fn", 8),
    "F8_E8M0": ("float8_e8m0fnu", 8),
    "F8_E4M3FNUZ": ("float8_e4m3fnuz", 8),
    "F8_E5M2FNUZ": ("float8_e5m2fnuz", 8),
}


class Case:
    """One checkpoint: its path for stload, and what the test wrote into each file."""

    def __init__(self, name, path, files):
        self.name = name
        self.path = path  # what stload opens: a file, or an index.json
        self.files = files  # {absolute file path: {tensor name: expected bytes or None}}


def write_numpy(path, tensors, metadata=None):
    import numpy as np
    from safetensors.numpy import save_file

    save_file(tensors, path, metadata=metadata)
    # numpy's native order is little-endian on every machine stload targets, as the format's.
    return {name: np.ascontiguousarray(a).tobytes() for name, a in tensors.items()}


def write_raw(path, tensors, metadata=None):
    """tensors: {name: (header dtype, shape, bytes)} through the reference's raw serializer."""
    import numpy as np
    import safetensors

    if hasattr(safetensors, "TensorSpec"):
        keep = []  # the buffers must outlive serialize_file
        specs = {}
        for name, (dtype, shape, data) in tensors.items():
            buf = np.frombuffer(bytearray(data), dtype=np.uint8)
            keep.append(buf)
            specs[name] = safetensors.TensorSpec(dtype=RAW_DTYPES[dtype][0], shape=list(shape),
                                                 data_ptr=buf.ctypes.data, data_len=len(data))
        safetensors.serialize_file(specs, path, metadata=metadata)
    else:  # older API: plain dicts with header dtype names
        safetensors.serialize_file(
            {n: {"dtype": d, "shape": list(s), "data": bytes(b)} for n, (d, s, b) in tensors.items()},
            path, metadata=metadata)
    return {name: data for name, (_, _, data) in tensors.items()}


def build_cases(root):
    import numpy as np

    rng = np.random.default_rng(20240601)
    cases = []

    def single(name, tensors, metadata=None):
        path = os.path.join(root, name + ".safetensors")
        cases.append(Case(name, path, {path: write_numpy(path, tensors, metadata)}))

    numpy_dtypes = [np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.float16, np.int32,
                    np.uint32, np.float32, np.float64, np.int64, np.uint64, np.complex64]
    every = {}
    for i, dt in enumerate(numpy_dtypes):
        shape = (3, i + 1)
        if dt is np.bool_:
            every["t_bool"] = rng.integers(0, 2, size=shape).astype(np.bool_)
        elif np.issubdtype(dt, np.integer):
            info = np.iinfo(dt)
            every["t_" + np.dtype(dt).name] = rng.integers(info.min, info.max, size=shape, dtype=dt,
                                                           endpoint=True)
        elif dt is np.complex64:
            every["t_complex64"] = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
        else:
            every["t_" + np.dtype(dt).name] = rng.standard_normal(shape).astype(dt)
    single("every_numpy_dtype", every)

    single("scalars", {"f": np.array(1.5, np.float32), "i": np.array(-7, np.int64),
                       "b": np.array(True), "h": np.array(2.0, np.float16)})
    single("empty_tensors", {"zero": np.zeros((0,), np.float32), "inner": np.zeros((3, 0, 2), np.int16),
                             "after": np.arange(5, dtype=np.uint8)})
    single("multi_dim", {"w4": rng.standard_normal((2, 3, 4, 5)).astype(np.float32),
                         "w5": np.arange(7, dtype=np.int32).reshape(1, 1, 1, 1, 7),
                         "odd": np.arange(3, dtype=np.uint8), "d": rng.standard_normal((5,))})
    single("many_tensors", {"layers.%d.%s" % (i, part): rng.standard_normal((i % 7 + 1, 3)).astype(
        np.float16 if i % 2 else np.float32) for i in range(200) for part in ("weight", "bias")})
    single("metadata", {"x": np.ones((2, 2), np.float32)},
           metadata={"format": "pt", "empty": "", "unicode": "ünïcødé ✓", "json": '{"a": [1, 2]}'})
    single("non_ascii_names", {"poids.été": np.ones(2, np.float32), "重み": np.ones(3, np.int8),
                               "emoji 🙂": np.ones(1, np.uint16), 'quote"back\\slash': np.ones(1, np.uint8),
                               "tab\tnew\nline": np.ones(1, np.int32), "": np.ones(1, np.uint8)})
    single("no_tensors", {})

    # dtypes numpy cannot hold, through the reference's raw serializer (each one it accepts).
    raw, refused = {}, []
    for dtype, (_, bits) in RAW_DTYPES.items():
        raw["r_" + dtype] = (dtype, (4, 6), rng.integers(0, 256, size=4 * 6 * bits // 8, dtype=np.uint8).tobytes())
    path = os.path.join(root, "raw_dtypes.safetensors")
    try:
        cases.append(Case("raw_dtypes", path, {path: write_raw(path, raw, {"writer": "serialize_file"})}))
    except Exception as e:  # an older reference lacks some dtypes: try one at a time
        for name, spec in raw.items():
            one = os.path.join(root, "raw_%s.safetensors" % spec[0])
            try:
                cases.append(Case("raw_" + spec[0], one, {one: write_raw(one, {name: spec})}))
            except Exception:
                refused.append(spec[0])
        print("crosscheck: note: reference refused the raw set (%s); per-dtype refusals: %s" % (e, refused))

    # A sharded checkpoint with an index, as transformers writes it.
    shard_dir = os.path.join(root, "sharded")
    os.makedirs(shard_dir, exist_ok=True)
    files, weight_map = {}, {}
    for k in range(3):
        fname = "model-%05d-of-00003.safetensors" % (k + 1)
        fpath = os.path.join(shard_dir, fname)
        tensors = {"model.layers.%d.%s" % (k, p): rng.standard_normal((4, 8)).astype(np.float16)
                   for p in ("q", "k", "v", "o")}
        files[os.path.realpath(fpath)] = write_numpy(fpath, tensors, {"format": "pt", "shard": str(k)})
        weight_map.update({name: fname for name in tensors})
    index = os.path.join(shard_dir, "model.safetensors.index.json")
    with open(index, "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
    cases.append(Case("sharded_index", index, files))
    return cases


# --- reading with the reference ------------------------------------------------------------------


def reference_view(path):
    """What the reference says about one file: {data_offset, size, metadata, tensors{name: ...}}."""
    from safetensors import safe_open

    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n).decode("utf-8"))
    header.pop("__metadata__", None)
    view = {"data_offset": 8 + n, "size": os.path.getsize(path), "tensors": {}}
    with safe_open(path, framework="np") as handle:
        view["metadata"] = handle.metadata() or {}
        keys = list(handle.keys())
        if sorted(keys) != sorted(header):
            raise AssertionError("%s: safe_open keys %s differ from the header's %s" % (path, keys, list(header)))
        for name in keys:
            entry = header[name]
            s = handle.get_slice(name)
            begin, end = entry["data_offsets"]
            view["tensors"][name] = {"dtype": s.get_dtype(), "shape": list(s.get_shape()),
                                     "begin": begin, "end": end}
    return view


# --- comparing -----------------------------------------------------------------------------------


def run_stload(stload, *args):
    return subprocess.run([stload] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def compare(case, stload):
    """Returns a list of disagreements (empty when stload and the reference agree)."""
    problems = []
    r = run_stload(stload, "inspect", "--json", case.path)
    if r.returncode != 0:
        return ["stload inspect exited %d: %s" % (r.returncode, r.stderr.decode(errors="replace"))]
    doc = json.loads(r.stdout.decode("utf-8"))

    stload_files = [os.path.realpath(f["path"]) for f in doc["files"]]
    if sorted(stload_files) != sorted(case.files):
        return ["files differ: stload %s, written %s" % (stload_files, sorted(case.files))]

    refs = {i: reference_view(p) for i, p in enumerate(stload_files)}
    expected_order = []
    total_bytes = 0
    for index, fpath in enumerate(stload_files):
        ref = refs[index]
        got = doc["files"][index]
        for key in ("data_offset", "size", "metadata"):
            if got[key] != ref[key]:
                problems.append("%s: %s: stload %r, reference %r" % (fpath, key, got[key], ref[key]))
        by_offset = sorted(ref["tensors"].items(), key=lambda kv: (kv[1]["begin"], kv[1]["end"], kv[0]))
        expected_order += [(index, name) for name, _ in by_offset]
        for name, t in ref["tensors"].items():
            total_bytes += t["end"] - t["begin"]

    actual_order = [(t["file"], t["name"]) for t in doc["tensors"]]
    if sorted(actual_order) != sorted(expected_order):
        problems.append("tensor names differ: stload %s, reference %s" % (actual_order, expected_order))
        return problems
    # Ties (empty tensors share an offset) may be ordered either way; compare offsets, not names.
    stload_files_data = {}
    for fpath in stload_files:
        with open(fpath, "rb") as f:
            stload_files_data[fpath] = f.read()
    previous = None
    for t in doc["tensors"]:
        fpath = stload_files[t["file"]]
        ref_file = refs[t["file"]]
        ref = ref_file["tensors"][t["name"]]
        where = "%s: tensor %r" % (os.path.basename(fpath), t["name"])
        expect = {"dtype": ref["dtype"], "shape": ref["shape"],
                  "offset": ref_file["data_offset"] + ref["begin"], "bytes": ref["end"] - ref["begin"],
                  "data_offsets": [ref["begin"], ref["end"]]}
        for key, value in expect.items():
            if t[key] != value:
                problems.append("%s: %s: stload %r, reference %r" % (where, key, t[key], value))
        key = (t["file"], t["offset"], t["offset"] + t["bytes"])
        if previous is not None and key < previous:
            problems.append("%s: listed out of (file, offset) order" % where)
        previous = key
        written = case.files[fpath].get(t["name"])
        data = stload_files_data[fpath][t["offset"]:t["offset"] + t["bytes"]]
        if written is not None and data != written:
            problems.append("%s: the bytes at stload's offset %d are not the tensor written" % (where, t["offset"]))

    totals = doc["totals"]
    if totals["tensors"] != len(expected_order) or totals["bytes"] != total_bytes:
        problems.append("totals: stload %r, reference %d tensors %d bytes" % (totals, len(expected_order), total_bytes))
    return problems


def mutations(data):
    """Corrupted copies of a valid file, each with a label."""
    n = struct.unpack("<Q", data[:8])[0]
    out = [
        ("truncated by one byte", data[:-1]),
        ("one trailing byte", data + b"\0"),
        ("only the length prefix", data[:8]),
        ("shorter than the prefix", data[:5]),
        ("length one too large", struct.pack("<Q", n + 1) + data[8:]),
        ("length past the end", struct.pack("<Q", len(data)) + data[8:]),
        ("length above 100 MB", struct.pack("<Q", 100_000_001) + data[8:]),
        ("header's closing brace removed", data[:8] + data[8:8 + n].rstrip(b" ")[:-1].ljust(n) + data[8 + n:]),
        ("invalid UTF-8 in header", data[:8] + b"\xff" + data[9:]),
    ]
    header = data[8:8 + n]
    if b'"data_offsets":[0,' in header:
        # Move the first tensor to start one byte late: a gap the format forbids.
        bad = header.replace(b'"data_offsets":[0,', b'"data_offsets":[1,', 1)
        out.append(("first tensor starts at 1", data[:8] + bad + data[8 + n:]))
    return out


def reference_accepts(data):
    import safetensors

    try:
        safetensors.deserialize(data)
    except Exception:
        return False
    return True


def check_verdicts(case, stload, scratch):
    problems = []
    for fpath in case.files:
        with open(fpath, "rb") as f:
            data = f.read()
        for label, bad in mutations(data):
            path = os.path.join(scratch, "mutated.safetensors")
            with open(path, "wb") as f:
                f.write(bad)
            ref_ok = reference_accepts(bad)
            r = run_stload(stload, "validate", path)
            if r.returncode not in (0, 1):
                problems.append("%s (%s): stload validate exited %d: %s" % (
                    os.path.basename(fpath), label, r.returncode, r.stderr.decode(errors="replace")))
            elif (r.returncode == 0) != ref_ok:
                problems.append("%s (%s): reference %s, stload %s: %s" % (
                    os.path.basename(fpath), label, "accepts" if ref_ok else "rejects",
                    "accepts" if r.returncode == 0 else "rejects", r.stderr.decode(errors="replace").strip()))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stload", required=True, help="path to the stload binary")
    parser.add_argument("--deps-dir", default=os.path.join(tempfile.gettempdir(), "stload-crosscheck-pydeps"),
                        help="where to pip-install the reference when the interpreter refuses a global install")
    args = parser.parse_args()

    if not ensure_reference(os.path.abspath(args.deps_dir)):
        print("*" * 78)
        print("SKIP: crosscheck needs the Python packages %s and could not install them" % " and ".join(PACKAGES))
        print("      (python3 -m pip install safetensors numpy) -- stload was NOT cross-checked")
        print("*" * 78)
        return SKIP

    import numpy
    import safetensors

    print("crosscheck: reference safetensors %s, numpy %s, python %s" % (
        safetensors.__version__, numpy.__version__, sys.version.split()[0]))
    root = tempfile.mkdtemp(prefix="stload-crosscheck-")
    passed = failed = 0
    try:
        cases = build_cases(root)
        scratch = os.path.join(root, "scratch")
        os.makedirs(scratch)
        for case in cases:
            for kind, check in (("inspect", compare), ("validate", lambda c, s: check_verdicts(c, s, scratch))):
                problems = check(case, args.stload)
                if problems:
                    failed += 1
                    print("FAIL %s [%s]" % (case.name, kind))
                    for p in problems:
                        print("     " + p)
                else:
                    passed += 1
                    print("ok   %s [%s]" % (case.name, kind))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
