#!/usr/bin/python3
"""ONNX import of small hand-built graphs: test_graphs.py CONVGEN CHECK_LAYERS WORK

Built with the onnx helper API (python3-onnx): one graph whose branches each cover a feature
(auto_pad SAME_UPPER / SAME_LOWER / VALID with asymmetric padding, dilation, groups, depthwise
multiplier, weights through Identity, Clip(0, 6) with bound inputs, a dwsep block with BN after
both stages, activations that must not fuse, a 3-D conv, a computed weight), one opset-10 graph
whose Clip has bound attributes, and bad models (truncated, corrupt, a missing initializer, a
shape that cannot be inferred, weights in an external file). Layers are checked for their specs,
the table for its reasons, and every layer's kernel output against torch.nn.functional on the
same weights; bad models must exit 2 with a message naming the file and the node.
"""
import json
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

CONVGEN, CHECK, WORK = sys.argv[1:4]
os.makedirs(WORK, exist_ok=True)
rng = np.random.default_rng(3)
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def stem(name):
    return re.sub(r"[^A-Za-z0-9.\-]", "_", name).lstrip("_") or "layer"


def run(*args):
    return subprocess.run([CONVGEN, *args], capture_output=True, text=True)


def rand(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, shape).astype(np.float32)


X = rand(1, 4, 9, 10, lo=-2, hi=2)
nodes, inits, outputs, expected = [], [], [], {}


def init(name, array):
    inits.append(numpy_helper.from_array(array, name))
    return name


def value(name, rank=4):  # a graph output of unknown dimensions
    outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [None] * rank))


def conv(name, x, w, b=None, **attrs):
    ins = [x, init(name + ".w", w)] + ([init(name + ".b", b)] if b is not None else [])
    nodes.append(helper.make_node("Conv", ins, [name + ".y"], name=name, **attrs))
    return name + ".y"


def torch_conv(x, w, b, stride=1, pad=(0, 0, 0, 0), dilation=1, groups=1):  # pad: t, l, b, r
    t, l, bo, r = pad
    x = F.pad(torch.from_numpy(x), (l, r, t, bo))
    return F.conv2d(x, torch.from_numpy(w), None if b is None else torch.from_numpy(b), stride, 0, dilation, groups).numpy()


relu = lambda y: np.maximum(y, 0)
relu6 = lambda y: np.clip(y, 0, 6)
c0, c6 = init("zero", np.array(0, np.float32)), init("six", np.array(6, np.float32))

# a: 4x3 kernel, stride 2, SAME_UPPER on 9x10: padding 3 rows (1 top, 2 bottom), 1 column (right).
w, b = rand(6, 4, 4, 3), rand(6)
y = conv("same_upper", "X", w, b, strides=[2, 2], auto_pad="SAME_UPPER")
nodes.append(helper.make_node("Relu", [y], ["a"], name="a_relu")), value("a")
expected["same_upper"] = (dict(kind="conv", pad="1:0:2:1", act="relu"), relu(torch_conv(X, w, b, 2, (1, 0, 2, 1))))

# b: the same with SAME_LOWER (the odd pixel first), then Clip(0, 6) with bound inputs.
w, b = rand(5, 4, 4, 3), rand(5)
y = conv("same_lower", "X", w, b, strides=[2, 2], auto_pad="SAME_LOWER")
nodes.append(helper.make_node("Clip", [y, c0, c6], ["b"], name="b_clip")), value("b")
expected["same_lower"] = (dict(kind="conv", pad="2:1:1:0", act="relu6"), relu6(torch_conv(X, w, b, 2, (2, 1, 1, 0))))

# c: VALID with dilation 2, no bias, no activation.
w = rand(3, 4, 3, 3)
value(conv("valid_dilated", "X", w, auto_pad="VALID", dilations=[2, 2]))
expected["valid_dilated"] = (dict(kind="conv", pad="0:0:0:0", dilation="2:2", bias=0, act="none"), torch_conv(X, w, None, 1, (0, 0, 0, 0), 2))

