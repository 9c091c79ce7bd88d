// ARM (AArch64 NEON) hand schedule of the regular convolution.
//
// Reasoning: conv is compute bound (C_out * k * k FMAs per input value), so the schedule is a
// register-blocked GEMM micro-kernel sized for NEON's 32 x 128-bit registers
// (schedules/arm/common.h):
//  - NHWC: accumulators = up to 4 vectors of output channels x 5 output columns (20 of 32
//    registers). Each reduction step (ci innermost, then kx, ky: contiguous input channels) loads
//    4 weight vectors and broadcasts 5 inputs, 20 `fmla v.4s` per 9 loads.
//  - NCHW: accumulators = 2 x-vectors x 2 rows x 5 output channels; the reduction runs kx, ky, ci
//    (kx innermost: neighbouring input addresses), 5 weight broadcasts and 4 loads per step.
//  - The zero-padded input is materialised once (root, parallel) when the layer reads padding,
//    so the inner loop is a plain load instead of a clamp + select.
//  - Rows run in parallel.
// The arm_dot_prod / arm_fp16 features change nothing here (f32 only).
#include "schedules/arm/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace arm {

void schedule_conv(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const NhwcTile tile = nhwc_tile(s, f);
    cpu::materialize_padded_input(a, pick_vector(f.f32_lanes(), s.c), pick_vector(f.f32_lanes(), s.w), tile.tx);
    if (s.layout == Layout::NHWC)
        cpu::schedule_gemm_nhwc(a, tile, {a.r[0], a.r[1], a.r[2]}, s.out_h());
    else
        cpu::schedule_gemm_nchw(a, nchw_tile(s, f), {a.r[1], a.r[2], a.r[0]}, s.out_h(), false);
}

}  // namespace arm
}  // namespace convgen
