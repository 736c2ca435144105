#!/usr/bin/env python3
"""The measuring half of `scripts/gpu-check.sh run` (bench/README.md, "One-shot GPU check").

    gpu_check.py measure --bin gpu-bundle/bin --raw DIR --deadline EPOCH [--sizes 8,16] [--rehearsal]
    gpu_check.py summary --raw DIR --out summary.json --text summary.txt

`measure` builds nothing and installs nothing (the GPU machine has neither compilers nor a
network): it takes the bundle's binaries, picks the sizes that fit in tmpfs and host memory
(stepping down when short), writes the checkpoints with gen.py (the .pt from the same tensors,
when torch is there), then runs every method in a fresh process through run.py's run_method:
`stload load` with the defaults and with one setting changed at a time, safetensors and
torch.load onto the device, the pinned host-to-device ceiling and the host memcpy ceiling. Each
child's raw output is kept (run.RAW_DIR), each record is appended to measure.jsonl as it comes.
Coverage comes first (every method once at every size, then one cold load), repetitions after,
while the deadline allows: a stopped run still has one figure of everything.

`summary` folds the shell's step records, the facts, the gpu tests' XML, the sanitizer's verdict,
the probe and the measurements into one summary.json (and a short text).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402
import run  # noqa: E402

GIB = 1 << 30

# One change at a time against the defaults: what each says about the defaults' choice.
VARIANTS = [
    ("staging-mib-1024", ["--staging-mib", "1024"]),  # a larger pinned ring
    ("threads-8", ["--threads", "8"]),                # more readers filling staging
    ("chunk-mib-16", ["--chunk-mib", "16"]),          # smaller copies, more of them in flight
    ("read-pread", ["--read", "pread"]),              # pread instead of the mapping
    ("streams-4", ["--streams", "4"]),                # more copy queues
]

REPS = 3


def log(*parts):
    print(time.strftime("%H:%M:%S"), "measure:", *parts, file=sys.stderr, flush=True)


def meminfo(key):
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def free_bytes(path):
    Path(path).mkdir(parents=True, exist_ok=True)
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def python_has(*modules):
    probe = "import " + ", ".join(modules)
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


# --------------------------------------------------------------------------------------------
# Inputs


def plan_data(sizes, with_pt, tmpfs, disk, floor_gib):
    """Picks the data folder and the sizes that fit; returns a plan dict (it says what it dropped).

    tmpfs first: its pages are host memory, so the files, plus the largest model once more
    (torch.load's host copy), plus a margin must fit in MemAvailable as well as in its free space.
    On disk (when tmpfs is too small) warm loads read the page cache of a disk file: it says so.
    """
    files_per_size = 2 if with_pt else 1
    notes = []

    def need(chosen):
        return int(sum(chosen) * files_per_size * GIB * 1.03) + GIB

    def fits(chosen, folder, in_memory):
        files = need(chosen)
        memory = (files if in_memory else 0) + int(max(chosen) * GIB * 1.5) + 2 * GIB
        return files <= free_bytes(folder) and memory <= meminfo("MemAvailable")

    for folder, in_memory in ((Path(tmpfs), True), (Path(disk), False)):
        chosen = sorted(sizes)
        while chosen and not fits(chosen, folder, in_memory):
            if len(chosen) > 1:
                notes.append(f"{folder}: dropped {chosen[-1]:g} GiB, {need(chosen) / GIB:.1f} GiB of files do "
                             f"not fit (free {free_bytes(folder) / GIB:.1f} GiB, MemAvailable "
                             f"{meminfo('MemAvailable') / GIB:.1f} GiB)")
                chosen = chosen[:-1]
            elif chosen[0] / 2 >= floor_gib:
                notes.append(f"{folder}: stepped {chosen[0]:g} GiB down to {chosen[0] / 2:g} GiB")
                chosen = [chosen[0] / 2]
            else:
                notes.append(f"{folder}: not even {chosen[0]:g} GiB fits")
                chosen = []
        if chosen:
            data_dir = folder / "stload-gpu-check" if in_memory else folder
            return {"requested_gib": sizes, "sizes_gib": chosen, "data_dir": str(data_dir), "on_tmpfs": in_memory,
                    "tmpfs": str(tmpfs), "tmpfs_free_bytes": free_bytes(tmpfs),
                    "mem_available_bytes": meminfo("MemAvailable"), "with_pt": with_pt, "notes": notes}
    raise SystemExit(f"no room for any checkpoint: {notes}")


def generate(size, tools, data_dir, with_pt):
    if with_pt:
        return gen.generate(size, tools["stload"], data_dir)
    st_path, _, _ = gen.paths_for(data_dir, size)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    subprocess.run([str(tools["stload"]), "generate", "--preset", "llama", "--size-gib", f"{size:g}",
                    "--out", str(st_path)], check=True, stdout=sys.stderr)
    info = json.loads(subprocess.run([str(tools["stload"]), "inspect", "--json", str(st_path)],
                                     capture_output=True, text=True, check=True).stdout)
    return {"size_gib": size, "preset": "llama", "tensors": info["totals"]["tensors"],
            "data_bytes": info["totals"]["bytes"], "safetensors": str(st_path.resolve()),
            "safetensors_file_bytes": st_path.stat().st_size, "pt": None}


# --------------------------------------------------------------------------------------------
# Methods


def methods(device, tools, data, torch_ok):
    """The methods of run.py this check keeps, plus the one-change variants of stload load."""
    threads = os.cpu_count() or 1
    keep = {"stload-cli", "safetensors", "torch.load", "ceiling-gpu", f"ceiling-memcpy-{threads}t"}
    why_no_torch = "torch or safetensors does not import with this python3"
    base = run.methods_for(device, tools, {"fastsafetensors": "not part of the one-shot check"}, [],
                           {"skip": "the Python module is not bundled"})
    chosen = []
    for method in base:
        if method["name"] not in keep:
            continue
        if method["kind"] == "python" and not torch_ok:
            method["skip"] = why_no_torch
        elif method["file"] == "pt" and not data.get("pt"):
            method["skip"] = "no .pt was written (gen.py needs torch)"
        chosen.append(method)
        if method["name"] == "stload-cli":
            for name, args in VARIANTS:
                chosen.append({"name": f"stload-cli-{name}", "label": f"stload load {' '.join(args)}",
                               "kind": "cli", "file": "st", "args": method["args"] + args})
    return chosen


# --------------------------------------------------------------------------------------------
# Measuring


class Schedule:
    """Runs methods while the deadline allows; appends every record to measure.jsonl."""

    def __init__(self, raw, deadline, tools, device):
        self.raw = Path(raw)
        self.deadline = deadline
        self.tools = tools
        self.device = device
        self.records = []
        self.walls = {}  # (size, method) -> last wall seconds, to judge whether another fits
        self.skipped = []

    def left(self):
        return self.deadline - time.time()

    def fits(self, key, reserve=0.0):
        expected = self.walls.get(key, 20.0) * 1.3 + 3
        return self.left() - reserve > expected

    def run(self, method, data, cold=False, rep=0, reserve=0.0, tag=None):
        key = (data["size_gib"], method["name"], cold)
        if not self.fits(key, reserve):
            self.skipped.append({"size_gib": data["size_gib"], "method": method["name"], "cold": cold,
                                 "rep": rep, "why": "time budget"})
            return None
        run.CHILD_TIMEOUT_S = max(5, int(self.left() - reserve))
        run.CHILD_TAG = f"{data['size_gib']:g}g-{'cold' if cold else 'warm'}-{method['name']}"
        record = run.run_method(method, data, self.tools, self.device, cold)
        record.update({"size_gib": data["size_gib"], "cache": "cold" if cold else "warm", "rep": rep})
        if tag:
            record["tag"] = tag
        self.walls[key] = record.get("wall_seconds", 0)
        self.records.append(record)
        with open(self.raw / "measure.jsonl", "a") as out:
            out.write(json.dumps(record) + "\n")
        shown = record.get("error") or f"{record.get('seconds', 0):.3f} s"
        log(f"{data['size_gib']:g} GiB {'cold' if cold else 'warm'} rep {rep} {method['name']}: {shown}")
        return record


def cold_load(schedule, data, plan, tools, cold_dir, device):
    """One cold `stload load` (defaults) and the cold pread ceiling, from a disk file: tmpfs pages
    cannot be evicted, so the file is copied to disk first when the data lives in tmpfs."""
    source = Path(data["safetensors"])
    cold = dict(data)
    copy = None
    if plan["on_tmpfs"]:
        if free_bytes(cold_dir) < source.stat().st_size + GIB:
            return {"skipped": f"{cold_dir} has too little free space for a {source.stat().st_size} byte copy"}
        copy = Path(cold_dir) / source.name
        log(f"copying {source} to {copy} for the cold load")
        started = time.time()
        shutil.copyfile(source, copy)
        gen.fsync_file(copy)
        cold["safetensors"] = str(copy)
        copy_seconds = time.time() - started
    else:
        copy_seconds = 0.0
    threads = os.cpu_count() or 1
    engine = ["--engine", "cuda" if device.startswith("cuda") else "cpu"]
    done = []
    for method in ({"name": "stload-cli", "kind": "cli", "file": "st", "args": engine},
                   {"name": f"ceiling-pread-{threads}t", "kind": "ceiling", "file": "st", "threads": threads,
                    "read": "pread"}):
        record = schedule.run(method, cold, cold=True, tag="cold-from-disk")
        if record:
            done.append(method["name"])
    if copy is not None:
        copy.unlink(missing_ok=True)
    return {"file": cold["safetensors"], "copy_seconds": copy_seconds, "ran": done}


def measure(args):
    raw = Path(args.raw)
    (raw / "children").mkdir(parents=True, exist_ok=True)
    run.RAW_DIR = str(raw / "children")
    binaries = Path(args.bin)
    tools = {"stload": binaries / "stload", "ceiling": binaries / "stload_ceiling",
             "ceiling_gpu": binaries / "stload_ceiling_gpu",
             "cuda_built": (binaries / "stload_ceiling_gpu").exists(), "build_type": "Release (bundle)"}
    device = "cpu" if args.rehearsal else args.device
    torch_ok = python_has("torch", "safetensors.torch")
    sizes = [float(s) for s in args.sizes.split(",") if s]
    plan = plan_data(sizes, torch_ok, args.tmpfs, Path(args.disk_dir), sizes[0] if args.rehearsal else 1.0)
    plan.update({"device": device, "rehearsal": args.rehearsal, "torch_ok": torch_ok,
                 "python": sys.executable, "variants": VARIANTS, "reps": REPS})
    (raw / "data-plan.json").write_text(json.dumps(plan, indent=1) + "\n")
    log("plan:", json.dumps({k: plan[k] for k in ("sizes_gib", "data_dir", "on_tmpfs", "notes")}))
    try:
        environment = run.environment(tools)
    except Exception as error:  # the facts are also taken by the shell; never stop for them
        environment = {"error": str(error)}
    schedule = Schedule(raw, args.deadline, tools, device)
    inputs = {}
    entries = {}
    seconds_per_gib = 6.0  # a guess until the first size is written (stload generate, .pt, check)
    for size in plan["sizes_gib"]:
        expected = seconds_per_gib * size * 1.2 + 10  # and a little for a first load of it
        if schedule.left() < expected:
            schedule.skipped.append({"size_gib": size, "why": f"time budget: {expected:.0f} s to write "
                                                              f"and load, {schedule.left():.0f} s left"})
            continue
        log(f"generating {size:g} GiB in {plan['data_dir']}")
        started = time.time()
        data = generate(size, tools, plan["data_dir"], torch_ok)
        data["generate_wall_seconds"] = round(time.time() - started, 2)
        seconds_per_gib = data["generate_wall_seconds"] / size
        inputs[size] = data
        entries[size] = methods(device, tools, data, torch_ok)
        # Coverage first: every method once at this size, before the next size is written.
        for method in entries[size]:
            if not method.get("skip"):
                schedule.run(method, data, rep=0)
    cold = {"skipped": "no input"}
    if inputs:
        first = inputs[min(inputs)]
        cold = cold_load(schedule, first, plan, tools, args.disk_dir, device)
    for rep in range(1, REPS):
        for size, data in inputs.items():
            active = [m for m in entries[size] if not m.get("skip")]
            order = active[rep % len(active):] + active[:rep % len(active)]
            for method in order:
                schedule.run(method, data, rep=rep)

    result = {"plan": plan, "environment": environment, "inputs": list(inputs.values()), "cold": cold,
              "skipped_runs": schedule.skipped, "sizes": []}
    for size, data in inputs.items():
        entry = {"size_gib": size, "data": data, "methods": [
            {k: m.get(k) for k in ("name", "label", "kind", "args", "skip")} for m in entries[size]]}
        for cache in ("warm", "cold"):
            table = {}
            for method in entries[size]:
                runs = [r for r in schedule.records
                        if r["size_gib"] == size and r["method"] == method["name"] and r["cache"] == cache]
                if runs:
                    table[method["name"]] = run.summarise(runs, data)
                elif method.get("skip") and cache == "warm":
                    table[method["name"]] = {"n": 0, "skipped": method["skip"]}
            if cache == "cold":
                threads = os.cpu_count() or 1
                runs = [r for r in schedule.records if r["size_gib"] == size and r["cache"] == "cold"
                        and r["method"] == f"ceiling-pread-{threads}t"]
                if runs:
                    table[runs[0]["method"]] = run.summarise(runs, data)
            if table:
                ceilings = [m | {"ceiling": m["name"].startswith("ceiling-") and
                                 (cache == "cold" or m["name"] == "ceiling-gpu" or device == "cpu")}
                            for m in entries[size]]
                if cache == "cold":
                    ceilings.append({"name": f"ceiling-pread-{os.cpu_count() or 1}t", "ceiling": True})
                entry[f"ceiling_gbps_{cache}"] = run.add_ratios(table, ceilings)
                entry[cache] = table
        result["sizes"].append(entry)
    (raw / "measure.json").write_text(json.dumps(result, indent=1) + "\n")
    log("wrote", raw / "measure.json")
    if plan["on_tmpfs"] and not args.keep_data:
        shutil.rmtree(plan["data_dir"], ignore_errors=True)
    return 0


# --------------------------------------------------------------------------------------------
# Summary


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def last_json_line(path):
    try:
        return run.last_json(Path(path).read_text())
    except (OSError, ValueError):
        return None


def gtest_summary(path):
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as error:
        return {"error": f"no readable gtest XML: {error}"}
    out = {k: int(root.get(k, 0)) for k in ("tests", "failures", "errors", "disabled")}
    skipped = []
    failed = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}.{case.get('name')}"
        skip = case.find("skipped")
        if skip is not None:
            skipped.append({"test": name, "why": (skip.get("message") or skip.text or "").strip()[:400]})
        failure = case.find("failure")
        if failure is not None:
            failed.append({"test": name, "message": (failure.get("message") or "").strip()[:400]})
    out["skipped"] = len(skipped)
    out["skip_reasons"] = sorted({s["why"].split("\n")[-1] for s in skipped})
    out["failed"] = failed
    return out


def sanitizer_summary(raw):
    text = ""
    for name in ("compute-sanitizer.out", "compute-sanitizer.err"):
        path = Path(raw) / name
        if path.exists():
            text += path.read_text(errors="replace")
    lines = [line for line in text.splitlines() if "ERROR SUMMARY" in line or "LEAK SUMMARY" in line]
    return {"lines": lines} if text else None


def compact(table):
    keys = ("n", "seconds", "seconds_min", "seconds_max", "gbps", "copy_gbps", "x_ceiling", "copy_x_ceiling",
            "x_torch_load", "peak_rss_anon_bytes", "load_rss_anon_bytes", "device_used_bytes", "errors",
            "skipped", "resident_min", "resident_max")
    return {name: {k: v for k, v in s.items() if k in keys} for name, s in table.items()}


def from_records(path):
    """measure.json's tables from measure.jsonl alone, for a measure step that was stopped."""
    try:
        records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return {}
    sizes = []
    for size in sorted({r["size_gib"] for r in records}):
        entry = {"size_gib": size, "data": {"stopped": "measure did not finish; tables from measure.jsonl"}}
        for cache in ("warm", "cold"):
            runs = [r for r in records if r["size_gib"] == size and r["cache"] == cache]
            names = sorted({r["method"] for r in runs})
            data_bytes = next((r["bytes"] for r in runs if r.get("bytes")), 0)
            if names and data_bytes:
                entry["data"]["data_bytes"] = data_bytes
                entry[cache] = {n: run.summarise([r for r in runs if r["method"] == n],
                                                 {"data_bytes": data_bytes}) for n in names}
        sizes.append(entry)
    return {"sizes": sizes}


def summary(args):
    raw = Path(args.raw)
    steps = []
    steps_path = raw / "steps.jsonl"
    if steps_path.exists():
        steps = [json.loads(line) for line in steps_path.read_text().splitlines() if line.strip()]
    measured = read_json(raw / "measure.json") or from_records(raw / "measure.jsonl")
    out = {
        "rehearsal": bool(args.rehearsal),
        "what": ("REHEARSAL on a machine without a GPU: CPU engine, small sizes; GPU steps fail or skip "
                 "as recorded; no figure here says anything about a GPU") if args.rehearsal else
                "one-shot GPU check",
        "steps": steps,
        # Failed or stopped steps (a rehearsal's expected failures are not among them; skipped
        # steps are listed with their reasons in "steps").
        "not_ok": [f"{s['step']}: {s['status']}" + (f" ({s['why']})" if s.get("why") else "")
                   for s in steps if s["status"] in ("failed", "timeout")],
        "bundle": read_json(raw / "facts-bundle.out"),
        "doctor": read_json(raw / "facts-doctor.out"),
        "gpu_tests": gtest_summary(raw / "gpu-tests.xml"),
        "compute_sanitizer": sanitizer_summary(raw),
        "h2d_probe": last_json_line(raw / "h2d-probe.out"),
        "ceiling_gpu": last_json_line(raw / "ceiling-gpu.out"),
        "data_plan": measured.get("plan"),
        "cold": measured.get("cold"),
        "skipped_runs": measured.get("skipped_runs"),
        "sizes": [{"size_gib": e["size_gib"], "tensors": e["data"].get("tensors"),
                   "data_bytes": e["data"].get("data_bytes"),
                   "generate_wall_seconds": e["data"].get("generate_wall_seconds"),
                   **{f"ceiling_gbps_{c}": e.get(f"ceiling_gbps_{c}") for c in ("warm", "cold")},
                   **{c: compact(e[c]) for c in ("warm", "cold") if c in e}}
                  for e in measured.get("sizes", [])],
    }
    tests = out["gpu_tests"]
    if tests.get("failed"):
        out["not_ok"].append(f"gpu tests: {len(tests['failed'])} failed")
    if not args.rehearsal and tests.get("skipped"):
        # On a GPU machine every gpu test should run: a skip there is a broken setup, not "no GPU".
        out["not_ok"].append(f"gpu tests: {tests['skipped']} skipped on the GPU machine: {tests['skip_reasons']}")
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    lines = [out["what"]] + [f"NOT OK: {line}" for line in out["not_ok"]]
    lines += [f"step {s['step']}: {s['status']} (exit {'-' if s.get('rc') is None else s['rc']}, {s.get('seconds')} s)"
              + (f": {s['why']}" if s.get("why") else "") for s in steps]
    tests = out["gpu_tests"]
    if "tests" in tests:
        lines.append(f"gpu tests: {tests['tests']} run, {len(tests['failed'])} failed, {tests['skipped']} skipped"
                     + (f"; skip reasons: {tests['skip_reasons']}" if tests["skip_reasons"] else ""))
    if out["doctor"]:
        lines.append(f"doctor: {out['doctor'].get('status')}: {out['doctor'].get('reason')}")
    for entry in out["sizes"]:
        lines.append(f"{entry['size_gib']:g} GiB checkpoint: {entry.get('tensors')} tensors, {entry.get('data_bytes')} "
                     f"bytes, written in {entry.get('generate_wall_seconds')} s")
        for cache in ("warm", "cold"):
            for name, s in entry.get(cache, {}).items():
                if s.get("n"):
                    lines.append(f"{entry['size_gib']:g} GiB {cache} {name}: {s['seconds']:.3f} s median of "
                                 f"{s['n']}, {s['gbps']:.2f} GB/s, peak RssAnon "
                                 f"{s['peak_rss_anon_bytes'] / 2**20:.0f} MiB"
                                 + (f", {s['x_ceiling']:.2f}x ceiling" if "x_ceiling" in s else ""))
                else:
                    lines.append(f"{entry['size_gib']:g} GiB {cache} {name}: "
                                 f"{s.get('skipped') or 'failed: ' + '; '.join(s.get('errors', []))[:200]}")
    for skipped in out["skipped_runs"] or []:
        lines.append(f"not run: {skipped}")
    Path(args.text).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--bin", required=True, help="the bundle's bin/ folder")
    m.add_argument("--raw", required=True, help="where raw results go")
    m.add_argument("--deadline", type=float, required=True, help="Unix time by which to be done")
    m.add_argument("--sizes", default="8,16", help="GiB, comma separated")
    m.add_argument("--device", default="cuda:0")
    m.add_argument("--tmpfs", default="/dev/shm")
    m.add_argument("--disk-dir", default=str(HERE.parents[1] / "build" / "gpu-check-disk"),
                   help="a disk folder for the cold load (and the data when tmpfs is too small)")
    m.add_argument("--rehearsal", action="store_true", help="CPU engine (no GPU here)")
    m.add_argument("--keep-data", action="store_true")
    s = sub.add_parser("summary")
    s.add_argument("--raw", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--text", required=True)
    s.add_argument("--rehearsal", action="store_true")
    args = parser.parse_args()
    return measure(args) if args.command == "measure" else summary(args)


if __name__ == "__main__":
    sys.exit(main())
