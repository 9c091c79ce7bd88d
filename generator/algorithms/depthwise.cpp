// The depthwise convolution, with channel multiplier m (Cout = C * m).
//
//   out(co, x, y, n) = act(bias[co] + sum_{kx, ky} weight(co, kx, ky) *
//                          in(co / m, x*sw + kx*dw - pad_l, y*sh + ky*dh - pad_t, n))
//
// The reduction `r` is (kx, ky).
#include "generator/algorithms/algorithm.h"

namespace convgen {

using namespace Halide;

Algorithm build_depthwise(const LayerSpec &spec) {
    Algorithm a;
    a.spec = spec;
    a.params = make_params(spec);
    // Arguments: input, weight [kh][kw][C*m] (Halide dims co, kx, ky), bias [C*m]?
    const ImageParam &in = a.params[0], &weight = a.params[1];
    const Var &c = a.c, &x = a.x, &y = a.y, &n = a.n;
    const int m = spec.multiplier;

    define_input(a, spec, in);
    a.r = RDom({{0, spec.kw}, {0, spec.kh}}, "r");
    const RVar &kx = a.r[0], &ky = a.r[1];
    a.conv = Func("conv");
    a.conv(c, x, y, n) = spec.bias ? a.params[2](c) : Expr(0.0f);
    a.conv(c, x, y, n) += weight(c, kx, ky) *
                          input_at_stride(a, m == 1 ? Expr(c) : c / m, x, kx,
                                          y * spec.sh + ky * spec.dh - spec.pad_t, n);
    define_output(a);
    return a;
}

}  // namespace convgen
