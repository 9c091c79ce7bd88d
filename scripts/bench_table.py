#!/usr/bin/env python3
"""Prints convgen_bench's --tsv output as the Markdown tables README.md shows (stdlib only).

    scripts/bench_table.py bench.tsv                 one run: a row per layer
    scripts/bench_table.py nhwc.tsv nchw.tsv         the same layers in both layouts, side by side
                                                     (README's suite table)
"""
import csv
import math
import sys


def load(path):
    return list(csv.DictReader(open(path), delimiter="\t"))


def geomean(rows, key="ratio"):
    values = [float(r[key]) for r in rows]
    return math.exp(sum(map(math.log, values)) / len(values))


def one(rows):
    print("| layer | kind | convgen us (spread) | oneDNN us | ratio | convgen GFLOP/s | roofline | checks |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['layer']} | {r['kind']} | {float(r['convgen_us']):.1f} ({float(r['convgen_min_us']):.0f}..{float(r['convgen_max_us']):.0f}) "
              f"| {float(r['onednn_us']):.1f} | {float(r['ratio']):.2f} | {float(r['gflops']):.0f} "
              f"| {100 * float(r['roofline_frac']):.0f}% | {r['convgen_check']}/{r['onednn_check']} |")
    print(f"\nGeometric mean of oneDNN time / convgen time: **{geomean(rows):.3f}** "
          f"over {len(rows)} layers ({rows[0]['threads']} threads; peak probe {float(rows[0]['peak_gflops']):.0f} GFLOP/s, "
          f"DRAM {float(rows[0]['dram_gbs']):.1f} GB/s).")


def both(nhwc, nchw):
    by_layer = {r["layer"]: r for r in nchw}
    missing = [r["layer"] for r in nhwc if r["layer"] not in by_layer]
    if missing or len(nhwc) != len(nchw):
        sys.exit(f"bench_table.py: the two files hold different layers ({', '.join(missing) or 'counts differ'})")
    print("| layer | kind | NHWC convgen us | NHWC oneDNN us | NHWC ratio | NCHW convgen us | NCHW oneDNN us "
          "| NCHW ratio | NCHW ratio_ro |")
    print("|---|---|---|---|---|---|---|---|---|")
    for a in nhwc:
        b = by_layer[a["layer"]]
        ratio_ro = float(b["onednn_reorder_us"]) / float(b["convgen_us"])
        print(f"| {a['layer']} | {a['kind']} | {float(a['convgen_us']):.1f} | {float(a['onednn_us']):.1f} "
              f"| {float(a['ratio']):.2f} | {float(b['convgen_us']):.1f} | {float(b['onednn_us']):.1f} "
              f"| {float(b['ratio']):.2f} | {ratio_ro:.2f} |")
    print(f"\nGeometric means of oneDNN time / convgen time: NHWC **{geomean(nhwc):.3f}**, "
          f"NCHW **{geomean(nchw):.3f}** over {len(nhwc)} layers.")


if len(sys.argv) == 2:
    one(load(sys.argv[1]))
elif len(sys.argv) == 3:
    both(load(sys.argv[1]), load(sys.argv[2]))
else:
    sys.exit(__doc__)
