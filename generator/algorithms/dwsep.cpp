// The depthwise separable block, fused: depthwise k x k -> (folded BN) -> dw act -> pointwise 1x1 ->
// (folded BN) -> act (dw act is spec.dw_stage_act(): act unless the layer gives one per stage,
// as MobileNet v2's linear projection does with act=relu6:none). The runtime folds both BatchNorms into the weights and biases, so the
// kernel sees only affine stages:
//
//   dw(c, x, y, n)   = dw_act(dw_bias[c] + sum_{kx, ky} dw_weight(c, kx, ky) *
//                          in(c, x*sw + kx*dw - pad_l, y*sh + ky*dh - pad_t, n))
//   out(co, x, y, n) = act(pw_bias[co] + sum_{ci < C} pw_weight(co, ci) * dw(ci, x, y, n))
//
// `dw_acc` carries the depthwise reduction `dw_r` (kx, ky); `conv` is the pointwise stage with
// reduction `r` (ci).
#include "generator/algorithms/algorithm.h"

namespace convgen {

using namespace Halide;

Algorithm build_dwsep(const LayerSpec &spec) {
    Algorithm a;
    a.spec = spec;
    a.params = make_params(spec);
    // Arguments: input, dw_weight [kh][kw][C] (c, kx, ky), dw_bias [C], pw_weight [C][Cout]
    // (co, ci) or blocked [Cout/B][C][B], pw_bias [Cout].
    const ImageParam &in = a.params[0], &dw_weight = a.params[1], &dw_bias = a.params[2],
                     &pw_weight = a.params[3], &pw_bias = a.params[4];
    const Var &c = a.c, &x = a.x, &y = a.y, &n = a.n;

    define_input(a, spec, in);
    a.dw_r = RDom({{0, spec.kw}, {0, spec.kh}}, "dw_r");
    const RVar &kx = a.dw_r[0], &ky = a.dw_r[1];
    a.dw_acc = Func("dw_acc");
    a.dw_acc(c, x, y, n) = dw_bias(c);
    a.dw_acc(c, x, y, n) += dw_weight(c, kx, ky) *
                            input_at_stride(a, c, x, kx,
                                            y * spec.sh + ky * spec.dh - spec.pad_t, n);
    a.dw = Func("dw");
    a.dw(c, x, y, n) = activate(a.dw_acc(c, x, y, n), spec.dw_stage_act());

    a.r = RDom({{0, spec.c}}, "r");
    a.conv = Func("conv");
    a.conv(c, x, y, n) = pw_bias(c);
    a.conv(c, x, y, n) += pointwise_weight(spec, pw_weight, c, a.r.x) * a.dw(a.r.x, x, y, n);
    define_output(a);
    return a;
}

}  // namespace convgen
