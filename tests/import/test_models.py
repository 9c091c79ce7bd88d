#!/usr/bin/python3
"""ONNX import of real architectures: test_models.py CONVGEN CHECK_LAYERS WORK [MODEL...]

torchvision builds MobileNet v2, MobileNet v3 small and ResNet-18 with random weights (no
download) and random BatchNorm statistics; torch.onnx.export writes each twice, with BN folded
into the convs (the default) and with BN kept as nodes. For each: `convgen import` must give the
expected layer list (count per kind, dwsep blocks and their activations, the reasons in the
table), BN kept must give the same layers as BN folded, and `convgen generate --model` kernels
run on the model's weights must reproduce the model's intermediate tensors (forward hooks), each
layer checked by CHECK_LAYERS. Small inputs (64x64) keep it to about a minute on 2 cores.
"""
import json
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import torch
import torchvision
from torch.onnx import TrainingMode

CONVGEN, CHECK, WORK = sys.argv[1:4]
ONLY = sys.argv[4:]
SIZE = 64
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def stem(name):  # the file stem convgen gives a layer's parameters
    s = re.sub(r"[^A-Za-z0-9.\-]", "_", name).lstrip("_")
    return s or "layer"


def convgen(*args, expect=0):
    r = subprocess.run([CONVGEN, *args], capture_output=True, text=True)
    if r.returncode != expect:
        print(r.stdout, r.stderr)
        raise SystemExit(f"convgen {' '.join(args)}: exit {r.returncode}, expected {expect}")
    return r.stdout + r.stderr


def build(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    with torch.no_grad():  # BN statistics of a trained model, not the identity defaults
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model.eval()


def leaf_calls(model, x):
    """Every leaf module call in execution order: (module type, input, output), cloned at once
    (torchvision's activations are in place)."""
    calls, hooks = [], []
    for m in model.modules():
        if not list(m.children()):
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out: calls.append((type(mod).__name__, inp[0].detach().clone(), out.detach().clone()))))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return calls


def dump_tensors(layers, onnx_path, calls, out_dir):
    """<layer>.in.npy / .out.npy: the tensor the layer's first conv reads and the model's tensor
    after the last node it fused. ONNX Conv nodes are in the order torch ran the Conv2d modules."""
    os.makedirs(out_dir, exist_ok=True)
    convs = [n.name for n in onnx.load(onnx_path).graph.node if n.op_type == "Conv"]
    conv_calls = [i for i, c in enumerate(calls) if c[0] == "Conv2d"]
    assert len(convs) == len(conv_calls), (len(convs), len(conv_calls))
    for layer in layers:
        k = convs.index(layer["name"])
        last = k + 1 if layer["kind"] == "dwsep" else k
        i = conv_calls[last]
        if i + 1 < len(calls) and calls[i + 1][0] == "BatchNorm2d":
            i += 1
        if layer["act"].split(":")[-1] != "none":
            i += 1
            assert calls[i][0] in ("ReLU", "ReLU6"), (layer["name"], calls[i][0])
        np.save(os.path.join(out_dir, stem(layer["name"]) + ".in.npy"), calls[conv_calls[k]][1].numpy())
        np.save(os.path.join(out_dir, stem(layer["name"]) + ".out.npy"), calls[i][2].numpy())


def kinds(layers):
    out = {}
    for l in layers:
        out[l["kind"]] = out.get(l["kind"], 0) + 1
    return out


# Per model: layers per kind, the dwsep activations, and what the table must say.
EXPECT = {
    # 52 convs: the stem, 17 dw+project blocks (16 with an expand 1x1 before them), the last 1x1.
    "mobilenet_v2": dict(kinds={"conv": 1, "pointwise": 17, "dwsep": 17}, dwsep_act={"relu6:none": 17},
                         table=["35 layer(s) (conv 1, pointwise 17, dwsep 17), 0 convolution(s) not imported"]),
    # 52 convs. Hardswish stays a node of its own (the stem, 9 expand 1x1, 9 depthwise); squeeze-
    # excitation reads the depthwise output twice, so blocks with SE (1, 4-11) do not fuse, the two
    # without (2, 3: relu) do (relu:none); SE's fc2 is followed by HardSigmoid.
    "mobilenet_v3_small": dict(kinds={"conv": 1, "pointwise": 38, "depthwise": 9, "dwsep": 2},
                               dwsep_act={"relu:none": 2},
                               table=["50 layer(s) (conv 1, pointwise 38, depthwise 9, dwsep 2), 0 convolution(s) not imported"],
                               notes={"HardSwish not fused": 18, "HardSigmoid not fused": 9}),
    # 7x7 stem, 16 3x3 convs (the second of each block adds the shortcut before its ReLU), 3
    # strided 1x1 shortcut projections.
    "resnet18": dict(kinds={"conv": 17, "pointwise": 3}, dwsep_act={},
                     table=["20 layer(s) (conv 17, pointwise 3), 0 convolution(s) not imported"]),
}


