#!/usr/bin/env python3
"""The float64 reference of the example's MobileNet block; writes what main.c checks against.

Usage: reference.py expected.bin

It builds the same input and weights as main.c (value() is the same formula, with the same
tensor ids), runs the block in float64 with numpy, and writes the three layer outputs (NHWC,
float64, little-endian) one after another. Each layer starts from the previous layer's
reference output, as main.c starts from its kernel's output.
"""
import sys

import numpy as np

EPS = 1e-5  # main.c passes the same BN epsilon to convgen_prepare_params


def value(tensor_id, shape, offset=0.0):
    """Same as main.c's value(): element i (row-major) of tensor number tensor_id."""
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (offset + ((i * 7 + tensor_id * 13) % 17 - 8) / 32.0).reshape(shape)


def conv2d_nhwc(x, w_oihw, bias, stride, pad, depthwise=False):
    """PyTorch's conv2d on an NHWC input: OIHW weight (depthwise: (C, 1, kh, kw)), zero padding."""
    n, h, wd, c = x.shape
    o, _, kh, kw = w_oihw.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, ho, wo, o))
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, ky:ky + stride * (ho - 1) + 1:stride, kx:kx + stride * (wo - 1) + 1:stride, :]
            if depthwise:
                out += patch * w_oihw[:, 0, ky, kx]
            else:
                out += patch @ w_oihw[:, :, ky, kx].T
    return out + bias


def batchnorm(x, gamma, beta, mean, var):
    return (x - mean) / np.sqrt(var + EPS) * gamma + beta


def relu(x):
    return np.maximum(x, 0.0)


def stem(x, tid):
    """conv 3x3 stride 2 pad 1 + bias + ReLU; tensors "weight", "bias" are ids tid, tid + 1."""
    c, co = x.shape[3], 16
    return relu(conv2d_nhwc(x, value(tid, (co, c, 3, 3)), value(tid + 1, (co,)), 2, 1))


def dwsep(x, cout, stride, tid):
    """depthwise 3x3 + bias -> BN -> ReLU -> pointwise + bias -> BN -> ReLU.

    Tensor ids in main.c's order: dw.weight, dw.bias, bn1.{weight, bias, running_mean,
    running_var}, pw.weight, pw.bias, bn2.{...}; BN weights and variances have offset 1."""
    c = x.shape[3]

    def bn(first, ch):
        return (value(first, (ch,), 1.0), value(first + 1, (ch,)), value(first + 2, (ch,)), value(first + 3, (ch,), 1.0))

    y = conv2d_nhwc(x, value(tid, (c, 1, 3, 3)), value(tid + 1, (c,)), stride, 1, depthwise=True)
    y = relu(batchnorm(y, *bn(tid + 2, c)))
    y = conv2d_nhwc(y, value(tid + 6, (cout, c, 1, 1)), value(tid + 7, (cout,)), 1, 0)
    return relu(batchnorm(y, *bn(tid + 8, cout)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: reference.py expected.bin")
    x = value(1, (1, 32, 32, 3))  # the input, NHWC
    outputs = [stem(x, 10)]                          # layer 0: ids 10..
    outputs.append(dwsep(outputs[-1], 32, 1, 20))    # layer 1: ids 20..
    outputs.append(dwsep(outputs[-1], 64, 2, 30))    # layer 2: ids 30..
    with open(sys.argv[1], "wb") as f:
        for y in outputs:
            f.write(y.astype("<f8").tobytes())
    print("reference: wrote %s (%s)" % (sys.argv[1], ", ".join("x".join(map(str, y.shape)) for y in outputs)))


if __name__ == "__main__":
    main()
