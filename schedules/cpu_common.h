// Scheduling pieces every CPU family shares (schedules/x86/, schedules/arm/): tail-safe helpers
// and the two register-blocked GEMM-like schedules that conv, pointwise and the pointwise half of
// dwsep use. A family decides only the sizes: its common.h picks the tiles from target_facts()
// and passes them in; everything here follows from the tile and the layer.
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
namespace cpu {

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

// Rows per block when `extent` rows are cut into blocks of at most `max_rows` that run in
// parallel: split evenly, and into an even number of blocks when there are several, since an
// odd count leaves one of two cores idle for a block's time (S1, S2: 7 blocks ran as 4 + 3).
// Smaller blocks are taken when that is what makes the count even (14 rows of at most 2: 14
// blocks of 1, not 7 of 2).
inline int even_row_blocks(int extent, int max_rows) {
    max_rows = std::max(1, std::min(max_rows, extent));
    const int blocks = (extent + max_rows - 1) / max_rows;
    const int rows = (extent + blocks - 1) / blocks;
    if (blocks == 1) return rows;
    for (int r = rows; r >= 1; r--)
        if (((extent + r - 1) / r) % 2 == 0) return r;
    return rows;
}

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

// Materialises the zero-padded input once (conv, pointwise) when the layer reads padding, in the
// layout's order and vectorized along its innermost dim (channels: `vector_c`, width:
// `vector_x`), so the inner loops load instead of clamp + select.
inline void materialize_padded_input(Algorithm &a, int vector_c, int vector_x) {
    const LayerSpec &s = a.spec;
    if (!reads_padding(s)) return;
    a.input.compute_root();
    if (s.layout == Layout::NHWC) {
        vectorize_if(a.input, a.c, vector_c);
        a.input.parallel(a.y);
    } else {
        a.input.reorder_storage(a.x, a.y, a.c, a.n).reorder(a.x, a.y, a.c, a.n);
        vectorize_if(a.input, a.x, vector_x);
        a.input.parallel(a.c);
    }
}

// NHWC register tile: cw vectors of v output channels x tx output columns.
struct NhwcTile {
    int v, cw, tx;
};
// NCHW register tile: xw vectors of v pixels along x x ty rows x tc output channels.
struct NchwTile {
    int v, xw, ty, tc;
};

// Register-blocked NHWC schedule of `a.conv` (reduction `red`, innermost first) into `a.output`
// (c, x, y, n). Loops, innermost first:
//   [ci: cw vectors of output channels][xi: tx columns]   register tile, unrolled
//   xo (columns) | yr (rows of the block) | co (channel blocks) | yb (row blocks) | n
// The whole reduction runs outside the register tile (conv.update()), so each reduction step
// loads cw weight vectors and broadcasts tx inputs for cw * tx FMAs. A channel block's weights
// stay in L2 while the rows of a row block pass. With a single row block of fewer than 8 rows
// (S4: 7x7) the channel blocks run in parallel instead of the rows (7 rows on 2 cores leave one
// idle 1/8 of the time, and each channel block forked and joined). Returns yb, where a producer
// per row block (dwsep's depthwise stage) is computed; row blocks run in parallel when there are
// several, else the rows inside one do.
inline Var schedule_gemm_nhwc(Algorithm &a, const NhwcTile &k, const std::vector<RVar> &red, int row_block) {
    const LayerSpec &s = a.spec;
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
inline Var schedule_gemm_nchw(Algorithm &a, const NchwTile &k, const std::vector<RVar> &red, int row_block,
                              bool co_outside_rows) {
    const LayerSpec &s = a.spec;
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

}  // namespace cpu
}  // namespace convgen
