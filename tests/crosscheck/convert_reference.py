#!/usr/bin/env python3
"""Cross-checks stload's dtype conversion against numpy and ml_dtypes.

Every 8- and 16-bit input pattern of each source (F16, BF16, F8_E4M3, F8_E5M2) is converted by
stload (the stload_convert_table tool, i.e. cpu/convert_elements.cpp over convert/float_bits.hpp)
and by numpy / ml_dtypes `astype`, to every target the loader offers; 32- and 64-bit sources get
every pattern of their top bits with the dropped bits at and around the rounding boundaries, plus
random patterns. Results must be bit-equal, except that NaN payloads are not compared (numpy and
ml_dtypes disagree with each other there): a NaN must stay a NaN.

Exit status: 0 all agree, 1 a disagreement, 77 (ctest SKIP_RETURN_CODE) when numpy or ml_dtypes
cannot be imported or installed.
"""

import argparse
import subprocess
import sys

SKIP = 77
PACKAGES = ["numpy", "ml_dtypes"]


def ensure_packages(deps_dir):
    """Imports numpy and ml_dtypes, pip-installing them into deps_dir when missing."""
    try:
        import ml_dtypes  # noqa: F401
        import numpy  # noqa: F401
        return True
    except ImportError:
        pass
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--target", deps_dir] + PACKAGES
    if subprocess.run(pip, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        return False
    sys.path.insert(0, deps_dir)
    try:
        import ml_dtypes  # noqa: F401,F811
        import numpy  # noqa: F401,F811
        return True
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True, help="the stload_convert_table executable")
    parser.add_argument("--deps-dir", required=True)
    args = parser.parse_args()
    if not ensure_packages(args.deps_dir):
        print("numpy or ml_dtypes unavailable: skipped")
        return SKIP
    import ml_dtypes
    import numpy as np

    dtypes = {
        "F64": np.dtype(np.float64), "F32": np.dtype(np.float32), "F16": np.dtype(np.float16),
        "BF16": np.dtype(ml_dtypes.bfloat16), "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
        "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    }
    uint_of = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

    def inputs(name):
        size = dtypes[name].itemsize
        if size <= 2:
            return np.arange(1 << (8 * size), dtype=np.uint64).astype(uint_of[size])
        rng = np.random.default_rng(20261203)
        mantissa = 23 if size == 4 else 52
        # Every pattern of the top 16 bits, the low bits at the F16 and BF16 rounding boundaries.
        top = np.arange(1 << 16, dtype=np.uint64) << np.uint64(8 * size - 16)
        lows = []
        for dropped in sorted({mantissa - 10, mantissa - 7, 29} & set(range(1, mantissa + 1))):
            half = 1 << (dropped - 1)
            lows += [0, 1, half - 1, half, half + 1, (1 << dropped) - 1]
        patterns = (top[:, None] | np.array(sorted(set(lows)), dtype=np.uint64)[None, :]).ravel()
        rand = rng.integers(0, 1 << 63, size=1 << 20, dtype=np.uint64) * np.uint64(2) + \
            rng.integers(0, 2, size=1 << 20, dtype=np.uint64)
        if size == 4:
            rand &= np.uint64(0xFFFFFFFF)
        return np.concatenate([patterns, rand]).astype(uint_of[size])

    pairs = [(a, b) for a in ("F64", "F32", "F16", "BF16") for b in ("F64", "F32", "F16", "BF16")
             if a != b]
    pairs += [(a, b) for a in ("F8_E4M3", "F8_E5M2") for b in ("F32", "F16", "BF16")]
    disagreements = 0
    for source, target in pairs:
        bits = inputs(source)
        done = subprocess.run([args.tool, source, target], input=bits.tobytes(),
                              stdout=subprocess.PIPE, check=True)
        got = np.frombuffer(done.stdout, dtype=uint_of[dtypes[target].itemsize])
        values = bits.view(dtypes[source])
        with np.errstate(over="ignore", invalid="ignore"):
            want_values = values.astype(dtypes[target])
            got_nan = np.isnan(got.view(dtypes[target]).astype(np.float64))
            want_nan = np.isnan(want_values.astype(np.float64))
        want = want_values.view(uint_of[dtypes[target].itemsize])
        bad = (got != want) & ~(got_nan & want_nan)
        bad |= got_nan != want_nan
        count = int(bad.sum())
        status = "ok" if count == 0 else f"{count} disagree"
        print(f"{source:8} -> {target:5}: {len(bits):8} inputs, {status}")
        for i in np.flatnonzero(bad)[:5]:
            print(f"    input {int(bits[i]):#x}: stload {int(got[i]):#x}, reference {int(want[i]):#x}")
        disagreements += count
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
