// Helpers shared by the x86 hand schedules: tile-size choices clamped to a layer's fixed extents,
// and the two register-blocked "GEMM-like" schedules that conv and pointwise (and the pointwise
// half of dwsep) share.
//
// Every split here is either exact or ShiftInwards with a factor <= the extent, so no loop reads
// or writes outside the fixed-shape buffers (Halide checks that at run time).
#pragma once

#include "Halide.h"
#include "algorithms/algorithm.h"
#include "target_facts.h"

#include <algorithm>
#include <vector>

namespace convgen {
namespace x86 {

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

// The vector width for a dim of `extent` elements: lanes or lanes/2, whichever recomputes fewer
// elements in the shifted last vector (ties go to the wider); a power of two <= extent when the
// dim is narrower than both.
inline int pick_vector(int lanes, int extent) {
    int best = 0, best_waste = 0;
    for (int v : {lanes, lanes / 2}) {
        if (v < 1 || v > extent) continue;
        const int waste = (extent + v - 1) / v * v - extent;
        if (best == 0 || waste < best_waste) best = v, best_waste = waste;
    }
    return best ? best : pow2_floor(std::max(1, extent));
}

// The number of points (each `width` accumulators wide) along a dim of `extent` for a register
// tile of at most `max_points`: minimises the loads per FMA over the whole dim, counting the
// points recomputed by the shifted last tile.
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

// Accumulators a register tile may hold: the rest of the register file keeps the weight vectors,
// a broadcast and the loads in flight.
inline int accumulator_budget(const TargetFacts &f) { return f.vector_registers >= 32 ? 24 : 12; }

inline void vectorize_if(Func f, const VarOrRVar &v, int factor) {
    if (factor > 1) f.vectorize(v, factor, TailStrategy::ShiftInwards);
}

// Mirrors zero_padded_input(): true when some output reads outside the image, i.e. `input`
// carries a select and is worth materialising once.
inline bool reads_padding(const LayerSpec &s) {
    const int max_x = (s.out_w() - 1) * s.sw + (s.kw - 1) * s.dw - s.pad_l;
    const int max_y = (s.out_h() - 1) * s.sh + (s.kh - 1) * s.dh - s.pad_t;
    return !(s.pad_l == 0 && s.pad_t == 0 && max_x < s.w && max_y < s.h);
}

// Register-blocked NHWC schedule of `conv` (reduction `red`, innermost first) into `output`
// (c, x, y, n): a tile of cw vectors of output channels x tx output columns is accumulated in
// registers while the whole reduction runs outside it (weights: cw vector loads per step,
// input: tx broadcasts per step). Channel blocks are outermost so a block's weights stay in L2
// while every row passes; rows run in parallel. If `row_block` is given it is set to the loop
// that one row (of output, all channels) hangs at, for producers computed per row.
struct NhwcTile {
    int v, cw, tx;
};
// The (cw, tx) pair is chosen by a small throughput model over the whole layer rather than a
// fixed shape: the shifted last tile along x (ShiftInwards) and along channels recomputes
// outputs, which at W = 56 or 14 with tx = 6 wasted 7% of all FMAs. Per reduction step a tile
// issues cw*tx vector FMAs and cw + tx loads (weights, broadcasts); with ~2 FMAs and ~2 loads
// per cycle (both halve together for 512-bit ops on Zen4) its cost is max(cw*tx, cw + tx, the
// FMA latency x throughput a tile needs to hide) over all tiles executed. Registers: cw*tx
// accumulators + cw weight vectors + 1 broadcast <= the register file.
inline NhwcTile nhwc_tile(const LayerSpec &s, const TargetFacts &f) {
    NhwcTile t;
    t.v = pick_vector(f.f32_lanes(), s.cout);
    const int W = s.out_w();
    // Whole vectors only: a channel tile wider than cout would read outside the buffers.
    const int nvec = std::max(1, s.cout / t.v);
    const int max_cw = std::min(nvec, f.vector_registers >= 32 ? 4 : 2);
    t.cw = 1, t.tx = 1;
    double best = 1e300;
    for (int cw = 1; cw <= max_cw; cw++) {
        const int max_tx = std::min(W, (f.vector_registers - cw - 1) / cw);
        const double tiles_c = (s.cout + t.v * cw - 1) / (t.v * cw);
        for (int tx = 1; tx <= max_tx; tx++) {
            const double tiles = tiles_c * ((W + tx - 1) / tx);
            // 8 = 4-cycle FMA latency x 2 FMAs per cycle: fewer accumulators stall.
            const double per_step = std::max({double(cw * tx), double(cw + tx), 8.0});
            // Tie-break towards fewer loads per FMA (measured on P1: 4x4 ~3% faster than 2x14).
            const double cost = tiles * per_step * (1.0 + 1e-3 * (cw + tx) / (cw * tx));
            if (cost < best - 1e-9) best = cost, t.cw = cw, t.tx = tx;
        }
    }
    return t;
}

// NCHW: a tile of xw vectors along x times ty rows times tc output channels; the weights are
// broadcasts (tc per step), the input vector loads (xw * ty per step).
struct NchwTile {
    int v, xw, ty, tc;
};
inline NchwTile nchw_tile(const LayerSpec &s, const TargetFacts &f) {
    NchwTile t;
    const int W = s.out_w(), H = s.out_h();
    t.v = pick_vector(f.f32_lanes(), W);
    const int want = f.vector_registers >= 32 ? 4 : 2;  // x-vectors x rows
    t.xw = std::max(1, std::min(want, W / t.v));
    // Prefer fewer x-vectors if they leave a large shifted tail.
    while (t.xw > 1 && (W % (t.v * t.xw)) != 0 && (W % (t.v * t.xw)) < t.v * t.xw / 2) t.xw--;
    t.ty = std::max(1, std::min(H, want / t.xw));
    t.tc = std::max(1, std::min(s.cout, accumulator_budget(f) / (t.xw * t.ty)));
    return t;
}

// Register-blocked NHWC schedule of `a.conv` (reduction `red`, innermost first) into `a.output`
// (c, x, y, n). Loops, innermost first:
//   [ci: cw vectors of output channels][xi: tx columns]   register tile, unrolled
//   xo (columns) | yr (rows of the block) | co (channel blocks) | yb (row blocks) | n
// The whole reduction runs outside the register tile (conv.update()), so each reduction step
// loads cw weight vectors and broadcasts tx inputs for cw * tx FMAs. A channel block's weights
// stay in L2 while the rows of a row block pass. With a single row block of fewer than 8 rows
// (S4: 7x7) the channel blocks run in parallel instead of the rows (7 rows on 2 cores leave one
// idle 1/8 of the time, and each channel block forked and joined). Returns yb, where a producer per row block
// (dwsep's depthwise stage) is computed; row blocks run in parallel when there are several,
// else the rows inside one do.
inline Var schedule_gemm_nhwc(Algorithm &a, const Target &t, const std::vector<RVar> &red,
                              int row_block) {
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
    const int n_co = (s.cout + k.v * k.cw - 1) / (k.v * k.cw);
    if ((H + row_block - 1) / row_block >= 2) out.parallel(yb);
    else if (H < 8 && n_co >= 4) out.parallel(co);  // few rows: split the channel blocks
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
//   [xi: xw vectors along x][yi: ty rows][ci: tc output channels]   register tile, unrolled
//   then xo, co, yo (co_outside_rows = false) or xo, yo, co (true) | yb (row blocks) | n
// Each reduction step does xw * ty vector loads of the input and tc weight broadcasts for
// xw * ty * tc FMAs. Returns yb as above.
inline Var schedule_gemm_nchw(Algorithm &a, const Target &t, const std::vector<RVar> &red,
                              int row_block, bool co_outside_rows) {
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

}  // namespace x86
}  // namespace convgen
