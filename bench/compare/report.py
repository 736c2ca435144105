#!/usr/bin/env python3
"""Turns a compare results file into bench/RESULTS.md, a PNG chart beside the JSON, and the
README's latest table: `python3 bench/compare/report.py bench/results/<machine>-<date>.json`."""

import json
import os
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
GIB = 1 << 30
MIB = 1 << 20


def mib(n):
    return f"{n / MIB:,.0f}" if n is not None else "—"


def num(x, fmt="{:.2f}"):
    return fmt.format(x) if x is not None else "—"


def method_table(entry, cache):
    table = entry["summary"][cache]
    lines = [
        "| method | s (median) | min–max | GB/s | × ceiling | copy-phase GB/s | copy × ceiling | × torch.load "
        "| peak RssAnon MiB | load's own MiB | process wall s | device MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in entry["methods"]:
        s = table.get(m["name"], {})
        label = m["label"]
        if m["name"] == "stload-cli-tuned":
            label += f" `{' '.join(entry['tuned_args'])}`"
        if not s.get("n"):
            why = s.get("skipped") or "; ".join(sorted(set(s.get("errors", []))))[:160] or "no result"
            lines.append(f"| {label} | skipped: {why} |||||||||||")
            continue
        lines.append(
            f"| {label} | {s['seconds']:.3f} | {s['seconds_min']:.3f}–{s['seconds_max']:.3f} | {s['gbps']:.2f} "
            f"| {num(s.get('x_ceiling'))} | {num(s.get('copy_gbps'))} | {num(s.get('copy_x_ceiling'))} "
            f"| {num(s.get('x_torch_load'), '{:.2f}×')} | {mib(s['peak_rss_anon_bytes'])} "
            f"| {mib(s['load_rss_anon_bytes'])} | {s['wall_seconds']:.1f} | {mib(s.get('device_used_bytes'))} |")
    return lines


def residency_note(entry, cache):
    table = entry["summary"][cache]
    lows = [s["resident_min"] for s in table.values() if s.get("n")]
    highs = [s["resident_max"] for s in table.values() if s.get("n")]
    if not lows:
        return ""
    evicted = [r.get("evicted_from") for r in entry["runs"] if r["cache"] == cache and "evicted_from" in r]
    text = f"Page cache before each child: {min(lows):.0%}–{max(highs):.0%} of the file resident (mincore)"
    if evicted:
        text += f"; eviction dropped it from {min(evicted):.0%}–{max(evicted):.0%}"
    return text + "."


def sweep_table(entry):
    lines = ["| `stload load` settings (warm) | copy-phase s | min–max | copy GB/s | end-to-end s |",
             "|---|---:|---:|---:|---:|"]
    for row in sorted(entry["sweep"], key=lambda r: -r.get("copy_gbps", 0)):
        if "copy_gbps" not in row:
            lines.append(f"| `{' '.join(row['args'])}` | error: {row.get('error')} ||||")
            continue
        lines.append(f"| `{' '.join(row['args'])}` | {row['copy_seconds']:.3f} | {row['copy_seconds_min']:.3f}–"
                     f"{row['copy_seconds_max']:.3f} | {row['copy_gbps']:.2f} | {row['seconds']:.3f} |")
    return lines


def targets(results):
    """The issue's targets, checked against the figures (reported, never asserted)."""
    lines = []
    cuda = results["environment"]["device"].startswith("cuda")
    for entry in results["sizes"]:
        for cache, table in entry["summary"].items():
            name = f"{entry['size_gib']:g} GiB {cache}"
            for method in ("stload-cli", "stload-cli-tuned"):
                s = table.get(method, {})
                if not s.get("n"):
                    continue
                label = "defaults" if method == "stload-cli" else "tuned"
                if s.get("copy_x_ceiling") is not None:
                    lines.append(f"- {name}, {label}: copy phase {s['copy_x_ceiling']:.2f}× the ceiling "
                                 f"(target ≥ 0.9: {'met' if s['copy_x_ceiling'] >= 0.9 else 'not met'}); "
                                 f"end to end {s['x_ceiling']:.2f}×")
                if s.get("x_torch_load") is not None:
                    goal = 20 if cuda else 10
                    lines.append(f"- {name}, {label}: {s['x_torch_load']:.2f}× torch.load end to end "
                                 f"(target ≥ {goal}: {'met' if s['x_torch_load'] >= goal else 'not met'})")
                st = table.get("safetensors", {})
                if cuda and st.get("n"):
                    ratio = st["seconds"] / s["seconds"]
                    lines.append(f"- {name}, {label}: {ratio:.2f}× safetensors.load_file "
                                 f"(target ≥ 10: {'met' if ratio >= 10 else 'not met'})")
            for method in ("stload-cli", "stload-cli-staged"):
                s = table.get(method, {})
                if not s.get("n"):
                    continue
                arena = 0 if cuda else entry["data"]["data_bytes"]
                own = s["load_rss_anon_bytes"] - arena
                budget = 256 * MIB  # the default staging budget
                lines.append(f"- {name}, {method}: host memory beyond the baseline"
                             f"{' and the cpu arena (the model itself)' if arena else ''}: {own / MIB:,.0f} MiB, "
                             f"staging allocated {mib(s.get('staging_bytes'))} MiB "
                             f"(target ≤ staging budget 256 + 64 MiB: {'met' if own <= budget + 64 * MIB else 'not met'})")
    return lines


def cpu_notes(results):
    """What bounds a CPU load here, in this run's own numbers."""
    lines = []
    for entry in results["sizes"]:
        for cache, table in entry["summary"].items():
            ceilings = [(m["name"], table.get(m["name"], {})) for m in entry["methods"] if m["ceiling"]]
            ceilings = [(n, s) for n, s in ceilings if s.get("n") and s.get("prefault_seconds")]
            if not ceilings:
                continue
            name, best = max(ceilings, key=lambda ns: ns[1]["gbps"])
            prefault = statistics.median(s["prefault_seconds"] for _, s in ceilings)
            gib = entry["data"]["data_bytes"] / GIB
            text = (f"- {entry['size_gib']:g} GiB {cache}: pre-faulting {gib:.2f} GiB of fresh memory takes "
                    f"{prefault:.2f} s ({entry['data']['data_bytes'] / prefault / 1e9:.2f} GB/s); the best "
                    f"ceiling end to end (pre-fault + copy, `{name}`) is {best['seconds']:.2f} s")
            if best.get("x_torch_load"):
                text += f" = {best['x_torch_load']:.2f}× torch.load"
            lines.append(text + ".")
    lines += [
        "",
        "On the CPU a copying loader puts the model in fresh anonymous memory, and first touch of fresh "
        "memory on these VMs is slower than the copy itself. torch.load pays it too, inside its time, so "
        "no copying loader can be 10× torch.load here: the ceiling end to end above is the bound. The "
        "copy-phase columns take it out (stload pre-faults its arenas before the copy, as cudaMalloc'd "
        "memory would be ready), which is what issue 3's ≥ 0.9× memcpy target is about.",
        "",
        "`safetensors.load_file(device=\"cpu\")` hands back tensors on a copy-on-write mapping of the file: "
        "nothing is copied (its own anonymous memory stays near 0), so warm it runs at page-mapping speed "
        "and is above the copy ceiling. It is a different contract (pages shared with the page cache, I/O "
        "on first touch when cold), not a faster copy; on a GPU it must copy like everyone else.",
        "",
        "Timings on a shared 2-core VM with a load average well above 2 vary by ±30% run to run (see "
        "min–max); ratios measured side by side in one run are the figures to read.",
    ]
    return lines


def chart(results, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = results["sizes"]
    fig, axes = plt.subplots(len(entries), 1, figsize=(14, 4.8 * len(entries)), squeeze=False)
    colors = {"warm": "#d95f02", "cold": "#7570b3"}
    for ax, entry in zip(axes[:, 0], entries):
        methods = [m for m in entry["methods"] if not m["ceiling"]]
        caches = list(entry["summary"])
        width = 0.8 / max(1, len(caches))
        scale = []
        for i, cache in enumerate(caches):
            table = entry["summary"][cache]
            xs = [j + (i - (len(caches) - 1) / 2) * width for j in range(len(methods))]
            values = [table.get(m["name"], {}).get("gbps", 0) for m in methods]
            bars = ax.bar(xs, values, width, label=f"{cache} cache", color=colors.get(cache))
            for bar, m, v in zip(bars, methods, values):
                s = table.get(m["name"], {})
                text = f"{v:.2f}" if s.get("n") else "skipped"
                ax.annotate(text, (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom",
                            fontsize=7, rotation=90 if not s.get("n") else 0, xytext=(0, 2),
                            textcoords="offset points")
            copy = [table.get(m["name"], {}).get("copy_gbps") for m in methods]
            for x, c in zip(xs, copy):
                if c:
                    ax.bar([x], [c], width, fill=False, hatch="///", edgecolor=colors.get(cache), linewidth=0.8,
                           label=("copy phase only (arenas pre-faulted)" if x == next(
                               xx for xx, cc in zip(xs, copy) if cc) and i == 0 else None))
                    ax.annotate(f"{c:.2f}", (x, c), ha="center", va="bottom", fontsize=6, xytext=(0, 1),
                                textcoords="offset points", color="#444444")
            ceiling = entry.get(f"ceiling_gbps_{cache}")
            if ceiling:
                ax.axhline(ceiling, color=colors.get(cache), linestyle="--", linewidth=1.2,
                           label=f"ceiling, {cache}: {ceiling:.2f} GB/s (copy only)")
                scale.append(ceiling)
            end_to_end = [s["gbps"] for m, s in ((m, table.get(m["name"], {})) for m in entry["methods"])
                          if m["ceiling"] and s.get("n") and not m["name"].startswith("ceiling-gpu")]
            if end_to_end:
                ax.axhline(max(end_to_end), color=colors.get(cache), linestyle=":", linewidth=1.2,
                           label=f"ceiling incl. pre-faulting fresh memory, {cache}: {max(end_to_end):.2f} GB/s")
            scale += [c for c in copy if c] + values
        # A loader that maps instead of copying can beat the copy ceiling many times over; cap the axis
        # so the others stay readable, and label the bars that go off it.
        bounded = [v for v in scale if v <= 2.5 * max(entry.get(f"ceiling_gbps_{c}") or 0 for c in caches)]
        top = 1.25 * max(bounded or scale or [1])
        ax.set_ylim(0, top)
        for patch in list(ax.patches):
            if patch.get_height() > top:
                ax.annotate(f"{patch.get_height():.2f} ↑", (patch.get_x() + patch.get_width() / 2, top),
                            ha="center", va="top", fontsize=7, xytext=(0, -2), textcoords="offset points",
                            color="white", fontweight="bold")
        ax.set_xticks(range(len(methods)))
        cpu = results["environment"]["device"] == "cpu"
        ax.set_xticklabels([m["label"] + ("*" if cpu and m["name"] == "safetensors" else "") for m in methods],
                           rotation=20, ha="right", fontsize=8)
        if cpu:
            ax.text(0.99, 0.97, "* on the CPU, safetensors hands back tensors on the file's mapping: no copy",
                    transform=ax.transAxes, ha="right", va="top", fontsize=7, color="#444444")
        ax.set_ylabel("GB/s (bytes / load time)")
        env = results["environment"]
        ax.set_title(f"{entry['size_gib']:g} GiB Llama-like BF16 state dict → {env['device']} "
                     f"({env['cpu']}, {env['cpus']} CPUs); median of {results['reps']}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def render(results, json_path, png):
    env = results["environment"]
    rel_png = os.path.relpath(png, BENCH)
    lines = [f"Run {results['date']} on `{env['host']}`: {env['cpu']}, {env['cpus']} CPUs, "
             f"{env['memory_bytes'] / GIB:.0f} GiB RAM, kernel {env['kernel']}, device `{env['device']}`"
             + (f" ({'; '.join(env['gpus'])})" if env.get("gpus") else "") + ".",
             f"stload {env['stload_commit']}{' (dirty)' if env['stload_dirty'] else ''} "
             f"({env['stload_build_type']}), Python {env['python']}, "
             + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v) + ".",
             f"`stload (Python)`: {env.get('stload_python_module') or 'not probed'} "
             "(whatever `import stload` found at run time).",
             f"Load average (1 min) {env['loadavg_start'][0]:.1f} at the start, "
             f"{env['loadavg_end'][0]:.1f} at the end (a shared machine: read ratios, not absolutes).",
             f"Command: `python3 bench/compare/{results['command']}`; raw numbers: `{os.path.relpath(json_path, BENCH)}`.",
             ""]
    for earlier in results.get("merged_from", []):
        lines += [f"Sizes {', '.join(f'{g:g} GiB' for g in earlier['sizes'])} come from the earlier run "
                  f"{earlier['date']} (`{earlier['command']}`, load average {earlier['loadavg_start'][0]:.1f} → "
                  f"{earlier['loadavg_end'][0]:.1f}), merged with `--merge`.", ""]
    if results.get("partial"):
        lines += ["**Partial run** (stopped before the end): only the sizes and cache states below were measured.", ""]
    lines += [f"![GB/s per method]({rel_png})", ""]
    for entry in results["sizes"]:
        data = entry["data"]
        for cache in entry["summary"]:
            lines += [f"### {entry['size_gib']:g} GiB ({data['tensors']} tensors, {data['data_bytes']:,} bytes), "
                      f"{cache} page cache", ""]
            lines += method_table(entry, cache)
            lines += ["", residency_note(entry, cache) +
                      f" Ceiling (the best CPU ceiling, copy only): {num(entry.get(f'ceiling_gbps_{cache}'))} GB/s. "
                      f"Load average (1 min) up to {max(s.get('loadavg_max', 0) for s in entry['summary'][cache].values()):.1f}.",
                      ""]
        if entry.get("sweep"):
            lines += [f"### `stload load` settings sweep, {entry['size_gib']:g} GiB, warm, "
                      f"median of {entry['sweep_reps']}", ""] + sweep_table(entry) + [""]
    lines += ["### Targets (issue 4)", ""] + targets(results) + [""]
    if env["device"] == "cpu":
        lines += ["### Reading the CPU figures", ""] + cpu_notes(results) + [""]
    return lines


def main():
    json_path = Path(sys.argv[1]).resolve()
    results = json.loads(json_path.read_text())
    png = json_path.with_suffix(".png")
    chart(results, png)
    body = render(results, json_path, png)
    head = (BENCH / "compare" / "RESULTS_HEAD.md").read_text()
    (BENCH / "RESULTS.md").write_text(head + "\n## Latest run\n\n" + "\n".join(body) + "\n")
    readme = BENCH / "README.md"
    text = readme.read_text()
    begin, end = "<!-- compare:latest:begin -->", "<!-- compare:latest:end -->"
    if begin in text and end in text:
        short = [line.replace("](results/", "](results/") for line in body]
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                      lambda _: begin + "\n" + "\n".join(short) + "\n" + end, text, flags=re.S)
        readme.write_text(text)
    print(f"wrote {BENCH / 'RESULTS.md'}, {png}")


if __name__ == "__main__":
    main()
