#!/usr/bin/env python3
"""The PyTorch user's path through `convgen run`, with numpy only (no torch needed).

  torch_check.py make  LAYERSPEC DIR [--torch-extras]
      DIR/x.npy  a random float32 input in the layer's layout (NCHW or NHWC)
      DIR/p.npz  random float32 parameters under PyTorch state_dict names and shapes:
                   conv/pointwise  weight (cout, c/groups, kh, kw), bias (cout) if bias=1
                   depthwise       weight (c*m, 1, kh, kw), bias (c*m) if bias=1
                   dwsep           dw.weight (c,1,kh,kw), dw.bias, bn1.{weight,bias,running_mean,
                                   running_var} (c), pw.weight (cout,c,1,1), pw.bias, bn2.* (cout)
                 conv and pointwise are saved with np.savez (STORED), depthwise and dwsep with
                 np.savez_compressed (DEFLATE). --torch-extras adds what a real torch state_dict
                 of a BatchNorm module also holds: bnK.num_batches_tracked (int64, shape ()).
  torch_check.py check LAYERSPEC DIR
      computes the layer in float64 from DIR/x.npy and DIR/p.npz, compares with DIR/y.npy and
      prints "max_err=<e> tol=<t> OK", or "MISMATCH ..." and exits 1.
  torch_check.py bad   LAYERSPEC DIR
      writes broken variants next to a good x.npy / p.npz (run `make` first):
      x_shape.npy (input dim 1 off by one), x_i64.npy (int64), x_trunc.npy (data cut short),
      p_noweight.npz (no 'weight'), p_extra.npz (an unknown 'running_foo'),
      p_wshape.npz ('weight' with kw + 2).

LAYERSPEC is convgen's --layer grammar (README "Layer grammar"): kind, n, c, h, w, cout,
k | k=a:b | kh, kw, stride | sh, sw, pad N | t:l:b:r | valid, dilation, groups, multiplier,
bias, act (none | relu | relu6), layout (nchw | nhwc), dtype (f32), eps, name.
"""
import os
import sys
import zlib

import numpy as np


def pair(v):
    p = v.split(":")
    if len(p) == 1:
        return int(p[0]), int(p[0])
    if len(p) == 2:
        return int(p[0]), int(p[1])
    raise SystemExit("torch_check: bad pair %r" % v)


def parse(text):
    s = dict(kind=None, n=1, c=0, h=0, w=0, cout=None, kh=None, kw=None, sh=1, sw=1,
             pad=(0, 0, 0, 0), dh=1, dw=1, groups=1, multiplier=1, bias=1, act="none",
             layout="nchw", eps=1e-5)
    for item in text.split(","):
        key, _, val = item.partition("=")
        key = key.strip().lower()
        val = val.strip()
        if key in ("n", "c", "h", "w", "cout", "groups", "multiplier", "bias", "kh", "kw", "sh", "sw"):
            s[key] = int(val)
        elif key == "kind":
            s["kind"] = val.lower()
        elif key == "k":
            s["kh"], s["kw"] = pair(val)
        elif key == "stride":
            s["sh"], s["sw"] = pair(val)
        elif key == "dilation":
            s["dh"], s["dw"] = pair(val)
        elif key == "pad":
            if val.lower() == "valid":
                s["pad"] = (0, 0, 0, 0)
            else:
                p = [int(x) for x in val.split(":")]
                if len(p) == 1:
                    p = p * 4
                if len(p) != 4:
                    raise SystemExit("torch_check: pad must be N, t:l:b:r or valid, got %r" % val)
                s["pad"] = tuple(p)
        elif key in ("act", "layout"):
            s[key] = val.lower()
        elif key == "eps":
            s["eps"] = float(val)
        elif key in ("dtype", "name"):
            pass
        else:
            raise SystemExit("torch_check: unknown key %r" % key)
    kind = s["kind"]
    if kind not in ("conv", "pointwise", "depthwise", "dwsep"):
        raise SystemExit("torch_check: bad kind %r" % kind)
    if kind == "pointwise" and s["kh"] is None:
        s["kh"] = s["kw"] = 1
    if s["kw"] is None:
        s["kw"] = s["kh"]
    if s["kh"] is None:
        s["kh"] = s["kw"]
    if kind == "depthwise" and s["cout"] is None:
        s["cout"] = s["c"] * s["multiplier"]
    return s


def out_hw(s):
    t, l, b, r = s["pad"]
    ho = (s["h"] + t + b - s["dh"] * (s["kh"] - 1) - 1) // s["sh"] + 1
    wo = (s["w"] + l + r - s["dw"] * (s["kw"] - 1) - 1) // s["sw"] + 1
    return ho, wo


def input_shape(s):
    n, c, h, w = s["n"], s["c"], s["h"], s["w"]
    return (n, c, h, w) if s["layout"] == "nchw" else (n, h, w, c)


