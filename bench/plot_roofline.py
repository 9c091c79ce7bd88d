#!/usr/bin/env python3
"""Draws convgen_bench's roofline chart: plot_roofline.py RESULTS.tsv OUT.png

Two panels side by side (convgen | oneDNN), same axes: the roof min(peak, intensity x DRAM
bandwidth) as a solid line, the L3 bandwidth slope dashed, and each layer's achieved GFLOP/s
at its arithmetic intensity (FLOPs / minimal bytes), labelled by layer name. The oneDNN points
appear faintly in the convgen panel (and the other way round) for comparison.
Exit status: 0 drawn, 3 matplotlib is missing, 2 bad input.
"""
import csv
import math
import sys


def main(argv):
    if len(argv) != 3:
        print("usage: plot_roofline.py RESULTS.tsv OUT.png", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_roofline.py: matplotlib is not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    tsv, png = argv[1], argv[2]
    with open(tsv, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        print(f"plot_roofline.py: {tsv} has no rows", file=sys.stderr)
        return 2

    def num(row, key):
        try:
            v = float(row.get(key, "nan"))
        except ValueError:
            return math.nan
        return v

    peak = num(rows[0], "peak_gflops")
    dram = num(rows[0], "dram_gbs")
    l3 = num(rows[0], "l3_gbs")
    threads = rows[0].get("threads", "?")
    ai = [num(r, "intensity") for r in rows]
    series = {
        "convgen": [num(r, "gflops") for r in rows],
        "oneDNN": [num(r, "onednn_gflops") for r in rows],
    }
    finite = [v for v in ai if math.isfinite(v) and v > 0]
    lo = min(finite + [1.0]) / 2
    hi = max(finite + [peak / dram if dram > 0 else 10]) * 2
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    ys_all = [v for s in series.values() for v in s if math.isfinite(v) and v > 0]

    colors = {"convgen": "tab:blue", "oneDNN": "tab:orange"}
    markers = {"convgen": "o", "oneDNN": "s"}
    kind_marker = {"conv": "o", "pointwise": "s", "depthwise": "^", "dwsep": "D"}
    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), sharey=True)
    for ax, name in zip(axes, ["convgen", "oneDNN"]):
        other = "oneDNN" if name == "convgen" else "convgen"
        if dram > 0 and peak > 0:
            ax.plot(xs, [min(peak, x * dram) for x in xs], color="black", lw=2,
                    label=f"roof: min({peak:.0f} GFLOP/s, AI x DRAM {dram:.1f} GB/s)")
        if l3 > 0 and peak > 0:
            ax.plot(xs, [min(peak, x * l3) for x in xs], color="gray", lw=1, ls="--",
                    label=f"L3 bandwidth {l3:.0f} GB/s")
        ax.scatter(ai, series[other], marker="x", color=colors[other], alpha=0.35, s=30,
                   label=f"{other} (for comparison)")
        for x, y, r in zip(ai, series[name], rows):
            if not (math.isfinite(x) and math.isfinite(y) and y > 0):
                continue
            ax.scatter([x], [y], color=colors[name], marker=kind_marker.get(r.get("kind"), "o"), s=45,
                       edgecolor="black", linewidth=0.5, zorder=3)
            ax.annotate(r["layer"], (x, y), textcoords="offset points", xytext=(5, 3), fontsize=8)
        # legend entries for the kinds
        for kind, m in kind_marker.items():
            if any(r.get("kind") == kind for r in rows):
                ax.scatter([], [], color=colors[name], marker=m, edgecolor="black", linewidth=0.5,
                           label=f"{name}: {kind}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        if ys_all and peak > 0:
            ax.set_ylim(min(ys_all + [peak]) / 3, peak * 2)
        ax.set_xlabel("arithmetic intensity (FLOP / minimal byte)")
        ax.grid(True, which="both", alpha=0.25)
        ax.set_title(f"{name}, {threads} thread(s)")
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("achieved GFLOP/s (fp32)")
    fig.suptitle("convgen vs oneDNN on the measured roofline (DRAM roof; compute roof = FMA probe)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
