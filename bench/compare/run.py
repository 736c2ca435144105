#!/usr/bin/env python3
"""Compare runner: stload against torch.load, safetensors and fastsafetensors, with the ceiling.

One command from the repository root (bench/README.md explains every figure):

    python3 bench/compare/run.py --sizes 1,4

It pip-installs what is missing (torch, safetensors, matplotlib; fastsafetensors only with a GPU),
configures and builds `stload` and the ceiling programs with CMake into build/bench-compare,
generates the inputs (gen.py) under build/bench-data, then for every size, page-cache state
(warm, cold) and repetition runs every method in its own fresh process, sampling the child's
RssAnon every 2 ms. Repetitions interleave the methods (the order rotates) so drift on a shared
machine spreads over all of them. Writes bench/results/<machine>-<date>.json (every run, raw),
then report.py turns it into bench/RESULTS.md, a PNG chart and the README's latest table.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import gen  # noqa: E402


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Setup: packages, build, environment


def have(module):
    try:
        __import__(module)
        return True
    except Exception:  # a broken install counts as missing
        return False


def pip_install(packages):
    log("pip install", *packages)
    return subprocess.run([sys.executable, "-m", "pip", "install", "-q", *packages]).returncode == 0


def ensure_packages(gpu):
    """Returns {package: None or why it is unavailable} for the optional ones."""
    needed = [p for p, m in (("torch", "torch"), ("safetensors", "safetensors"), ("numpy", "numpy"),
                             ("matplotlib", "matplotlib")) if not have(m)]
    if needed and not pip_install(needed):
        raise SystemExit(f"could not install {needed}; install them and run again")
    notes = {}
    if not gpu:
        notes["fastsafetensors"] = "needs a CUDA GPU; none here"
    elif not have("fastsafetensors") and not pip_install(["fastsafetensors"]):
        notes["fastsafetensors"] = "pip install fastsafetensors failed (no registry on this machine?)"
    elif not have("fastsafetensors"):
        notes["fastsafetensors"] = "installed but does not import"
    return notes


def gpu_present():
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def build(build_dir, cuda, jobs):
    build_dir = Path(build_dir)
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    launcher = []
    if shutil.which("ccache"):
        launcher = ["-DCMAKE_CXX_COMPILER_LAUNCHER=ccache", "-DCMAKE_C_COMPILER_LAUNCHER=ccache"]
    if not (build_dir / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "-S", str(REPO), "-B", str(build_dir), *generator, *launcher,
                        "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DSTLOAD_BUILD_TESTS=OFF",
                        "-DSTLOAD_WERROR=OFF",  # a newer compiler's new warning must not stop a benchmark
                        f"-DSTLOAD_CUDA={'ON' if cuda else 'OFF'}"], check=True, stdout=sys.stderr)
    targets = ["stload_cli", "stload_ceiling"] + (["stload_ceiling_gpu"] if cuda else [])
    subprocess.run(["cmake", "--build", str(build_dir), "-j", str(jobs), "--target", *targets],
                   check=True, stdout=sys.stderr)
    cache = (build_dir / "CMakeCache.txt").read_text()
    return {
        "stload": build_dir / "apps" / "stload",
        "ceiling": build_dir / "bench" / "stload_ceiling",
        "ceiling_gpu": build_dir / "bench" / "stload_ceiling_gpu",
        "cuda_built": "STLOAD_CUDA:BOOL=ON" in cache and (build_dir / "bench" / "stload_ceiling_gpu").exists(),
        "build_type": next((line.split("=", 1)[1] for line in cache.splitlines()
                            if line.startswith("CMAKE_BUILD_TYPE:")), ""),
    }


def read_first(path, prefix):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line[len(prefix):].lstrip(" \t:").strip().strip('"')
    except OSError:
        pass
    return ""


def version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git(*args):
    result = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def environment(tools):
    env = {
        "host": platform.node(),
        "cpu": read_first("/proc/cpuinfo", "model name"),
        "cpus": os.cpu_count(),
        "memory_bytes": int(read_first("/proc/meminfo", "MemTotal").split()[0]) * 1024,
        "kernel": platform.release(),
        "os": read_first("/etc/os-release", "PRETTY_NAME=") or platform.platform(),
        "python": platform.python_version(),
        "versions": {p: version(p) for p in ("torch", "safetensors", "numpy", "fastsafetensors", "matplotlib")},
        "stload_commit": git("rev-parse", "--short", "HEAD"),
        "stload_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "stload_build_type": tools["build_type"],
        "stload_cuda_built": tools["cuda_built"],
        "loadavg_start": list(os.getloadavg()),
    }
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True)
        if smi.returncode == 0:
            env["gpus"] = [line.strip() for line in smi.stdout.splitlines() if line.strip()]
    return env


def machine_name(env, device):
    if device.startswith("cuda") and env.get("gpus"):
        words = env["gpus"][0].split(",")[0].replace("NVIDIA", "").split()
    else:
        words = env["cpu"].replace("(R)", "").replace("(TM)", "").split()[:2]
    return "-".join(w.lower() for w in words if w.isalnum() or "-" in w) or platform.node()


# --------------------------------------------------------------------------------------------
# Page cache


def residency(tools, path, evict):
    out = subprocess.run([str(tools["ceiling"]), "evict" if evict else "resident", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[0])


def prepare_cache(tools, path, cold):
    """Makes the file cold or warm; returns what the page cache held before the child started."""
    if cold:
        state = residency(tools, path, evict=True)
        return {"evicted_from": state["resident_before"], "resident": state["resident_after"]}
    state = residency(tools, path, evict=False)
    if state["resident_before"] < 0.999:
        with open(path, "rb", buffering=0) as f:
            while f.read(16 << 20):
                pass
        state = residency(tools, path, evict=False)
    return {"resident": state["resident_before"]}


# --------------------------------------------------------------------------------------------
# One run


def rss_anon(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# Set by gpu_check.py (the one-shot GPU check): a folder that keeps every child's raw output,
# one file per child, and a limit in seconds after which a child is killed, so that one hung
# load cannot spend the whole time budget. None: neither (the compare runner's own runs).
RAW_DIR = None
CHILD_TIMEOUT_S = None
CHILD_TAG = None  # names the next child's raw file (the method), when set
_children = 0


def keep_raw(argv, code, out, err, wall, peak):
    global _children
    _children += 1
    name = f"child-{_children:03d}-{CHILD_TAG or Path(argv[0]).name}"
    text = (f"argv: {shlex.join(str(a) for a in argv)}\nexit status: {code}\nwall seconds: {wall:.3f}\n"
            f"peak RssAnon bytes: {peak}\n--- stdout\n{out}--- stderr\n{err}")
    (Path(RAW_DIR) / (name.replace("/", "_") + ".txt")).write_text(text)


def run_child(argv, env=None, interval=0.002):
    """Runs argv, sampling its RssAnon; returns (returncode, stdout, stderr, wall, peak)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_anon(child.pid))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = child.communicate(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        err += f"\nkilled after {CHILD_TIMEOUT_S} s (the check's per-child limit)\n"
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if RAW_DIR is not None:
        keep_raw(argv, child.returncode, out, err, wall, peak)
    return child.returncode, out, err, wall, peak


def last_json(text, prefix=""):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith(prefix + "{"):
            return json.loads(line[len(prefix):])
    return None


def run_method(method, data, tools, device, cold):
    path = data["pt"] if method["file"] == "pt" else data["safetensors"]
    cache = prepare_cache(tools, path, cold) if method["kind"] != "ceiling-gpu" else {}
    record = {"method": method["name"], "cold": cold, "loadavg": os.getloadavg()[0], **cache}
    kind = method["kind"]
    if kind == "python":
        argv = [sys.executable, str(HERE / "child.py"), method["name"], str(path), device]
    elif kind == "cli":
        argv = [str(tools["stload"]), "load", str(path), "--json", *method["args"]]
    elif kind == "ceiling":
        argv = [str(tools["ceiling"]), "cpu", str(path), "--threads", str(method["threads"]),
                "--read", method.get("read", "mmap")]
    else:
        argv = [str(tools["ceiling_gpu"]), str(data["data_bytes"]), "--reps", "3"]
    code, out, err, wall, peak = run_child(argv, env=method.get("env"))
    record.update({"wall_seconds": wall, "peak_rss_anon_bytes": peak})
    parsed = last_json(out, "RESULT " if kind == "python" else "")
    if code != 0 or parsed is None:
        record["error"] = (err.strip().splitlines() or [f"exit status {code}"])[-1][:300]
        return record
    if kind == "python":
        record.update({k: parsed[k] for k in ("seconds", "load_seconds", "touch_seconds", "tensors", "bytes",
                                              "baseline_rss_anon_bytes")})
        for key in ("device_used_bytes", "device_peak_allocated_bytes"):
            if key in parsed:
                record[key] = parsed[key]
    elif kind == "cli":
        record.update({"seconds": parsed["total_seconds"], "copy_seconds": parsed["copy_seconds"],
                       "allocate_seconds": parsed["allocate_seconds"], "tensors": parsed["tensors"],
                       "bytes": parsed["bytes"], "chunks": parsed["chunks"],
                       "staging_bytes": parsed["staging_bytes"],
                       "baseline_rss_anon_bytes": parsed["baseline_rss_anon_bytes"],
                       "self_peak_rss_anon_bytes": parsed["peak_rss_anon_bytes"],
                       "device_bytes": parsed["devices"]})
        if device.startswith("cuda"):
            record["device_used_bytes"] = sum(parsed["devices"].values())
    elif kind == "ceiling":
        record.update({"seconds": parsed["seconds"], "copy_seconds": parsed["copy_seconds"],
                       "prefault_seconds": parsed["prefault_seconds"], "bytes": parsed["bytes"],
                       "baseline_rss_anon_bytes": 0})
    else:
        record.update({"seconds": parsed["seconds"], "copy_seconds": parsed["seconds"], "bytes": parsed["bytes"],
                       "gpu": parsed["device"], "driver": parsed["driver"], "baseline_rss_anon_bytes": 0})
    # Materialised: every byte of the state dict accounted for, whatever the method reports.
    if record.get("bytes") != data["data_bytes"]:
        record["error"] = f"loaded {record.get('bytes')} bytes, expected {data['data_bytes']}"
    return record


# --------------------------------------------------------------------------------------------
# Methods


def methods_for(device, tools, notes, tuned, stload_python):
    engine = ["--engine", "cuda" if device.startswith("cuda") else "cpu"]
    methods = [
        {"name": "torch.load", "label": "torch.load", "kind": "python", "file": "pt"},
        {"name": "torch.load-mmap", "label": "torch.load(mmap) + .to", "kind": "python", "file": "pt"},
        {"name": "safetensors", "label": "safetensors.load_file", "kind": "python", "file": "st"},
        {"name": "fastsafetensors", "label": "fastsafetensors", "kind": "python", "file": "st",
         "skip": notes.get("fastsafetensors")},
        {"name": "stload-python", "label": "stload (Python)", "kind": "python", "file": "st",
         "skip": stload_python.get("skip"), "env": stload_python.get("env")},
        {"name": "stload-cli", "label": "stload load (defaults)", "kind": "cli", "file": "st", "args": engine},
        {"name": "stload-cli-tuned", "label": "stload load (tuned)", "kind": "cli", "file": "st",
         "args": engine + tuned},
        {"name": "stload-cli-staged", "label": "stload load (--no-direct)", "kind": "cli", "file": "st",
         "args": engine + ["--no-direct"]},
        # Zero-copy views of the file, as safetensors.load_file gives on the CPU: no byte moves.
        {"name": "stload-cli-map", "label": "stload load --map (zero-copy views)", "kind": "cli",
         "file": "st", "args": engine + ["--map"]},
    ]
    if device.startswith("cuda"):
        # The CUDA engine always stages; views are of host memory only.
        methods = [m for m in methods if m["name"] not in ("stload-cli-staged", "stload-cli-map")]
        if tools["cuda_built"]:
            methods.append({"name": "ceiling-gpu", "label": "ceiling: pinned H2D", "kind": "ceiling-gpu",
                            "file": "st", "ceiling": True})
    threads = os.cpu_count() or 1
    methods.append({"name": "ceiling-memcpy-1t", "label": "ceiling: memcpy 1 thread", "kind": "ceiling",
                    "file": "st", "threads": 1, "ceiling": not device.startswith("cuda")})
    if threads > 1:
        methods.append({"name": f"ceiling-memcpy-{threads}t", "label": f"ceiling: memcpy {threads} threads",
                        "kind": "ceiling", "file": "st", "threads": threads,
                        "ceiling": not device.startswith("cuda")})
    # Cold, page faults on a mapping read ahead less than large preads: this is the cold ceiling.
    methods.append({"name": f"ceiling-pread-{threads}t", "label": f"ceiling: pread {threads} threads",
                    "kind": "ceiling", "file": "st", "threads": threads, "read": "pread",
                    "ceiling": not device.startswith("cuda")})
    return methods


def probe_stload_python(tools, extra_path):
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([extra_path, env.get("PYTHONPATH", "")])
    probe = subprocess.run([sys.executable, "-c", "import stload; stload.load_file"], capture_output=True,
                           text=True, env=env)
    if probe.returncode == 0:
        where = subprocess.run([sys.executable, "-c", "import stload; print(stload.__file__)"],
                               capture_output=True, text=True, env=env).stdout.strip()
        return {"env": env, "module": where}
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return {"skip": f"`import stload` fails here ({why[:120]})"}
    return {"env": env}


def sweep_configs(device):
    configs = []
    for read in ("pread", "mmap"):
        for threads in (1, 2, 4):
            for chunk in (4, 16, 64):
                configs.append(["--read", read, "--threads", str(threads), "--chunk-mib", str(chunk)])
    if device.startswith("cuda"):
        configs = [c + ["--streams", str(s)] for c in configs for s in (2, 4)]
    return configs


def sweep(data, tools, device, reps):
    """Times stload load over a grid of settings (warm); returns (rows, best args)."""
    engine = ["--engine", "cuda" if device.startswith("cuda") else "cpu"]
    rows = []
    configs = [[]] + sweep_configs(device)
    runs = {tuple(c): [] for c in configs}
    for rep in range(reps):
        for config in configs[rep % len(configs):] + configs[:rep % len(configs)]:
            method = {"name": "stload-cli", "kind": "cli", "file": "st", "args": engine + config}
            runs[tuple(config)].append(run_method(method, data, tools, device, cold=False))
    for config in configs:
        good = [r for r in runs[tuple(config)] if "error" not in r]
        if not good:
            rows.append({"args": config, "error": runs[tuple(config)][0].get("error")})
            continue
        copy = statistics.median(r["copy_seconds"] for r in good)
        rows.append({"args": config or ["(defaults)"], "n": len(good),
                     "copy_seconds": copy, "copy_gbps": data["data_bytes"] / copy / 1e9,
                     "copy_seconds_min": min(r["copy_seconds"] for r in good),
                     "copy_seconds_max": max(r["copy_seconds"] for r in good),
                     "seconds": statistics.median(r["seconds"] for r in good)})
        log("sweep", " ".join(config) or "(defaults)", f"{rows[-1]['copy_gbps']:.2f} GB/s copy")
    best = max((r for r in rows if "copy_gbps" in r and r["args"] != ["(defaults)"]),
               key=lambda r: r["copy_gbps"])
    return rows, best["args"]


# --------------------------------------------------------------------------------------------


def summarise(runs, data):
    good = [r for r in runs if "error" not in r]
    out = {"n": len(good), "errors": [r["error"] for r in runs if "error" in r]}
    if not good:
        return out

    def spread(key):
        values = [r[key] for r in good if r.get(key) is not None]
        if values:
            out[key] = statistics.median(values)
            out[key + "_min"] = min(values)
            out[key + "_max"] = max(values)

    for key in ("seconds", "copy_seconds", "wall_seconds", "load_seconds", "touch_seconds", "prefault_seconds"):
        spread(key)
    out["gbps"] = data["data_bytes"] / out["seconds"] / 1e9
    if "copy_seconds" in out:
        out["copy_gbps"] = data["data_bytes"] / out["copy_seconds"] / 1e9
    out["peak_rss_anon_bytes"] = max(r["peak_rss_anon_bytes"] for r in good)
    out["baseline_rss_anon_bytes"] = statistics.median(r.get("baseline_rss_anon_bytes", 0) for r in good)
    out["load_rss_anon_bytes"] = max(r["peak_rss_anon_bytes"] - r.get("baseline_rss_anon_bytes", 0) for r in good)
    for key in ("device_used_bytes", "staging_bytes"):
        values = [r[key] for r in good if key in r]
        if values:
            out[key] = max(values)
    out["resident_min"] = min(r.get("resident", 1.0) for r in good)
    out["resident_max"] = max(r.get("resident", 1.0) for r in good)
    out["loadavg_max"] = max(r["loadavg"] for r in good)
    return out


def add_ratios(table, methods):
    """Per cache state: × ceiling (GB/s over the best ceiling's copy GB/s) and × torch.load (its time over ours)."""
    ceilings = [m["name"] for m in methods if m.get("ceiling")]
    best = max((table[c] for c in ceilings if table.get(c, {}).get("n")), key=lambda s: s["copy_gbps"], default=None)
    torch_load = table.get("torch.load", {})
    for name, s in table.items():
        if not s.get("n"):
            continue
        if best:
            s["x_ceiling"] = s["gbps"] / best["copy_gbps"]
            if "copy_gbps" in s:
                s["copy_x_ceiling"] = s["copy_gbps"] / best["copy_gbps"]
        if torch_load.get("n"):
            s["x_torch_load"] = torch_load["seconds"] / s["seconds"]
    return best["copy_gbps"] if best else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,4", help="GiB, comma separated (1, 4, 8, 16)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per method and cache state")
    parser.add_argument("--cache", default="warm,cold", help="warm, cold or both")
    parser.add_argument("--device", default="auto", help="auto (cuda:0 when torch sees a GPU), cpu or cuda:N")
    parser.add_argument("--methods", default="", help="comma separated subset of method names")
    parser.add_argument("--sweep-reps", type=int, default=3, help="0 skips the stload settings sweep")
    parser.add_argument("--tuned", default="", help="tuned stload args, e.g. '--read mmap --threads 2' "
                                                    "(default: the sweep's best)")
    parser.add_argument("--data-dir", default=str(REPO / "build" / "bench-data"))
    parser.add_argument("--build-dir", default=str(REPO / "build" / "bench-compare"))
    parser.add_argument("--cuda", default="auto", choices=("auto", "on", "off"),
                        help="build the CUDA engine and GPU ceiling (auto: when a GPU is present)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--stload-python-path", default="", help="added to PYTHONPATH for `import stload`")
    parser.add_argument("--machine", default="", help="results file name prefix (default: CPU or GPU model)")
    parser.add_argument("--results-dir", default=str(REPO / "bench" / "results"))
    parser.add_argument("--no-report", action="store_true", help="write the JSON only")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sizes of an existing results file of the same name")
    args = parser.parse_args()

    if not have("torch"):
        pip_install(["torch", "safetensors", "numpy", "matplotlib"])
    gpu = gpu_present()
    device = ("cuda:0" if gpu else "cpu") if args.device == "auto" else args.device
    notes = ensure_packages(device.startswith("cuda"))
    cuda = gpu if args.cuda == "auto" else args.cuda == "on"
    tools = build(args.build_dir, cuda, args.jobs)
    env = environment(tools)
    env["device"] = device
    stload_python = probe_stload_python(tools, args.stload_python_path)
    env["stload_python_module"] = stload_python.get("module") or stload_python.get("skip")
    sizes = [float(s) for s in args.sizes.split(",") if s]
    caches = [c for c in args.cache.split(",") if c in ("warm", "cold")]
    log("device", device, "| sizes", sizes, "| caches", caches, "| reps", args.reps)

    results = {"schema": 1, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]), "environment": env,
               "reps": args.reps, "sizes": []}
    day = datetime.date.today().isoformat()
    out = Path(args.results_dir) / f"{args.machine or machine_name(env, device)}-{day}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(out.read_text()) if args.merge and out.exists() else None

    def save(results):
        """Writes the results file; also after every size and cache state, so a stopped run keeps them."""
        env["loadavg_end"] = list(os.getloadavg())
        saved = dict(results)
        if earlier:
            kept = [e for e in earlier["sizes"] if e["size_gib"] not in sizes]
            saved["sizes"] = sorted(kept + results["sizes"], key=lambda e: e["size_gib"])
            saved["merged_from"] = earlier.get("merged_from", []) + [
                {"date": earlier["date"], "command": earlier["command"], "sizes": [e["size_gib"] for e in kept],
                 "loadavg_start": earlier["environment"]["loadavg_start"],
                 "loadavg_end": earlier["environment"]["loadavg_end"]}]
        out.write_text(json.dumps(saved, indent=1) + "\n")
        log("wrote", out)

    tuned = args.tuned.split() if args.tuned else None
    for size in sizes:
        log(f"generating {size:g} GiB")
        data = gen.generate(size, tools["stload"], args.data_dir)
        entry = {"size_gib": size, "data": data, "loadavg_start": list(os.getloadavg())}
        if tuned is None and args.sweep_reps > 0:
            log(f"sweep at {size:g} GiB, warm")
            entry["sweep"], tuned = sweep(data, tools, device, args.sweep_reps)
            entry["sweep_reps"] = args.sweep_reps
        tuned_args = tuned or ["--read", "mmap"]
        methods = methods_for(device, tools, notes, tuned_args, stload_python)
        if args.methods:
            keep = set(args.methods.split(","))
            methods = [m for m in methods if m["name"] in keep]
        entry["tuned_args"] = tuned_args
        entry["methods"] = [{k: m[k] for k in ("name", "label", "kind", "file") if k in m} |
                            {"args": m.get("args"), "skip": m.get("skip"), "ceiling": bool(m.get("ceiling"))}
                            for m in methods]
        entry["runs"] = []
        entry["summary"] = {}
        for cache in caches:
            active = [m for m in methods if not m.get("skip")]
            runs = {m["name"]: [] for m in active}
            for rep in range(args.reps):
                order = active[rep % len(active):] + active[:rep % len(active)]
                for method in order:
                    record = run_method(method, data, tools, device, cold=cache == "cold")
                    record["rep"] = rep
                    runs[method["name"]].append(record)
                    entry["runs"].append({"size_gib": size, "cache": cache, **record})
                    shown = record.get("error") or f"{record['seconds']:.3f} s"
                    log(f"{size:g} GiB {cache} rep {rep} {method['name']}: {shown}")
            table = {name: summarise(r, data) for name, r in runs.items()}
            for m in methods:
                if m.get("skip"):
                    table[m["name"]] = {"n": 0, "skipped": m["skip"]}
            entry[f"ceiling_gbps_{cache}"] = add_ratios(table, methods)
            entry["summary"][cache] = table
            save({**results, "partial": True, "sizes": results["sizes"] + [entry]})
        entry["loadavg_end"] = list(os.getloadavg())
        results["sizes"].append(entry)

    results.pop("partial", None)
    save(results)
    if not args.no_report:
        subprocess.run([sys.executable, str(HERE / "report.py"), str(out)], check=True)


if __name__ == "__main__":
    main()