# d: grouped conv (2 groups), explicit asymmetric pads, stride 1:2, Clip(0, 6).
w, b = rand(6, 2, 3, 3), rand(6)
y = conv("grouped", "X", w, b, group=2, pads=[1, 0, 2, 1], strides=[1, 2])
nodes.append(helper.make_node("Clip", [y, c0, c6], ["d"], name="d_clip")), value("d")
expected["grouped"] = (dict(kind="conv", groups=2, pad="1:0:2:1", stride="1:2", act="relu6"),
                       relu6(torch_conv(X, w, b, (1, 2), (1, 0, 2, 1), 1, 2)))

# e: depthwise, multiplier 2, its weight through an Identity (as torch exports shared weights).
w, b = rand(8, 1, 3, 3), rand(8)
nodes.append(helper.make_node("Identity", [init("dw_mult.w0", w)], ["dw_mult.wid"], name="dw_mult_identity"))
nodes.append(helper.make_node("Conv", ["X", "dw_mult.wid", init("dw_mult.b", b)], ["dw_mult.y"], name="dw_mult",
                              group=4, pads=[1, 1, 1, 1]))
nodes.append(helper.make_node("Relu", ["dw_mult.y"], ["e"], name="e_relu")), value("e")
expected["dw_mult"] = (dict(kind="depthwise", multiplier=2, cout=8, act="relu"), relu(torch_conv(X, w, b, 1, (1, 1, 1, 1), 1, 4)))


def bn(name, x, c):
    g, be, m, v = rand(c, lo=0.5, hi=1.5), rand(c, lo=-0.5, hi=0.5), rand(c, lo=-0.5, hi=0.5), rand(c, lo=0.5, hi=2)
    nodes.append(helper.make_node("BatchNormalization", [x, init(name + ".g", g), init(name + ".be", be), init(name + ".m", m),
                                                         init(name + ".v", v)], [name + ".y"], name=name, epsilon=1e-3))
    return name + ".y", lambda y: (y - m[None, :, None, None]) / np.sqrt(v[None, :, None, None] + 1e-3) * g[None, :, None, None] + be[None, :, None, None]


# f: depthwise 5x5 -> BN -> Clip(0, 6) -> 1x1 -> BN: one dwsep layer, act relu6:none.
wd, wp, bp = rand(4, 1, 5, 5), rand(7, 4, 1, 1), rand(7)
y, bn1 = bn("dws_bn1", conv("dws_dw", "X", wd, group=4, pads=[2, 2, 2, 2]), 4)
nodes.append(helper.make_node("Clip", [y, c0, c6], ["dws_mid"], name="dws_clip"))
y, bn2 = bn("dws_bn2", conv("dws_pw", "dws_mid", wp, bp), 7)
nodes.append(helper.make_node("Identity", [y], ["f"], name="f_out")), value("f")
mid = relu6(bn1(torch_conv(X, wd, None, 1, (2, 2, 2, 2), 1, 4)))
expected["dws_dw"] = (dict(kind="dwsep", cout=7, k="5:5", act="relu6:none"), bn2(torch_conv(mid, wp, bp)))

# g: pointwise then HardSwish (not fused: the layer has no activation).
w = rand(4, 4, 1, 1)
nodes.append(helper.make_node("HardSwish", [conv("pw_hswish", "X", w)], ["g"], name="g_hswish")), value("g")
expected["pw_hswish"] = (dict(kind="pointwise", act="none"), torch_conv(X, w, None))

# h: Clip(-1, 1) is no activation convgen has.
w = rand(4, 4, 3, 3)
lo, hi = init("minus1", np.array(-1, np.float32)), init("plus1", np.array(1, np.float32))
nodes.append(helper.make_node("Clip", [conv("clip11", "X", w, pads=[1, 1, 1, 1]), lo, hi], ["h"], name="h_clip")), value("h")
expected["clip11"] = (dict(kind="conv", act="none"), torch_conv(X, w, None, 1, (1, 1, 1, 1)))

