"""cuDNN baseline for bench/gpu/run.sh: times torch.nn.functional.conv2d (and the dwsep block)
for the layers convgen_gpu_check measured (read from its CSV), with TF32 off and on, and prints
convgen's GPU time against both, beside convgen's wall time per call on device tensors (convgen_run,
and a replayed one-run graph) and what that adds to its GPU time.

Each layer is captured in a CUDA graph and replayed (launch overhead excluded, as convgen's gpu_us
excludes it); time = CUDA-event time of `reps` replays / reps. cudnn.benchmark picks the fastest
algorithm first. dwsep is dw conv -> BN -> ReLU -> pw conv -> BN -> ReLU in eval mode, unfused
(what a PyTorch user runs).

    python3 cudnn.py convgen.csv [--reps 200]
"""
import argparse
import csv
import math

import torch
import torch.nn.functional as F


def layer_fn(r, device):
    n, c, h, w, cout = (int(r[k]) for k in ("n", "c", "h", "w", "cout"))
    k, s, p, d = (int(r[k]) for k in ("k", "stride", "pad", "dilation"))
    nhwc = r["layout"] == "nhwc"
    fmt = torch.channels_last if nhwc else torch.contiguous_format
    x = torch.randn(n, c, h, w, device=device).to(memory_format=fmt)
    kind = r["kind"]
    if kind in ("conv", "pointwise"):
        wt = torch.randn(cout, c, k, k, device=device).to(memory_format=fmt)
        b = torch.randn(cout, device=device)
        return lambda: F.conv2d(x, wt, b, s, p, d)
    if kind == "depthwise":
        wt = torch.randn(cout, 1, k, k, device=device).to(memory_format=fmt)
        b = torch.randn(cout, device=device)
        return lambda: F.conv2d(x, wt, b, s, p, d, groups=c)
    dw = torch.randn(c, 1, k, k, device=device).to(memory_format=fmt)
    pw = torch.randn(cout, c, 1, 1, device=device).to(memory_format=fmt)
    bn1 = [torch.rand(c, device=device) + 0.5 for _ in range(4)]
    bn2 = [torch.rand(cout, device=device) + 0.5 for _ in range(4)]

    def block():
        y = F.conv2d(x, dw, bn1[0], s, p, d, groups=c)
        y = F.relu(F.batch_norm(y, bn1[0], bn1[1], bn1[2], bn1[3], False))
        y = F.conv2d(y, pw, bn2[0])
        return F.relu(F.batch_norm(y, bn2[0], bn2[1], bn2[2], bn2[3], False))
    return block


def time_us(fn, reps):
    with torch.no_grad():
        for _ in range(3):
            fn()  # cudnn.benchmark chooses its algorithm here
        torch.cuda.synchronize()
        g = torch.cuda.CUDAGraph()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            fn()
        torch.cuda.current_stream().wait_stream(s)
        with torch.cuda.graph(g):
            fn()
        g.replay()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            g.replay()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) * 1000.0 / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--reps", type=int, default=200)
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.csv)))
    torch.backends.cudnn.benchmark = True
    print(f"cuDNN {torch.backends.cudnn.version()}, torch {torch.__version__}, {torch.cuda.get_device_name()}")
    print(f"{'kernel':64} {'convgen_us':>10} {'cudnn_us':>9} {'tf32_us':>9} {'vs_fp32':>8} {'vs_tf32':>8} "
          f"{'dev_us':>7} {'graph_us':>8} {'+dev':>6} {'+graph':>6}  check")
    ratios = []
    for r in rows:
        fn = layer_fn(r, "cuda")
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        fp32 = time_us(fn, a.reps)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        tf32 = time_us(fn, a.reps)
        ours = float(r["gpu_us"])
        dev, graph = float(r["dev_us"]), float(r["graph_us"])
        ratio = lambda base: f"{base / ours:8.2f}" if ours > 0 else f"{'-':>8}"
        if ours > 0:
            ratios.append(fp32 / ours)
        print(f"{r['key']:64} {ours:10.2f} {fp32:9.2f} {tf32:9.2f} {ratio(fp32)} {ratio(tf32)} "
              f"{dev:7.2f} {graph:8.2f} {dev - ours:6.2f} {graph - ours:6.2f}  "
              f"{'ok' if r['ok'] == '1' else 'FAIL'}", flush=True)
    if ratios:
        print(f"geometric mean of vs_fp32 over {len(ratios)} kernels: {math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}"
              f" (slowest {min(ratios):.2f})")
    print("vs_fp32 / vs_tf32: cuDNN time / convgen GPU time (> 1: convgen is faster); dev_us, graph_us: convgen's "
          "wall time per call on device tensors (convgen_run; one-run graph replay), +dev/+graph: beyond its GPU "
          "time (issue 5: <= 2 us); nan: no graph (the kernel allocates at every run)")


if __name__ == "__main__":
    main()
