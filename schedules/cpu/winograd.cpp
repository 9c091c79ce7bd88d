// CPU schedule of the Winograd conv (generator/algorithms/winograd.cpp).
//
// Reasoning: F(m,3) (m = 4, or 2 for outputs too small for F(4,3) to save products) turns R1's
// 231 MFLOP of direct conv into (m+2)^2 GEMMs of [tiles x C] x [C x Cout] plus O((C + Cout) *
// tiles) transform adds. So:
//  - The GEMM (wino_prod) is the direct NHWC conv's register tile: cw vectors of output channels
//    x tx tiles of accumulators (AVX-512 4 x 6 = 24 of 32 zmm; AVX2 2 x 6 of 16 ymm), the
//    reduction over input channels outside it: each step loads cw vectors of U and broadcasts tx
//    values of V.
//  - Tiles are processed a block of `rows` tile rows at a time (loop yb of the output): the
//    block's V (C x alpha^2 x tiles) and M (Cout x alpha^2 x tiles) are computed at yb and sized
//    to half of L2, so the transforms' writes are read back from cache. Inside a block the
//    (ex, ey) GEMMs run outermost, so one U slab (C x Cout) serves every tile of the block. When U
//    itself exceeds L2 one block covers the image, so U streams once.
//  - The transforms are vectorized over channels with ex/ey/ox/oy unrolled. The zero-padded
//    input is materialised once, channels innermost (for NCHW that is the transpose every tile
//    then reads contiguously).
//  - NHWC stores whole channel vectors; NCHW stores scalars (x runs over the m outputs of a tile).
//  - Blocks (par=blocks) or, with one block (par=rows), tile rows and the GEMMs' ey run in
//    parallel, as do images.
// Measured (Zen4, 2 cores, AVX-512, NHWC): R1-R3 1.6-3.2 x oneDNN's direct brgconv, R1b8 2.3.
#include "schedules/cpu/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cpu {

Choice default_winograd(const LayerSpec &s, const TargetFacts &f) {
    const int m = winograd_tile(s), alpha = m + 2;
    const int TX = (s.out_w() + m - 1) / m, TY = (s.out_h() + m - 1) / m;
    Choice c;
    c.in_v = pick_vector(f.f32_lanes(), s.c, f.full_rate_lanes());
    c.v = pick_vector(f.f32_lanes(), s.cout, f.full_rate_lanes());
    // Tile rows per block: V + M of a block in half of L2, or the whole image when U cannot stay
    // in L2 anyway (then re-reading it per block would cost more than streaming V and M).
    const int64_t row_bytes = int64_t(s.c + s.cout) * alpha * alpha * TX * 4;
    const int64_t u_bytes = int64_t(s.c) * s.cout * alpha * alpha * 4;
    c.rows = u_bytes > f.l2_bytes ? TY : even_row_blocks(TY, int(std::max<int64_t>(1, f.l2_bytes / 2 / row_bytes)));
    c.par = int(c.rows >= TY ? ParallelLoop::Rows : ParallelLoop::RowBlocks);
    // The GEMM's register tile: cw vectors of output channels x tx tiles.
    c.cw = std::max(1, std::min(f.vector_registers >= 32 ? 4 : 2, s.cout / c.v));
    c.tx = pick_points(accumulator_budget(f) / c.cw, c.cw, TX);
    return c;
}

