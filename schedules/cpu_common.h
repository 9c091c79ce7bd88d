// Scheduling pieces every CPU family shares (schedules/x86/, schedules/arm/): tail-safe helpers,
// the two register-blocked GEMM-like schedules that conv, pointwise and the pointwise half of
// dwsep use, the NCHW depthwise schedule and dwsep's depthwise stage (both layouts). A family
// decides only the sizes: it picks the tiles and vector widths from target_facts() (its common.h,
// or the kind's file where the choice is kind-specific) and passes them in; everything here
// follows from those sizes and the layer.
//
// Every split here is either exact or ShiftInwards with a factor <= the extent, so no loop reads
// or writes outside the fixed-shape buffers (Halide checks that at run time).
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"
#include "schedules/target_facts.h"

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

// The k x k window is unrolled whole up to 5x5 (25 taps); a larger one unrolls kx only.
inline bool unrolls_whole_window(const LayerSpec &s) { return s.kh * s.kw <= 25; }

// The share of an NHWC register-tile sweep (column tiles of tx outputs x output rows) whose
// window reads no padding.
inline double padding_free_share(const LayerSpec &s, int tx) {
    auto free_share = [](int outs, int tile, int stride, int span, int pad, int size) {
        int tiles = 0, free = 0;
        for (int o = 0; o < outs; o += tile, tiles++) {
            const int last = std::min(o + tile, outs) - 1;
            free += o * stride - pad >= 0 && last * stride + span - 1 - pad < size;
        }
        return double(free) / tiles;
    };
    return free_share(s.out_w(), std::max(1, tx), s.sw, (s.kw - 1) * s.dw + 1, s.pad_l, s.w) *
           free_share(s.out_h(), 1, s.sh, (s.kh - 1) * s.dh + 1, s.pad_t, s.h);
}

