// The pointwise (1x1) convolution: channel mixing; stride and padding are honoured.
//
//   out(co, x, y, n) = act(bias[co] + sum_{ci < C} weight(co, ci) * in(ci, x*sw - pad_l, y*sh - pad_t, n))
//
// Over the flattened plane (flat_plane): the same sum for pixel p = x + y * W of the plane,
//   plane(co, p, 0, n) = act(bias[co] + sum_{ci < C} weight(co, ci) * in(ci, p % W, p / W, n)),
//   out(co, x, y, n) = plane(co, x + y * W, 0, n).
// Halide folds (p % W) + (p / W) * W back into p, so a vector of p reads one dense vector.
#include "generator/algorithms/algorithm.h"

namespace convgen {

using namespace Halide;

Algorithm build_pointwise(const LayerSpec &spec, bool flat_plane) {
    Algorithm a;
    a.spec = spec;
    a.params = make_params(spec);
    // Arguments: input, weight [C][Cout] (Halide dims co, ci) or blocked [Cout/B][C][B], bias [Cout]?
    const ImageParam &in = a.params[0], &weight = a.params[1];
    const Var &c = a.c, &x = a.x, &y = a.y, &n = a.n;

    define_input(a, spec, in);
    a.r = RDom({{0, spec.c}}, "r");
    a.conv = Func("conv");
    a.conv(c, x, y, n) = spec.bias ? a.params[2](c) : Expr(0.0f);
    if (flat_plane) {
        a.conv(c, x, y, n) += pointwise_weight(spec, weight, c, a.r.x) * a.input(a.r.x, x % spec.w, x / spec.w, n);
        a.plane = Func("plane");
        a.plane(c, x, y, n) = activate(a.conv(c, x, y, n), spec.act);
    } else {
        a.conv(c, x, y, n) += pointwise_weight(spec, weight, c, a.r.x) *
                              a.input(a.r.x, x * spec.sw - spec.pad_l, y * spec.sh - spec.pad_t, n);
    }
    define_output(a);
    return a;
}

}  // namespace convgen
