// x86 (AVX2 / AVX-512) hand schedule of the Winograd conv (generator/algorithms/winograd.cpp).
//
// Reasoning: F(2,3) turns R1's 231 MFLOP of direct conv into 103 MFLOP of transform-domain GEMM
// (16 GEMMs of [tiles x C] x [C x Cout]) plus O((C + Cout) * tiles) transform adds. So:
//  - The GEMM (wino_prod) is the direct NHWC conv's register tile: cw vectors of output channels
//    x T tiles of accumulators (AVX-512 4 x 6 = 24 of 32 zmm; AVX2 2 x 6 of 16 ymm), the reduction
//    over input channels outside it: each step loads cw vectors of U and broadcasts T values of V.
//  - Tiles are processed a block of TB tile rows at a time (loop yb of the output): the block's
//    V (C x alpha^2 x tiles) and M (Cout x alpha^2 x tiles) are computed at yb and sized to half
//    of L2, so the transforms' writes are read back from cache. Inside a block the 16 (ex, ey)
//    GEMMs run outermost, so one U slab (C x Cout) serves every tile of the block. When U itself
//    exceeds L2 (R3: 16 x 256 x 256 x 4 = 4 MB) one block covers the image, so U streams once.
//  - The transforms are vectorized over channels with ex/ey/ox/oy unrolled (constant +-1
//    coefficients). The zero-padded input is materialised once, channels innermost (for NCHW
//    that is the transpose every tile then reads contiguously).
//  - NHWC stores whole channel vectors; NCHW stores scalars (x runs over the m outputs of a tile).
//  - Blocks (or, with one block, tile rows and the GEMMs' ey) run in parallel, as do images.
// Measured (convgen_bench --threads 1 --rounds 3, NHWC, x86_avx512 target on the shared 2-core
// Zen4, FMA roof 117 GFLOP/s; direct-conv-equivalent GFLOP/s): R1 1.08 ms (213), R2 1.01 ms (229),
// R3 0.95 ms (244), R1b8 9.6 ms (192); the direct conv takes 2.0 ms on each of R1-R3 and oneDNN
// brgconv 1.96 / 1.91 / 1.82 ms, so 1.81x / 1.89x / 1.92x oneDNN (R1b8 1.65-1.68x). F(2,3) bounds
// the gain at 9/4 = 2.25x the direct conv's multiplies; the rest goes to transforms and tile
// overhang.
#include "schedules/x86/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace x86 {

void schedule_winograd(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const int m = a.wino_m, alpha = m + 2;
    const int TX = (s.out_w() + m - 1) / m, TY = (s.out_h() + m - 1) / m;
    const bool nhwc = s.layout == Layout::NHWC;
    const int vi = pick_vector(f.f32_lanes(), s.c), vo = pick_vector(f.f32_lanes(), s.cout);

    // Tile rows per block: V + M of a block in half of L2, or the whole image when U cannot stay
    // in L2 anyway (then re-reading it per block would cost more than streaming V and M).
    const int64_t row_bytes = int64_t(s.c + s.cout) * alpha * alpha * TX * 4;
    const int64_t u_bytes = int64_t(s.c) * s.cout * alpha * alpha * 4;
    const int TB = u_bytes > f.l2_bytes ? TY : even_row_blocks(TY, int(std::max<int64_t>(1, f.l2_bytes / 2 / row_bytes)));
    const bool one_block = TB >= TY;

    // Zero-padded input, channels innermost; per image, so a batch's copy stays in cache.
    vectorize_if(a.input, a.c, vi);
    a.input.parallel(a.y);

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
    if (!one_block) out.parallel(yb);
    else out.parallel(tyi);
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
    if (one_block) a.wino_in.parallel(a.ty);
    a.wino_in_x.compute_at(a.wino_in, co);
    vectorize_if(a.wino_in_x, a.c, vi);
    a.wino_in_x.unroll(a.ex).unroll(a.wino_in_x.args()[2]);

    // M for the block (a wrapper stores it), filled by register tiles of the GEMM.
    const int max_cw = f.vector_registers >= 32 ? 4 : 2;
    const int cw = std::max(1, std::min(max_cw, s.cout / vo));
    const int T = pick_points(accumulator_budget(f) / cw, cw, TX);
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

}  // namespace x86
}  // namespace convgen