# i: a 3-D conv on a second input; j: a weight computed by a node.
value(conv("conv3d", "Y", rand(3, 2, 3, 3, 3)), 5)
nodes.append(helper.make_node("Mul", [init("wsrc", rand(4, 4, 3, 3)), "wscale"], ["wcomputed"], name="scale_weight"))
nodes.append(helper.make_node("Conv", ["X", "wcomputed"], ["j"], name="computed_weight")), value("j")

graph = helper.make_graph(nodes, "import_features",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 9, 10]),
                           helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2, 4, 4, 4]),
                           helper.make_tensor_value_info("wscale", TensorProto.FLOAT, [1])],
                          outputs, inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
onnx.checker.check_model(model)
features = os.path.join(WORK, "features.onnx")
onnx.save(model, features)

# --- the layers, the table ---
out_json = os.path.join(WORK, "features.json")
r = run("import", features, "-o", out_json)
print(r.stdout, r.stderr)
check(r.returncode == 0, "import of the hand-built graph exits 0")
layers = {l["name"]: l for l in json.load(open(out_json))}
check(sorted(layers) == sorted(expected), f"layers {sorted(layers)} == {sorted(expected)}")
for name, (keys, _) in expected.items():
    got = {k: layers.get(name, {}).get(k) for k in keys}
    check(got == keys, f"{name}: {got} == {keys}")
rows = {line.split()[0]: line for line in r.stdout.splitlines() if line.strip()}
for node, text in [("pw_hswish", "HardSwish not fused"), ("clip11", "Clip(-1, 1) not fused"),
                   ("conv3d", "not imported: 3-D convolution (weight (3,2,3,3,3))"),
                   ("computed_weight", "not imported: weight 'wcomputed' is computed by node 'scale_weight'"),
                   ("dws_dw", "BN+relu6 | pw dws_pw BN+linear")]:
    check(text in rows.get(node, ""), f"table row {node} says '{text}'")
check("8 layer(s) (conv 5, pointwise 1, depthwise 1, dwsep 1), 2 convolution(s) not imported" in r.stdout, "table summary")

# --- every layer against torch on the same weights ---
gen, tensors = os.path.join(WORK, "gen"), os.path.join(WORK, "tensors")
os.makedirs(tensors, exist_ok=True)
for name, (_, y) in expected.items():
    np.save(os.path.join(tensors, stem(name) + ".in.npy"), X)
    np.save(os.path.join(tensors, stem(name) + ".out.npy"), y.astype(np.float32))
r = run("generate", "--model", features, "--target", "host", "-o", gen)
check(r.returncode == 0, "generate --model of the hand-built graph")
r = subprocess.run([CHECK, gen, tensors], capture_output=True, text=True)
print(r.stdout, r.stderr)
check(r.returncode == 0, "every hand-built layer matches torch.nn.functional")

# --- opset 10: Clip's bounds are attributes ---
w = rand(3, 4, 3, 3)
g10 = helper.make_graph([helper.make_node("Conv", ["X", "w"], ["c"], name="conv10", pads=[1, 1, 1, 1]),
                         helper.make_node("Clip", ["c"], ["y"], name="clip10", min=0.0, max=6.0)], "opset10",
                        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 9, 10])],
                        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)], [numpy_helper.from_array(w, "w")])
p10 = os.path.join(WORK, "opset10.onnx")
onnx.save(helper.make_model(g10, opset_imports=[helper.make_opsetid("", 10)]), p10)
r = run("import", p10, "-o", os.path.join(WORK, "opset10.json"))
l10 = json.load(open(os.path.join(WORK, "opset10.json"))) if r.returncode == 0 else []
check(len(l10) == 1 and l10[0]["act"] == "relu6", "opset 10: Clip(min=0, max=6) attributes fuse as relu6")

# --- bad models: exit 2, one line naming the file and the node ---
data = open(features, "rb").read()
bad = {}
bad["truncated.onnx"] = data[: len(data) // 2]
bad["corrupt.onnx"] = data[:40] + bytes(rng.integers(0, 256, 200, dtype=np.uint8)) + data[240:]


def save_bad(name, nodes, inputs, inits):
    g = helper.make_graph(nodes, name, inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)], inits)
    bad[name + ".onnx"] = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]).SerializeToString()