def param_shapes(s):
    """PyTorch state_dict names and shapes, in state_dict order."""
    kind, c, co, kh, kw = s["kind"], s["c"], s["cout"], s["kh"], s["kw"]
    out = []
    if kind == "conv":
        out.append(("weight", (co, c // s["groups"], kh, kw)))
    elif kind == "pointwise":
        out.append(("weight", (co, c, 1, 1)))
    elif kind == "depthwise":
        out.append(("weight", (c * s["multiplier"], 1, kh, kw)))
    if kind != "dwsep":
        if s["bias"]:
            out.append(("bias", (co,)))
        return out
    out.append(("dw.weight", (c, 1, kh, kw)))
    if s["bias"]:
        out.append(("dw.bias", (c,)))
    for f in ("weight", "bias", "running_mean", "running_var"):
        out.append(("bn1." + f, (c,)))
    out.append(("pw.weight", (co, c, 1, 1)))
    if s["bias"]:
        out.append(("pw.bias", (co,)))
    for f in ("weight", "bias", "running_mean", "running_var"):
        out.append(("bn2." + f, (co,)))
    return out


def conv2d(x, wt, bias, stride, pad, dil, groups):
    """PyTorch's conv2d in float64: x (n,c,h,w), wt (o, c/groups, kh, kw), pad (t,l,b,r)."""
    n, c, h, w = x.shape
    o, cg, kh, kw = wt.shape
    t, l, b, r = pad
    xp = np.zeros((n, c, h + t + b, w + l + r), dtype=np.float64)
    xp[:, :, t:t + h, l:l + w] = x
    ho = (h + t + b - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + l + r - dil[1] * (kw - 1) - 1) // stride[1] + 1
    og = o // groups
    y = np.zeros((n, o, ho, wo), dtype=np.float64)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dil[0], kx * dil[1]
            patch = xp[:, :, y0:y0 + stride[0] * (ho - 1) + 1:stride[0], x0:x0 + stride[1] * (wo - 1) + 1:stride[1]]
            for g in range(groups):
                y[:, g * og:(g + 1) * og] += np.einsum(
                    "nihw,oi->nohw", patch[:, g * cg:(g + 1) * cg], wt[g * og:(g + 1) * og, :, ky, kx])
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def act(s, v):
    if s["act"] == "relu":
        return np.maximum(v, 0.0)
    if s["act"] == "relu6":
        return np.clip(v, 0.0, 6.0)
    return v


def bn(p, name, v, eps):
    g, b = p[name + ".weight"], p[name + ".bias"]
    m, var = p[name + ".running_mean"], p[name + ".running_var"]
    sh = (1, -1, 1, 1)
    return (v - m.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * g.reshape(sh) + b.reshape(sh)


def reference(s, x, p):
    """Returns (output, bound): the float64 output in the layer's layout and a bound on the
    error an f32 kernel may make (a multiple of the sum of |terms| of each output)."""
    x = x.astype(np.float64)
    if s["layout"] == "nhwc":
        x = x.transpose(0, 3, 1, 2)
    p = {k: v.astype(np.float64) for k, v in p.items()}
    stride, pad, dil = (s["sh"], s["sw"]), s["pad"], (s["dh"], s["dw"])
    kind = s["kind"]
    if kind == "dwsep":
        c = s["c"]
        mid = conv2d(x, p["dw.weight"], p.get("dw.bias"), stride, pad, dil, c)
        mid = act(s, bn(p, "bn1", mid, s["eps"]))
        y = act(s, bn(p, "bn2", conv2d(mid, p["pw.weight"], p.get("pw.bias"), (1, 1), (0, 0, 0, 0), (1, 1), 1),
                      s["eps"]))
        # magnitude: the same pipeline on absolute values
        amid = conv2d(np.abs(x), np.abs(p["dw.weight"]), np.abs(p["dw.bias"]) if "dw.bias" in p else None,
                      stride, pad, dil, c)
        s1 = np.abs(p["bn1.weight"]) / np.sqrt(p["bn1.running_var"] + s["eps"])
        amid = (amid + np.abs(p["bn1.running_mean"]).reshape(1, -1, 1, 1)) * s1.reshape(1, -1, 1, 1) + \
            np.abs(p["bn1.bias"]).reshape(1, -1, 1, 1)
        mag = conv2d(amid, np.abs(p["pw.weight"]), np.abs(p["pw.bias"]) if "pw.bias" in p else None,
                     (1, 1), (0, 0, 0, 0), (1, 1), 1)
        s2 = np.abs(p["bn2.weight"]) / np.sqrt(p["bn2.running_var"] + s["eps"])
        mag = (mag + np.abs(p["bn2.running_mean"]).reshape(1, -1, 1, 1)) * s2.reshape(1, -1, 1, 1) + \
            np.abs(p["bn2.bias"]).reshape(1, -1, 1, 1)
    else:
        groups = s["groups"] if kind == "conv" else (s["c"] if kind == "depthwise" else 1)
        y = act(s, conv2d(x, p["weight"], p.get("bias"), stride, pad, dil, groups))
        mag = conv2d(np.abs(x), np.abs(p["weight"]), np.abs(p["bias"]) if "bias" in p else None,
                     stride, pad, dil, groups)
    if s["layout"] == "nhwc":
        y = y.transpose(0, 2, 3, 1)
        mag = mag.transpose(0, 2, 3, 1)
    # f32 rounding of inputs, products and sums: a few ulps per term, generously bounded.
    return y, 1e-5 * mag + 1e-6


def rng_for(spec_text):
    return np.random.default_rng(zlib.crc32(spec_text.encode()))


def make_params(s, rng):
    p = {}
    for name, shape in param_shapes(s):
        if name.endswith(".running_var") or (name.startswith("bn") and name.endswith(".weight")):
            p[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            p[name] = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    return p


def save_npz(path, p, compressed):
    (np.savez_compressed if compressed else np.savez)(path, **p)


def cmd_make(spec_text, d, extras):
    s = parse(spec_text)
    os.makedirs(d, exist_ok=True)
    rng = rng_for(spec_text)
    np.save(os.path.join(d, "x.npy"), rng.uniform(-1.0, 1.0, input_shape(s)).astype(np.float32))
    p = make_params(s, rng)
    if extras and s["kind"] == "dwsep":
        p["bn1.num_batches_tracked"] = np.array(0, dtype=np.int64)
        p["bn2.num_batches_tracked"] = np.array(0, dtype=np.int64)
    save_npz(os.path.join(d, "p.npz"), p, s["kind"] in ("depthwise", "dwsep"))
    print("made %s: x %s, params %s" % (d, input_shape(s), ", ".join(
        "%s%s" % (k, tuple(v.shape)) for k, v in p.items())))


def cmd_bad(spec_text, d):
    s = parse(spec_text)
    x = np.load(os.path.join(d, "x.npy"))
    p = dict(np.load(os.path.join(d, "p.npz")))
    shape = list(x.shape)
    shape[1] += 1
    np.save(os.path.join(d, "x_shape.npy"), np.zeros(shape, dtype=np.float32))
    np.save(os.path.join(d, "x_i64.npy"), np.zeros(x.shape, dtype=np.int64))
    with open(os.path.join(d, "x.npy"), "rb") as f:
        raw = f.read()
    with open(os.path.join(d, "x_trunc.npy"), "wb") as f:
        f.write(raw[:len(raw) - 8])
    q = {k: v for k, v in p.items() if k != "weight"}
    np.savez(os.path.join(d, "p_noweight.npz"), **q)
    q = dict(p)
    q["running_foo"] = np.zeros((s["cout"],), dtype=np.float32)
    np.savez(os.path.join(d, "p_extra.npz"), **q)
    q = dict(p)
    w = q["weight"]
    q["weight"] = np.zeros(w.shape[:3] + (w.shape[3] + 2,), dtype=np.float32)
    np.savez_compressed(os.path.join(d, "p_wshape.npz"), **q)
    print("made bad files in %s" % d)


def cmd_check(spec_text, d):
    s = parse(spec_text)
    x = np.load(os.path.join(d, "x.npy"))
    with np.load(os.path.join(d, "p.npz")) as z:
        p = {k: z[k] for k in z.files if not k.endswith("num_batches_tracked")}
    y = np.load(os.path.join(d, "y.npy"))
    ref, tol = reference(s, x, p)
    if y.dtype != np.float32:
        print("MISMATCH: y.npy has dtype %s, expected float32" % y.dtype)
        return 1
    if y.shape != ref.shape:
        print("MISMATCH: y.npy has shape %s, expected %s" % (y.shape, ref.shape))
        return 1
    err = np.abs(y.astype(np.float64) - ref)
    if not np.all(np.isfinite(y)) or np.any(err > tol):
        i = np.unravel_index(int(np.argmax(np.where(np.isfinite(err), err - tol, np.inf))), err.shape)
        print("MISMATCH: max_err=%.3e at %s: got %r, expected %r (tol %.3e)" %
              (float(np.nanmax(err)), tuple(int(v) for v in i), float(y[i]), float(ref[i]), float(tol[i])))
        return 1
    print("max_err=%.3e tol=%.3e shape=%s OK" % (float(err.max()), float(tol.max()),
                                                 "x".join(str(v) for v in y.shape)))
    return 0


def main(argv):
    if len(argv) < 4 or argv[1] not in ("make", "check", "bad"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, spec_text, d = argv[1], argv[2], argv[3]
    if cmd == "make":
        cmd_make(spec_text, d, "--torch-extras" in argv[4:])
        return 0
    if cmd == "bad":
        cmd_bad(spec_text, d)
        return 0
    return cmd_check(spec_text, d)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
