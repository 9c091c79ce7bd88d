#!/usr/bin/env python3
"""Prints convgen_bench's --tsv output as the Markdown table README.md shows (stdlib only).

    scripts/bench_table.py bench.tsv
"""
import csv
import math
import sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| layer | kind | convgen us (spread) | oneDNN us | ratio | convgen GFLOP/s | roofline | checks |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['layer']} | {r['kind']} | {float(r['convgen_us']):.1f} ({float(r['convgen_min_us']):.0f}..{float(r['convgen_max_us']):.0f}) "
          f"| {float(r['onednn_us']):.1f} | {float(r['ratio']):.2f} | {float(r['gflops']):.0f} "
          f"| {100 * float(r['roofline_frac']):.0f}% | {r['convgen_check']}/{r['onednn_check']} |")
ratios = [float(r["ratio"]) for r in rows]
print(f"\nGeometric mean of oneDNN time / convgen time: **{math.exp(sum(map(math.log, ratios)) / len(ratios)):.3f}** "
      f"over {len(rows)} layers ({rows[0]['threads']} threads; peak probe {float(rows[0]['peak_gflops']):.0f} GFLOP/s, "
      f"DRAM {float(rows[0]['dram_gbs']):.1f} GB/s).")
