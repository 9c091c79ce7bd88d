// Helpers shared by the ARM (AArch64 NEON) hand schedules: tile sizes for a 128-bit, 32-register
// machine, clamped to a layer's fixed extents, and the two register-blocked GEMM-like schedules
// that conv, pointwise and the pointwise half of dwsep share.
//
// Sizing (from target_facts: 32 vector registers of 4 fp32 lanes):
//  - A register tile holds at most 20 accumulators. The other 12 registers keep the tile's weight
//    vectors (up to 4), the broadcast inputs and loads in flight; AArch64's `fmla vd.4s, vn.4s,
//    vm.s[i]` takes a lane of a register directly, so one loaded vector serves 4 broadcasts.
//  - NHWC: up to 4 channel vectors (16 channels) x 5 columns, or 2 x 6 / 1 x 6 for narrow outputs.
//  - NCHW: up to 2 x-vectors (8 pixels) x 2 rows x 5 output channels.
//
// Tail care (as on x86): every split is exact or ShiftInwards with a factor <= the extent, and
// RoundUp only splits a Func computed inside a tile whose extent is a multiple of the factor, so
// no loop reads or writes outside the fixed-shape buffers (Halide checks that at run time).
#pragma once

#include "Halide.h"
#include "algorithms/algorithm.h"
#include "target_facts.h"

#include <algorithm>
#include <vector>