void apply_winograd(Algorithm &a, const Choice &c) {
    const LayerSpec &s = a.spec;
    const int m = a.wino_m;
    const bool nhwc = s.layout == Layout::NHWC;
    const int vi = c.in_v, vo = c.v, TB = c.rows, cw = c.cw, T = c.tx;
    const bool one_block = c.par == int(ParallelLoop::Rows);

    // Zero-padded input, channels innermost; per image, so a batch's copy stays in cache.
    vectorize_if(a.input, a.c, vi);
    parallel_in_tasks(a.input, a.y, s.h + s.pad_t + s.pad_b, c.tasks);

    // Output: blocks of TB tile rows, then tiles, then the m x m outputs of a tile (unrolled; the
    // GuardWithIf splits keep x % m and x / m constant per unrolled point and skip overhangs).
    Func out = a.output;
    Var yb("yb"), yr("yr"), tyi("tyi"), txx("txx"), cb("cb"), cv("cv");
    out.split(a.y, yb, yr, TB * m, TailStrategy::GuardWithIf)
        .split(yr, tyi, a.oy, m, TailStrategy::GuardWithIf)
        .split(a.x, txx, a.ox, m, TailStrategy::GuardWithIf);
    if (nhwc) {
        out.split(a.c, cb, cv, vo, TailStrategy::ShiftInwards).reorder(cv, a.ox, a.oy, cb, txx, tyi, yb, a.n);
        vectorize_if(out, cv, vo);
        a.wino_out.compute_at(out, cb);
        a.wino_out_x.compute_at(out, cb);
    } else {
        out.reorder(a.ox, a.oy, a.c, txx, tyi, yb, a.n);
        a.wino_out.compute_at(out, txx);
        a.wino_out_x.compute_at(out, txx);
    }
    out.unroll(a.ox).unroll(a.oy);
    vectorize_if(a.wino_out, a.c, vo);
    a.wino_out.unroll(a.ox).unroll(a.oy);
    vectorize_if(a.wino_out_x, a.c, vo);
    a.wino_out_x.unroll(a.ox).unroll(a.ey);
    const int TY = (s.out_h() + m - 1) / m;
    if (!one_block) parallel_in_tasks(out, yb, (TY + TB - 1) / TB, c.tasks);
    else parallel_in_tasks(out, tyi, TB, c.tasks);
    if (s.n > 1) out.parallel(a.n);
    if (s.n > 1) a.input.compute_at(out, a.n);
    else a.input.compute_root();

    // V for the block: per channel vector, the alpha x alpha transform unrolled. Stored with
    // (ex, ey) outermost so each GEMM reads one contiguous slab.
    Var co("co"), ci("ci");
    a.wino_in.compute_at(out, yb).reorder_storage(a.c, a.tx, a.ty, a.ex, a.ey, a.n);
    a.wino_in.split(a.c, co, ci, vi, TailStrategy::ShiftInwards).reorder(ci, a.ex, a.ey, co, a.tx, a.ty, a.n);
    vectorize_if(a.wino_in, ci, vi);
    a.wino_in.unroll(a.ex).unroll(a.ey);
    if (one_block) parallel_in_tasks(a.wino_in, a.ty, TY, c.tasks);
    a.wino_in_x.compute_at(a.wino_in, co);
    vectorize_if(a.wino_in_x, a.c, vi);
    a.wino_in_x.unroll(a.ex).unroll(a.wino_in_x.args()[2]);

    // M for the block (a wrapper stores it), filled by register tiles of the GEMM.
    Func M = a.wino_prod.in();
    Var txo("txo"), txi("txi"), mo("mo"), mi("mi");
    M.compute_at(out, yb)
        .split(a.c, mo, mi, vo * cw, TailStrategy::ShiftInwards)
        .split(a.tx, txo, txi, T, TailStrategy::ShiftInwards)
        .reorder(mi, txi, txo, a.ty, mo, a.ex, a.ey, a.n);
    vectorize_if(M, mi, vo);
    M.unroll(mi).unroll(txi);
    if (one_block) M.parallel(a.ey);

    a.wino_prod.compute_at(M, txo);
    vectorize_if(a.wino_prod, a.c, vo);
    a.wino_prod.unroll(a.c).unroll(a.tx);
    Halide::Stage u = a.wino_prod.update();
    Var pv("pv"), pl("pl");
    if (vo > 1) {
        u.split(a.c, pv, pl, vo, TailStrategy::RoundUp).vectorize(pl).unroll(pv);
        u.reorder(pl, pv, a.tx, a.r.x, a.ex, a.ey, a.ty, a.n);
    } else {
        u.unroll(a.c).reorder(a.c, a.tx, a.r.x, a.ex, a.ey, a.ty, a.n);
    }
    u.unroll(a.tx);
}

}  // namespace cpu
}  // namespace convgen
