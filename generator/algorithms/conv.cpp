// The regular convolution, with groups.
//
//   out(co, x, y, n) = act(bias[co] + sum_{ci < C/g, kx, ky}
//                      weight(co, ci, kx, ky) * in(g(co) * C/g + ci, x*sw + kx*dw - pad_l,
//                                                  y*sh + ky*dh - pad_t, n)),  g(co) = co / (Cout/g)
//
// The reduction `r` is (ci, kx, ky), ci innermost, so schedules that keep the declared order read
// NHWC inputs contiguously; schedules reorder it for NCHW.
#include "generator/algorithms/algorithm.h"

namespace convgen {

using namespace Halide;

Algorithm build_conv(const LayerSpec &spec) {
    Algorithm a;
    a.spec = spec;
    a.params = make_params(spec);
    // Arguments: input, weight [kh][kw][C/g][Cout] (Halide dims co, ci, kx, ky), bias [Cout]?
    const ImageParam &in = a.params[0], &weight = a.params[1];
    const int cin_g = spec.c / spec.groups, cout_g = spec.cout / spec.groups;
    const Var &c = a.c, &x = a.x, &y = a.y, &n = a.n;

    define_input(a, spec, in);
    a.r = RDom({{0, cin_g}, {0, spec.kw}, {0, spec.kh}}, "r");
    const RVar &ci = a.r[0], &kx = a.r[1], &ky = a.r[2];
    const Expr in_c = spec.groups == 1 ? Expr(ci) : (c / cout_g) * cin_g + ci;

    a.conv = Func("conv");
    a.conv(c, x, y, n) = spec.bias ? a.params[2](c) : Expr(0.0f);
    a.conv(c, x, y, n) += weight(c, ci, kx, ky) *
                          a.input(in_c, x * spec.sw + kx * spec.dw - spec.pad_l,
                                  y * spec.sh + ky * spec.dh - spec.pad_t, n);
    define_output(a);
    return a;
}

}  // namespace convgen
