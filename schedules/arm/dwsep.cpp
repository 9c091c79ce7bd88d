// ARM (AArch64 NEON) hand schedule of the fused depthwise separable block.
//
// Reasoning: the pointwise half holds almost all FMAs (C*Cout vs C*k*k per pixel), so it gets the
// register-blocked micro-kernel of pointwise (schedules/arm/common.h). The depthwise half is
// computed per block of output rows, into a buffer of tyb rows x W x C sized to a quarter of L2
// (at least two blocks so several cores work): the intermediate never goes to memory as a whole,
// and every pointwise channel block reuses it from cache.
//  - NHWC: dw vectorized over channels (4 lanes), a tile of up to 8 columns, window unrolled;
//    its zero padding stays inline (scalar condition, partitioned away in the interior).
//  - NCHW: dw stored x-innermost (the pointwise loads x-vectors of it), vectorized over x; the
//    padded input rows of one channel are copied per block and channel. Pointwise channel blocks
//    are outside the rows of the block, so a block's weights (tc x C) stay in L1.
#include "common.h"
#include "schedule.h"

namespace convgen {
namespace arm {

void schedule_dwsep(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const int lanes = f.f32_lanes();
    const int W = s.out_w(), H = s.out_h();
    const int row_bytes = W * s.c * 4;
    int tyb = std::max(1, (f.l2_bytes / 4) / std::max(1, row_bytes));
    if (H >= 2) tyb = std::min(tyb, (H + 1) / 2);
    tyb = std::min(tyb, H);
    const RVar kx = a.dw_r[0], ky = a.dw_r[1];
    const bool unroll_window = s.kh * s.kw <= 25;
    Halide::Stage du = a.dw_acc.update();

    if (s.layout == Layout::NHWC) {
        const Var yb = schedule_gemm_nhwc(a, t, {a.r.x}, tyb);
        const int v = pick_vector(lanes, s.c);
        const int tx = std::min(W, 8);
        Var dco("dco"), dci("dci"), dxo("dxo"), dxi("dxi");
        a.dw.compute_at(a.output, yb)
            .split(a.c, dco, dci, v, TailStrategy::ShiftInwards)
            .split(a.x, dxo, dxi, tx, TailStrategy::ShiftInwards)
            .reorder(dci, dxi, dco, dxo, a.y, a.n)
            .unroll(dxi);
        if (v > 1) a.dw.vectorize(dci);
        a.dw_acc.compute_at(a.dw, dco).unroll(a.x);
        vectorize_if(a.dw_acc, a.c, v);
        if (v > 1) du.vectorize(a.c, v, TailStrategy::RoundUp);
        du.reorder(a.c, a.x, kx, ky, a.y, a.n).unroll(a.x);
    } else {
        const Var yb = schedule_gemm_nchw(a, t, {a.r.x}, tyb, true);
        const int v = pick_vector(lanes, W);
        Var dxo("dxo"), dxi("dxi");
        a.dw.compute_at(a.output, yb)
            .reorder_storage(a.x, a.y, a.c, a.n)
            .split(a.x, dxo, dxi, v, TailStrategy::ShiftInwards)
            .reorder(dxi, dxo, a.y, a.c, a.n);
        if (v > 1) a.dw.vectorize(dxi);
        if (reads_padding(s)) {
            a.input.compute_at(a.dw, a.c)
                .reorder_storage(a.x, a.y, a.c, a.n)
                .partition(a.x, Halide::Partition::Always);  // padding only in edge vectors
            vectorize_if(a.input, a.x, pick_vector(lanes, s.w));
        }
        a.dw_acc.compute_at(a.dw, dxo);
        vectorize_if(a.dw_acc, a.x, v);
        if (v > 1) du.vectorize(a.x, v, TailStrategy::RoundUp);
        du.reorder(a.x, kx, ky, a.c, a.y, a.n);
    }
    du.unroll(kx);
    if (unroll_window) du.unroll(ky);
}

}  // namespace arm
}  // namespace convgen
