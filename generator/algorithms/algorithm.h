// The Halide algorithms: pure math, no target code, no scheduling.
//
// build_algorithm(spec) returns the pipeline of one layer as a plain struct of Funcs and Vars that
// schedules/ then schedules (see schedules/schedule.h). One file per kind implements it:
//   conv.cpp (regular, with groups), pointwise.cpp (1x1), depthwise.cpp (with channel multiplier),
//   dwsep.cpp (dw -> folded BN -> act -> pw -> folded BN -> act, fused), and winograd.cpp (the
//   regular 3x3 stride-1 conv as Winograd F(m, 3), for specs with algo=winograd).
//
// Conventions every algorithm follows, so that schedules can rely on them:
//  - Internal Funcs are indexed (c, x, y, n): channel innermost, then width, height, batch.
//  - `input` is the boundary-conditioned input (zero outside the image), indexed (c, x, y, n).
//  - `output` is the Func compiled as the pipeline output; its argument order is the layout's
//    memory order innermost first: NCHW -> output(x, y, c, n), NHWC -> output(c, x, y, n).
//  - Every buffer has a fixed shape and dense strides (set on the ImageParams), so Halide
//    specializes on the layer and checks callers.
//  - Weights arrive packed as the runtime prepares them (generator/layer_spec.h kernel_args()):
//    conv HWIO (Halide dims co, ci, kx, ky), Winograd conv U (co, ci, ex, ey), pointwise IO (co, ci)
//    or blocked Oi<B>o (co % B, ci, co / B; read through pointwise_weight()), depthwise HWC
//    (c, kx, ky), biases C. BatchNorm is already folded into weights and biases.
#pragma once

#include "Halide.h"
#include "generator/spec/layer_spec.h"

#include <vector>

namespace convgen {

struct Algorithm {
    LayerSpec spec;
    std::vector<Halide::ImageParam> params;  // in kernel argument order (kernel_args(spec))
    Halide::Var c{"c"}, x{"x"}, y{"y"}, n{"n"};

    Halide::Func input;   // (c, x, y, n), zero-padded view of the input buffer
    Halide::Func input_planes;  // NCHW only: the same in the buffer's order (x, y, c, n); input reads it
    // NCHW with stride sw > 1 only: input split into its sw phases along x, (c, xh, phase, y, n)
    // = input(c, xh*sw + phase, y, n). Windowed reads go through it (input_at_stride), so a
    // schedule that stores it turns each tap of an x-vector (NCHW vectors run along x) into a
    // dense load; inlined, it is the plain read.
    Halide::Func input_phases;
    Halide::Var phase{"phase"};
    Halide::Func conv;    // (c, x, y, n): pure init (bias or 0) + one update over `r`
    Halide::RDom r;       // the reduction of `conv`
    Halide::Func output;  // layout order (see above): activation of conv

    // Pointwise over the flattened plane only (build_algorithm's flat_plane): conv's x is the
    // pixel's index p = x + y * W in its plane and its y is 0; plane(c, p, 0, n) is the activation
    // of conv, and output(x, y, c, n) reads plane(c, x + y * W, 0, n).
    Halide::Func plane;

    // dwsep only: the depthwise stage, after folded BN and activation, (c, x, y, n), and its
    // reduction. `conv` is then the pointwise stage that consumes it.
    Halide::Func dw;
    Halide::Func dw_acc;  // (c, x, y, n): init + update over `dw_r`
    Halide::RDom dw_r;

    // Winograd conv only (winograd.cpp): F(m, 3) over tiles (tx, ty) of m x m outputs, with
    // alpha = m + 2 transform points (ex, ey) per side. `conv` reads wino_out's valid part.
    int wino_m = 0;
    Halide::Var ex{"ex"}, ey{"ey"}, tx{"tx"}, ty{"ty"}, ox{"ox"}, oy{"oy"};
    Halide::Func wino_in_x;  // (c, ex, y_in_tile, tx, ty, n): B^T along x
    Halide::Func wino_in;    // (c, ex, ey, tx, ty, n): V = B^T d B
    Halide::Func wino_prod;  // (co, ex, ey, tx, ty, n): M = sum_ci U(co, ci, ex, ey) V(ci, ...), update over `r`
    Halide::Func wino_out_x; // (co, ox, ey, tx, ty, n): A^T along x
    Halide::Func wino_out;   // (co, ox, oy, tx, ty, n): A^T M A
};

// flat_plane (flat_plane_eligible layers): the pointwise GEMM runs over each image's plane as one
// row of H * W pixels (Algorithm::plane), so that a schedule's tiles may span rows.
Algorithm build_algorithm(const LayerSpec &spec, bool flat_plane = false);

// One per kind (one file each); build_algorithm dispatches on spec.kind.
Algorithm build_conv(const LayerSpec &spec);
Algorithm build_pointwise(const LayerSpec &spec, bool flat_plane);
Algorithm build_depthwise(const LayerSpec &spec);
Algorithm build_dwsep(const LayerSpec &spec);
Algorithm build_winograd(const LayerSpec &spec);  // kind conv with algo=winograd
// G of Winograd F(m, 3) ((m + 2) x 3, row-major) for the runtime's weight packing, which the
// generated registry hands it (convgen_kernel.weight_transform); m = winograd_tile(spec).
std::vector<double> winograd_weight_transform(int m);

// Shared pieces of the algorithms (common.cpp).
// ImageParams for kernel_args(spec) minus the output, with fixed bounds and dense strides.
std::vector<Halide::ImageParam> make_params(const LayerSpec &spec);
// The pointwise weight w(co, ci) from its param, in either packed layout (spec.pw_block).
Halide::Expr pointwise_weight(const LayerSpec &spec, const Halide::ImageParam &w, const Halide::Expr &co,
                              const Halide::Expr &ci);
// Defines a.input: the (c, x, y, n) view of the input param `in` of `spec`, zero outside
// [0,C) x [0,W) x [0,H); for NCHW also a.input_planes, the same in the buffer's order.
void define_input(Algorithm &a, const LayerSpec &spec, const Halide::ImageParam &in);
// input(c, x*sw + kx*dw - pad_l, y, n), the input under window tap kx along x, read through
// a.input_phases where define_input defined it.
Halide::Expr input_at_stride(const Algorithm &a, const Halide::Expr &c, const Halide::Expr &x, const Halide::Expr &kx,
                             const Halide::Expr &y, const Halide::Expr &n);
Halide::Expr activate(Halide::Expr v, Act act);
// Defines alg.output from alg.conv with the activation (through alg.plane where defined) in the
// layout's argument order.
void define_output(Algorithm &alg);

}  // namespace convgen