x_in = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4, 9, 10])
save_bad("missing_init", [helper.make_node("Conv", ["X", "w_missing"], ["y"], name="conv_missing")], [x_in], [])
save_bad("uninferable", [helper.make_node("Reshape", ["X", "S"], ["r"], name="reshape"),
                         helper.make_node("Conv", ["r", "w"], ["y"], name="conv_after_reshape")],
         [x_in, helper.make_tensor_value_info("S", TensorProto.INT64, [4])], [numpy_helper.from_array(rand(2, 4, 3, 3), "w")])
# libonnx's Conv inference reads past the input's or the weight's dimensions when their ranks differ (tests/fuzz)
save_bad("weight_rank", [helper.make_node("Relu", ["X"], ["r"], name="relu_first"),
                         helper.make_node("Conv", ["r", "w5"], ["y"], name="conv_rank5")],
         [x_in], [numpy_helper.from_array(rand(2, 4, 3, 3, 3), "w5")])
save_bad("weight_rank_same", [helper.make_node("Conv", ["X", "w3"], ["c"], name="conv_rank3", auto_pad="SAME_UPPER",
                                              strides=[2, 2]), helper.make_node("Relu", ["c"], ["y"], name="relu")],
         [x_in], [numpy_helper.from_array(rand(2, 4, 3), "w3")])
save_bad("stride0", [helper.make_node("Conv", ["X", "w"], ["c"], name="conv_stride0", auto_pad="SAME_UPPER",
                                      strides=[0, 2]), helper.make_node("Relu", ["c"], ["y"], name="relu")],
         [x_in], [numpy_helper.from_array(rand(2, 4, 3, 3), "w")])
b = helper.make_model(helper.make_graph([helper.make_node("Conv", ["X", "w"], ["y"], name="conv_LATIN1")], "latin1", [x_in],
                                        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)],
                                        [numpy_helper.from_array(rand(2, 4, 3, 3), "w")]),
                      opset_imports=[helper.make_opsetid("", 14)]).SerializeToString()
bad["latin1_name.onnx"] = b.replace(b"conv_LATIN1", b"conv_\xe9\xe9\xe9\xe9\xe9\xe9")  # a name in Latin-1: not UTF-8
ext = numpy_helper.from_array(rand(2, 4, 3, 3), "w_ext")
ext.ClearField("raw_data")
ext.data_location = TensorProto.EXTERNAL
ext.external_data.add(key="location", value="weights.bin")
save_bad("external", [helper.make_node("Conv", ["X", "w_ext"], ["y"], name="conv_external")], [x_in], [ext])
expect = {"truncated.onnx": "not a valid ONNX model", "corrupt.onnx": "not a valid ONNX model",
          "missing_init.onnx": "conv_missing", "uninferable.onnx": "conv_after_reshape",
          "external.onnx": "conv_external", "weight_rank.onnx": "conv_rank5",
          "weight_rank_same.onnx": "conv_rank3", "stride0.onnx": "conv_stride0",
          "latin1_name.onnx": "node 0: its name, op type or a tensor name is not valid UTF-8"}
for name, blob in bad.items():
    path = os.path.join(WORK, name)
    open(path, "wb").write(blob)
    out = os.path.join(WORK, name + ".json")
    r = run("import", path, "-o", out)
    msg = r.stderr.strip()
    check(r.returncode == 2 and msg.count("\n") == 0 and path in msg and expect[name] in msg and not os.path.exists(out),
          f"{name}: exit {r.returncode}, one line naming the file and '{expect[name]}': {msg}")
r = run("import", os.path.join(WORK, "model.txt"))
check(r.returncode == 2 and "unknown model format" in r.stderr, f"unknown extension: {r.stderr.strip()}")
r = run("run", "--model", features, "--layer-name", "nonesuch", "--input", "x.npy", "--output", "y.npy")
check(r.returncode == 2 and "'nonesuch' is no layer of" in r.stderr, f"run --layer-name unknown: {r.stderr.strip()}")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
