// ARM (AArch64 NEON) hand schedule of the fused depthwise separable block.
//
// Reasoning: the pointwise half holds almost all FMAs (C*Cout vs C*k*k per pixel), so it gets the
// register-blocked micro-kernel of pointwise (cpu_common.h, tiles from schedules/arm/common.h).
// The depthwise half (cpu_common.h: schedule_dwsep_depthwise_nhwc/nchw) is computed per block of
// output rows, into a buffer of tyb rows x W x C sized to a quarter of L2 (at least two blocks so
// several cores work): the intermediate never goes to memory as a whole, and every pointwise
// channel block reuses it from cache.
//  - NHWC: dw vectorized over channels (4 lanes), a tile of up to 8 columns, window unrolled.
//  - NCHW: dw vectorized over x (4 lanes). Pointwise channel blocks are outside the rows of the
//    block, so a block's weights (tc x C) stay in L1.
#include "schedules/arm/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace arm {

void schedule_dwsep(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const int lanes = f.f32_lanes();
    const int W = s.out_w(), H = s.out_h();
    int tyb = cpu::dwsep_rows_fitting(s, f.l2_bytes / 4);
    if (H >= 2) tyb = std::min(tyb, (H + 1) / 2);
    tyb = std::min(tyb, H);

    if (s.layout == Layout::NHWC) {
        const Var yb = cpu::schedule_gemm_nhwc(a, nhwc_tile(s, f), {a.r.x}, tyb);
        cpu::schedule_dwsep_depthwise_nhwc(a, yb, pick_vector(lanes, s.c), std::min(W, 8), false);
    } else {
        const Var yb = cpu::schedule_gemm_nchw(a, nchw_tile(s, f), {a.r.x}, tyb, true);
        cpu::schedule_dwsep_depthwise_nchw(a, yb, pick_vector(lanes, W), pick_vector(lanes, s.w));
    }
}

}  // namespace arm
}  // namespace convgen