namespace convgen {
namespace arm {

using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Target;
using Halide::Var;
using Halide::VarOrRVar;

inline int pow2_floor(int v) {
    int p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

// Accumulators a register tile may hold (see above): 20 of 32 NEON registers.
inline int accumulator_budget(const TargetFacts &f) { return f.vector_registers * 5 / 8; }

// Vector width along a dim of `extent`: the full 4 lanes when the dim has them, else the widest
// power of two that fits (2 or 1), so a vector never exceeds the dim (ShiftInwards needs that).
inline int pick_vector(int lanes, int extent) { return std::min(lanes, pow2_floor(std::max(1, extent))); }

// Points (each `width` accumulators wide) along a dim of `extent`, at most `max_points`:
// minimises loads per FMA over the whole dim, counting the points the shifted last tile redoes.
inline int pick_points(int max_points, int width, int extent) {
    max_points = std::max(1, std::min(max_points, extent));
    int best = 1;
    double best_cost = 1e30;
    for (int t = 1; t <= max_points; t++) {
        const double tiles = (extent + t - 1) / t;
        const double cost = tiles * t * (1.0 / width + 1.0 / t);
        if (cost < best_cost - 1e-9) best = t, best_cost = cost;
    }
    return best;
}

inline void vectorize_if(Func f, const VarOrRVar &v, int factor) {
    if (factor > 1) f.vectorize(v, factor, TailStrategy::ShiftInwards);
}

// Mirrors zero_padded_input(): true when some output reads outside the image.
inline bool reads_padding(const LayerSpec &s) {
    const int max_x = (s.out_w() - 1) * s.sw + (s.kw - 1) * s.dw - s.pad_l;
    const int max_y = (s.out_h() - 1) * s.sh + (s.kh - 1) * s.dh - s.pad_t;
    return !(s.pad_l == 0 && s.pad_t == 0 && max_x < s.w && max_y < s.h);
}

// Materialises the zero-padded input once (conv, pointwise), in the layout's order, vectorized
// along its innermost dim, so the inner loops load instead of clamp + select.
inline void materialize_padded_input(Algorithm &a, const TargetFacts &f) {
    const LayerSpec &s = a.spec;
    if (!reads_padding(s)) return;
    a.input.compute_root();
    if (s.layout == Layout::NHWC) {
        vectorize_if(a.input, a.c, pick_vector(f.f32_lanes(), s.c));
        a.input.parallel(a.y);
    } else {
        a.input.reorder_storage(a.x, a.y, a.c, a.n).reorder(a.x, a.y, a.c, a.n);
        vectorize_if(a.input, a.x, pick_vector(f.f32_lanes(), s.w));
        a.input.parallel(a.c);
    }
}

// NHWC tile: cw vectors of v output channels x tx output columns.
struct NhwcTile {
    int v, cw, tx;
};
inline NhwcTile nhwc_tile(const LayerSpec &s, const TargetFacts &f) {
    NhwcTile t;
    t.v = pick_vector(f.f32_lanes(), s.cout);
    t.cw = std::max(1, std::min(4, s.cout / t.v));
    t.tx = pick_points(std::min(6, accumulator_budget(f) / t.cw), t.cw, s.out_w());
    return t;
}

// NCHW tile: xw vectors of v pixels along x x ty rows x tc output channels.
struct NchwTile {
    int v, xw, ty, tc;
};
inline NchwTile nchw_tile(const LayerSpec &s, const TargetFacts &f) {
    NchwTile t;
    const int W = s.out_w(), H = s.out_h();
    t.v = pick_vector(f.f32_lanes(), W);
    t.xw = std::max(1, std::min(2, W / t.v));
    // One x-vector when a second would leave a large shifted tail.
    if (t.xw == 2 && W % (2 * t.v) != 0 && W % (2 * t.v) < t.v) t.xw = 1;
    t.ty = std::max(1, std::min(H, 4 / t.xw));
    t.tc = std::max(1, std::min({s.cout, 5, accumulator_budget(f) / (t.xw * t.ty)}));
    return t;
}

// Register-blocked NHWC schedule of `a.conv` (reduction `red`, innermost first) into `a.output`
// (c, x, y, n). Loops, innermost first:
//   [ci: cw channel vectors][xi: tx columns]   register tile, unrolled
//   xo | yr (rows of a block) | co (channel blocks) | yb (row blocks) | n
// The whole reduction runs outside the register tile: each step loads cw weight vectors and
// broadcasts tx inputs for cw * tx FMAs. Returns yb (one row block), where dwsep computes its
// depthwise stage; row blocks run in parallel when there are several, else the rows of one do.
inline Var schedule_gemm_nhwc(Algorithm &a, const Target &t, const std::vector<RVar> &red, int row_block) {
    const LayerSpec &s = a.spec;
    const NhwcTile k = nhwc_tile(s, target_facts(t));
    const int H = s.out_h();
    row_block = std::max(1, std::min(row_block, H));
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr");
    Func out = a.output;
    out.split(a.c, co, ci, k.v * k.cw, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, k.tx, TailStrategy::ShiftInwards)
        .split(a.y, yb, yr, row_block, TailStrategy::ShiftInwards)
        .reorder(ci, xi, xo, yr, co, yb, a.n);
    vectorize_if(out, ci, k.v);
    out.unroll(ci).unroll(xi);
    if ((H + row_block - 1) / row_block >= 2) out.parallel(yb);
    else out.parallel(yr);
    if (s.n > 1) out.parallel(a.n);

    a.conv.compute_at(out, xo);
    vectorize_if(a.conv, a.c, k.v);
    a.conv.unroll(a.c).unroll(a.x);
    Halide::Stage u = a.conv.update();
    Var cv("cv"), cl("cl");
    std::vector<VarOrRVar> order;
    if (k.v > 1) {
        u.split(a.c, cv, cl, k.v, TailStrategy::RoundUp).vectorize(cl).unroll(cv);
        order = {cl, cv};
    } else {
        u.unroll(a.c);
        order = {a.c};
    }
    u.unroll(a.x);
    order.push_back(a.x);
    for (const RVar &r : red) order.push_back(r);
    order.push_back(a.y);
    order.push_back(a.n);
    u.reorder(order);
    return yb;
}

// Register-blocked NCHW schedule of `a.conv` into `a.output` (x, y, c, n). Loops, innermost
// first:
//   [xi: xw x-vectors][yi: ty rows][ci: tc channels]   register tile, unrolled
//   then xo, co, yo (co_outside_rows = false) or xo, yo, co (true) | yb (row blocks) | n
// Each reduction step loads xw * ty input vectors and broadcasts tc weights for xw * ty * tc
// FMAs. Returns yb as above.
inline Var schedule_gemm_nchw(Algorithm &a, const Target &t, const std::vector<RVar> &red, int row_block,
                              bool co_outside_rows) {
    const LayerSpec &s = a.spec;
    const NchwTile k = nchw_tile(s, target_facts(t));
    const int H = s.out_h();
    row_block = std::max(k.ty, std::min(row_block, H));
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr"), yo("yo"), yi("yi");
    Func out = a.output;
    out.split(a.x, xo, xi, k.v * k.xw, TailStrategy::ShiftInwards)
        .split(a.c, co, ci, k.tc, TailStrategy::ShiftInwards)
        .split(a.y, yb, yr, row_block, TailStrategy::ShiftInwards)
        .split(yr, yo, yi, k.ty, TailStrategy::ShiftInwards);
    if (co_outside_rows) out.reorder(xi, yi, ci, xo, yo, co, yb, a.n);
    else out.reorder(xi, yi, ci, xo, co, yo, yb, a.n);
    vectorize_if(out, xi, k.v);
    out.unroll(xi).unroll(yi).unroll(ci);
    if ((H + row_block - 1) / row_block >= 2) out.parallel(yb);
    else if (co_outside_rows) out.parallel(co);
    else out.parallel(yo);
    if (s.n > 1) out.parallel(a.n);

    // x innermost in the accumulator tile too, so each accumulator is one whole vector.
    a.conv.compute_at(out, xo).reorder_storage(a.x, a.y, a.c, a.n);
    vectorize_if(a.conv, a.x, k.v);
    a.conv.unroll(a.x).unroll(a.y).unroll(a.c);
    Halide::Stage u = a.conv.update();
    Var xv("xv"), xl("xl");
    std::vector<VarOrRVar> order;
    if (k.v > 1) {
        u.split(a.x, xv, xl, k.v, TailStrategy::RoundUp).vectorize(xl).unroll(xv);
        order = {xl, xv};
    } else {
        u.unroll(a.x);
        order = {a.x};
    }
    u.unroll(a.y).unroll(a.c);
    order.push_back(a.y);
    order.push_back(a.c);
    for (const RVar &r : red) order.push_back(r);
    order.push_back(a.n);
    u.reorder(order);
    return yb;
}

}  // namespace arm
}  // namespace convgen
