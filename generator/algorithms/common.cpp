// Shared pieces of the algorithms: the kernel's ImageParams, the zero-padded input view, the
// activation and the layout-ordered output Func.
//
// Entry points (declared in algorithm.h): make_params, pointwise_weight, define_input, input_at_stride, activate,
// define_output.
// Everything here is pure math; nothing reads a Target.
#include "generator/algorithms/algorithm.h"

namespace convgen {

using namespace Halide;

std::vector<ImageParam> make_params(const LayerSpec &spec) {
    std::vector<ImageParam> params;
    for (const ArgInfo &a : kernel_args(spec)) {
        if (a.is_output) continue;
        // ArgInfo shapes are outermost-first; Halide dims are innermost-first.
        const int dims = int(a.shape.size());
        ImageParam p(Float(32), dims, a.name);
        Region estimates;
        int stride = 1;
        for (int d = 0; d < dims; d++) {
            const int extent = int(a.shape[dims - 1 - d]);
            p.dim(d).set_bounds(0, extent).set_stride(stride);
            estimates.push_back(Range(0, extent));
            stride *= extent;
        }
        p.set_estimates(estimates);
        params.push_back(p);
    }
    return params;
}

Expr pointwise_weight(const LayerSpec &spec, const ImageParam &w, const Expr &co, const Expr &ci) {
    if (spec.pw_block <= 0) return w(co, ci);
    return w(co % spec.pw_block, ci, co / spec.pw_block);
}

void define_input(Algorithm &a, const LayerSpec &spec, const ImageParam &in) {
    const Var &c = a.c, &x = a.x, &y = a.y, &n = a.n;
    const bool nchw = spec.layout == Layout::NCHW;
    // When no read leaves the image the boundary condition is vacuous and the select it costs in
    // inner loops is left out.
    const bool inside = !spec.reads_padding();

    Func src = in;
    if (!inside) {
        // Only the spatial dims are bounded: channels and batch are never read out of range.
        Region spatial(4);
        if (nchw) {
            spatial[0] = Range(0, spec.w);
            spatial[1] = Range(0, spec.h);
        } else {
            spatial[1] = Range(0, spec.w);
            spatial[2] = Range(0, spec.h);
        }
        // One dim at a time (rows outside, columns inside): the column condition then stands
        // alone, and loop partitioning keeps its selects in the edge vectors of each row.
        Region rows(4), cols(4);
        rows[nchw ? 1 : 2] = spatial[nchw ? 1 : 2];
        cols[nchw ? 0 : 1] = spatial[nchw ? 0 : 1];
        src = BoundaryConditions::constant_exterior(BoundaryConditions::constant_exterior(in, 0.0f, cols), 0.0f, rows);
    }
    Func f("input_padded");
    if (nchw) {
        Func planes("input_planes");
        planes(x, y, c, n) = src(x, y, c, n);
        f(c, x, y, n) = planes(x, y, c, n);
        a.input_planes = planes;
    } else {
        f(c, x, y, n) = src(c, x, y, n);
    }
    a.input = f;
    if (nchw && spec.sw > 1) {
        Func phases("input_phases");
        phases(c, x, a.phase, y, n) = f(c, x * spec.sw + a.phase, y, n);
        a.input_phases = phases;
    }
}

Expr input_at_stride(const Algorithm &a, const Expr &c, const Expr &x, const Expr &kx, const Expr &y, const Expr &n) {
    const LayerSpec &s = a.spec;
    const int sw = s.sw;
    if (!a.input_phases.defined()) return a.input(c, x * sw + kx * s.dw - s.pad_l, y, n);
    // x*sw + kx*dw - pad_l = (x + (kx*dw - pad_l)/sw)*sw + (kx*dw - pad_l)%sw; Halide's division
    // and modulo round toward -infinity. When the dilation is a multiple of the stride every tap
    // reads the one phase (-pad_l) mod sw: said as a constant, bounds inference asks for that
    // phase alone (a dilated stride-2 window reads half the input).
    if (s.dw % sw == 0) {
        const int p = ((-s.pad_l) % sw + sw) % sw;
        return a.input_phases(c, x + kx * (s.dw / sw) + (-s.pad_l - p) / sw, p, y, n);
    }
    const Expr t = kx * s.dw - s.pad_l;
    return a.input_phases(c, x + t / sw, t % sw, y, n);
}

Expr activate(Expr v, Act act) {
    switch (act) {
    case Act::None: return v;
    case Act::Relu: return max(v, 0.0f);
    case Act::Relu6: return clamp(v, 0.0f, 6.0f);
    }
    return v;
}

void define_output(Algorithm &alg) {
    const LayerSpec &s = alg.spec;
    const bool nchw = s.layout == Layout::NCHW;
    Func out("output");
    const Var &c = alg.c, &x = alg.x, &y = alg.y, &n = alg.n;
    const Expr v = alg.plane.defined() ? alg.plane(c, x + y * s.out_w(), 0, n) : activate(alg.conv(c, x, y, n), s.act);
    if (nchw)
        out(x, y, c, n) = v;
    else
        out(c, x, y, n) = v;

    // Fixed shape, dense strides, innermost first in the layout's order.
    const int extents_nchw[4] = {s.out_w(), s.out_h(), s.cout, s.n};
    const int extents_nhwc[4] = {s.cout, s.out_w(), s.out_h(), s.n};
    const int *e = nchw ? extents_nchw : extents_nhwc;
    Region estimates;
    int stride = 1;
    for (int d = 0; d < 4; d++) {
        out.output_buffer().dim(d).set_bounds(0, e[d]).set_stride(stride);
        estimates.push_back(Range(0, e[d]));
        stride *= e[d];
    }
    out.set_estimates(estimates);
    alg.output = out;
}

}  // namespace convgen
