// The double-precision reference of the four convolution kinds, and what the numerical tests
// need around it: deterministic random inputs/parameters and a justified tolerance.
//
// Entry points:
//   reference_forward(spec, input, params)  the layer's output, double, in the layer's layout
//   expected_params(spec)                   the PyTorch state_dict names and shapes it takes
//   input_shape(spec) / output_shape(spec)  (n,c,h,w) or (n,h,w,c) as the layout says
//   random_input(spec, seed) / random_params(spec, seed)   deterministic test data
//   tolerance(spec)                         the bound on |f32 kernel - reference|
//   compare(out, ref, tol)                  max abs error, where, and whether it is within tol
//
// Parameters are PyTorch's (state_dict names and OIHW shapes), never the kernel's packed
// layouts, so that a .npz saved from a torch module checks a kernel directly:
//   conv       "weight" (cout, c/groups, kh, kw), "bias" (cout) iff spec.bias
//   pointwise  "weight" (cout, c, 1, 1), "bias" (cout) iff spec.bias
//   depthwise  "weight" (c*m, 1, kh, kw), "bias" (c*m) iff spec.bias; output channel o reads
//              input channel o / m (PyTorch groups=c)
//   dwsep      "dw.weight" (c, 1, kh, kw), "dw.bias" iff bias, "bn1.{weight,bias,running_mean,
//              running_var}" (c), act, "pw.weight" (cout, c, 1, 1), "pw.bias" iff bias,
//              "bn2.*" (cout), act. "bn1/bn2.num_batches_tracked" (in every torch state_dict)
//              are ignored if present.
// BatchNorm is computed as written, (v - mean) / sqrt(var + eps) * weight + bias: the kernels
// fold it into the weights, so the reference must not, or it could share a folding bug.
// Every mismatch throws SpecError naming the tensor: "params: 'weight' has shape (4,3,3,3),
// expected (4,3,5,5)", "params: missing 'bn1.running_var'", "params: unexpected 'bias' (layer
// has bias=0)", "input: shape (1,3,8,8), expected (1,3,4,4) (nchw)".
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"

namespace convgen {

// Shapes in the layer's layout: NCHW (n,c,h,w) / NHWC (n,h,w,c); output uses cout, out_h, out_w.
std::vector<int64_t> input_shape(const LayerSpec &s);
std::vector<int64_t> output_shape(const LayerSpec &s);

// The parameters reference_forward takes, in a fixed order (weights before biases, dw before pw).
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_params(const LayerSpec &s);

// input: the layer's input in its layout; returns the output in the layer's layout.
std::vector<double> reference_forward(const LayerSpec &s, const Tensor &input, const NamedTensors &params);
// The same with a double input (input_shape(s) elements), for composing references exactly.
std::vector<double> reference_forward(const LayerSpec &s, const std::vector<double> &input,
                                      const NamedTensors &params);

// Deterministic (splitmix64; each tensor has its own stream derived from seed and its name, so
// adding a tensor never changes the others). Values uniform in [-1, 1]; BatchNorm weight and
// running_var uniform in [0.5, 1.5] (running_mean and bias in [-1, 1]).
Tensor random_input(const LayerSpec &s, uint64_t seed);
NamedTensors random_params(const LayerSpec &s, uint64_t seed);

// Bound on max |f32 kernel output - reference| for data from random_input/random_params
// (derivation in reference.cpp). Wrong taps, missing biases and wrong BN fold give errors of
// order 0.1-1 with these ranges and lie far above it.
double tolerance(const LayerSpec &s);

struct Comparison {
    double max_abs_err = 0;   // +inf if out holds a NaN or an infinity
    double tol = 0;
    int64_t worst_index = -1; // flat index of max_abs_err in the layout's order; -1 if empty
    bool ok = true;           // max_abs_err <= tol
};
// Throws SpecError if the sizes differ.
Comparison compare(const std::vector<float> &out, const std::vector<double> &ref, double tol);

}  // namespace convgen