def test_model(name):
    model = build(name)
    x = torch.randn(1, 3, SIZE, SIZE)
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    folded, kept = os.path.join(d, "folded.onnx"), os.path.join(d, "kept.onnx")
    torch.onnx.export(model, x, folded, opset_version=14)
    torch.onnx.export(model, x, kept, opset_version=14, training=TrainingMode.PRESERVE, do_constant_folding=False)
    nodes = lambda p: [n.op_type for n in onnx.load(p).graph.node]
    check("BatchNormalization" not in nodes(folded) and "BatchNormalization" in nodes(kept),
          f"{name}: the exports have BN folded / kept")

    exp = EXPECT[name]
    table = convgen("import", folded, "-o", os.path.join(d, "folded.json"))
    print(table)
    layers = json.load(open(os.path.join(d, "folded.json")))
    check(kinds(layers) == exp["kinds"], f"{name}: layers per kind {kinds(layers)} == {exp['kinds']}")
    acts = {}
    for l in layers:
        if l["kind"] == "dwsep":
            acts[l["act"]] = acts.get(l["act"], 0) + 1
    check(acts == exp["dwsep_act"], f"{name}: dwsep activations {acts} == {exp['dwsep_act']}")
    for text in exp["table"]:
        check(text in table, f"{name}: the table says '{text}'")
    for text, n in exp.get("notes", {}).items():
        check(table.count(text) == n, f"{name}: the table says '{text}' {table.count(text)} times, expected {n}")

    convgen("import", kept, "-o", os.path.join(d, "kept.json"))
    check(json.load(open(os.path.join(d, "kept.json"))) == layers, f"{name}: BN kept gives the same layers as BN folded")

    calls = leaf_calls(model, x)
    dump_tensors(layers, folded, calls, os.path.join(d, "tensors"))
    gen = os.path.join(d, "gen")
    for variant, path in (("folded", folded), ("kept", kept)):
        convgen("generate", "--model", path, "--target", "host", "-o", gen)  # kept: every kernel reused
        r = subprocess.run([CHECK, gen, os.path.join(d, "tensors")], capture_output=True, text=True)
        print(r.stdout[-600:], r.stderr)
        check(r.returncode == 0, f"{name} ({variant}): every layer matches the model's tensors")

    # `convgen run --model` on one layer, against the model's tensor.
    first = layers[1]["name"]
    y = os.path.join(d, "run_out.npy")
    convgen("run", "--model", kept, "--layer-name", first, "--input",
            os.path.join(d, "tensors", stem(first) + ".in.npy"), "--output", y, "--cache", os.path.join(d, "cache"))
    want = np.load(os.path.join(d, "tensors", stem(first) + ".out.npy"))
    err = float(np.abs(np.load(y) - want).max())
    check(err <= 1e-4 * max(1.0, float(np.abs(want).max())), f"{name}: convgen run --model --layer-name {first}: max err {err:.2e}")
    return model, x


def test_dynamic_batch():
    model = build("mobilenet_v2")
    path = os.path.join(WORK, "mv2_dynamic.onnx")
    torch.onnx.export(model, torch.randn(1, 3, SIZE, SIZE), path, opset_version=14,
                      input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    table = convgen("import", path)
    check("0 layer(s), 52 convolution(s) not imported" in table and
          "not imported: dynamic shape (graph input 'x' has dimension 'batch'); give --batch N" in table,
          "dynamic batch without --batch: every conv listed with the reason")
    out = os.path.join(WORK, "mv2_b2.json")
    convgen("import", path, "--batch", "2", "--layout", "nhwc", "-o", out)
    layers = json.load(open(out))
    check(len(layers) == 35 and all(l["n"] == 2 and l["layout"] == "nhwc" for l in layers),
          "--batch 2 --layout nhwc: 35 layers of batch 2, NHWC")


os.makedirs(WORK, exist_ok=True)
for name in ONLY or EXPECT:
    test_model(name)
if not ONLY:
    test_dynamic_batch()
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