// Materialises the zero-padded input once (conv, pointwise) when the layer reads padding, in the
// layout's order and vectorized along its innermost dim (channels: `vector_c`, width:
// `vector_x`), so the inner loops load instead of clamp + select.
// NHWC (`nhwc_tx`: the register tile's columns) keeps the padding inline when at least half of
// the tiles read none: its condition is scalar per broadcast and Halide's loop partitioning
// takes it out of those tiles, while the copy is a pass over the input in a parallel loop of its
// own. Measured (convgen_bench, --threads 2, AVX-512, medians of 2 processes): 3 -> 32 channels,
// 3x3 stride 2 on 112x112 (MobileNet's first layer) 45-75 -> 32-34 us, 0.49-0.69 -> 0.93 x
// oneDNN; 64 -> 128 3x3 stride 2 on 56x56 550-669 -> 524-547 us; R4 about the same. A 5x5 pad-2
// layer on 28 columns (two column tiles, both reading padding) stays materialised: inline it
// measured 210 -> 441 us on AVX2.
inline void materialize_padded_input(Algorithm &a, int vector_c, int vector_x, int nhwc_tx) {
    const LayerSpec &s = a.spec;
    if (!reads_padding(s)) return;
    if (s.layout == Layout::NHWC && padding_free_share(s, nhwc_tx) >= 0.5) return;
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
    // A reduction over at most 4 input channels (innermost) is unrolled: as a loop of 3 (RGB
    // input) it paid a counter and a branch per 3 steps. 7x7 s2 3 -> 64 on 224x224 (R4),
    // convgen_bench --threads 2, medians of 3 processes: AVX2 1342 -> 1233 us (0.82 -> 0.91 x
    // oneDNN), AVX-512 1077 -> 1040 us (0.98 -> 0.99).
    if (s.c / std::max(1, s.groups) <= 4) u.unroll(red[0]);
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

// Depthwise NCHW (a.conv, window a.r = (kx, ky)) into a.output (x, y, c, n). Loops, innermost
// first:
//   [xi: xw vectors of v pixels along x][yi: ty rows]   register tile, unrolled
//   xo | yo | c (parallel) | n
// with the window unrolled outside the tile. Depthwise is bound by loads, not FMAs, so every load
// is a whole vector over x. When the layer reads padding, the padded plane of one channel (k-1
// more rows and columns) is copied once per channel, vectorized by `vector_in` along x, so the
// inner loop has no selects.
inline void schedule_depthwise_nchw(Algorithm &a, int v, int xw, int ty, int vector_in) {
    const LayerSpec &s = a.spec;
    const RVar kx = a.r[0], ky = a.r[1];
    Func out = a.output;
    Halide::Stage u = a.conv.update();
    Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
    out.split(a.x, xo, xi, v * xw, TailStrategy::ShiftInwards)
        .split(a.y, yo, yi, ty, TailStrategy::ShiftInwards)
        .reorder(xi, yi, xo, yo, a.c, a.n)
        .unroll(xi)
        .unroll(yi)
        .parallel(a.c);
    vectorize_if(out, xi, v);
    if (reads_padding(s)) {
        // Always partition x: only the first and last vectors of a row touch the padding.
        a.input.compute_at(out, a.c).partition(a.x, Halide::Partition::Always);
        vectorize_if(a.input, a.x, vector_in);
    }
    a.conv.compute_at(out, xo).reorder_storage(a.x, a.y, a.c, a.n).unroll(a.x).unroll(a.y);
    vectorize_if(a.conv, a.x, v);
    Var xv("xv"), xl("xl");
    if (v > 1) {
        u.split(a.x, xv, xl, v, TailStrategy::RoundUp).vectorize(xl).unroll(xv);
        u.reorder(xl, xv, a.y, kx, ky, a.c, a.n);
    } else {
        u.unroll(a.x).reorder(a.x, a.y, kx, ky, a.c, a.n);
    }
    u.unroll(a.y);
    if (s.n > 1) out.parallel(a.n);
    u.unroll(kx);
    if (unrolls_whole_window(s)) u.unroll(ky);
}

// dwsep: how many rows of the depthwise intermediate (out_w x c floats each) fit in `bytes`, at
// least one; a family sizes its row blocks from it.
inline int dwsep_rows_fitting(const LayerSpec &s, int bytes) {
    return std::max(1, bytes / std::max(1, s.out_w() * s.c * 4));
}

// dwsep's depthwise stage (a.dw, accumulated in a.dw_acc over the window a.dw_r = (kx, ky)),
// computed per row block `yb` of the pointwise output (what schedule_gemm_nhwc/nchw return): the
// intermediate of one block (its rows x W x C) stays in cache and every pointwise channel block
// reuses it; it never goes to memory as a whole.
//
// NHWC: vectorized over channels (v lanes), a tile of tx columns, window unrolled; its zero
// padding stays inline (scalar condition, partitioned away in the interior). `parallel_rows`:
// the block's rows run in parallel (for a single, hence serial, row block).
inline void schedule_dwsep_depthwise_nhwc(Algorithm &a, const Var &yb, int v, int tx, bool parallel_rows) {
    const RVar kx = a.dw_r[0], ky = a.dw_r[1];
    Halide::Stage du = a.dw_acc.update();
    Var dco("dco"), dci("dci"), dxo("dxo"), dxi("dxi");
    a.dw.compute_at(a.output, yb)
        .split(a.c, dco, dci, v, TailStrategy::ShiftInwards)
        .split(a.x, dxo, dxi, tx, TailStrategy::ShiftInwards)
        .reorder(dci, dxi, dco, dxo, a.y, a.n)
        .unroll(dxi);
    if (parallel_rows) a.dw.parallel(a.y);
    if (v > 1) a.dw.vectorize(dci);
    a.dw_acc.compute_at(a.dw, dco).unroll(a.x);
    vectorize_if(a.dw_acc, a.c, v);
    if (v > 1) du.vectorize(a.c, v, TailStrategy::RoundUp);
    du.reorder(a.c, a.x, kx, ky, a.y, a.n).unroll(a.x);
    du.unroll(kx);
    if (unrolls_whole_window(a.spec)) du.unroll(ky);
}

// NCHW: stored x-innermost (the pointwise loads x-vectors of it), vectorized over x (v lanes).
// When the layer reads padding, the padded input rows of one channel are copied per block and
// channel, vectorized by `vector_in`.
inline void schedule_dwsep_depthwise_nchw(Algorithm &a, const Var &yb, int v, int vector_in) {
    const RVar kx = a.dw_r[0], ky = a.dw_r[1];
    Halide::Stage du = a.dw_acc.update();
    Var dxo("dxo"), dxi("dxi");
    a.dw.compute_at(a.output, yb)
        .reorder_storage(a.x, a.y, a.c, a.n)
        .split(a.x, dxo, dxi, v, TailStrategy::ShiftInwards)
        .reorder(dxi, dxo, a.y, a.c, a.n);
    if (v > 1) a.dw.vectorize(dxi);
    if (reads_padding(a.spec)) {
        a.input.compute_at(a.dw, a.c)
            .reorder_storage(a.x, a.y, a.c, a.n)
            .partition(a.x, Halide::Partition::Always);  // padding only in edge vectors
        vectorize_if(a.input, a.x, vector_in);
    }
    a.dw_acc.compute_at(a.dw, dxo);
    vectorize_if(a.dw_acc, a.x, v);
    if (v > 1) du.vectorize(a.x, v, TailStrategy::RoundUp);
    du.reorder(a.x, kx, ky, a.c, a.y, a.n);
    du.unroll(kx);
    if (unrolls_whole_window(a.spec)) du.unroll(ky);
}

}  // namespace cpu
}  // namespace convgen
