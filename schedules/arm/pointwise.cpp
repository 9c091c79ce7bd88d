// ARM (AArch64 NEON) hand schedule of the pointwise (1x1) convolution.
//
// Reasoning: pointwise is a GEMM (pixels x C_in) * (C_in x C_out), compute bound for common
// channel counts, so it uses the same register-blocked micro-kernels as conv
// (schedules/arm/common.h): NHWC holds up to 4 channel vectors x 5 columns, NCHW 2 x-vectors x
// 2 rows x 5 channels, with the C_in reduction outside the register tile. Without padding the
// input is read directly; with padding the zero-padded copy is made once.
#include "schedules/arm/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace arm {

void schedule_pointwise(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const NhwcTile tile = nhwc_tile(s, f);
    cpu::materialize_padded_input(a, pick_vector(f.f32_lanes(), s.c), pick_vector(f.f32_lanes(), s.w), tile.tx);
    if (s.layout == Layout::NHWC)
        cpu::schedule_gemm_nhwc(a, tile, {a.r.x}, s.out_h());
    else
        cpu::schedule_gemm_nchw(a, nchw_tile(s, f), {a.r.x}, s.out_h(), false);
}

}  // namespace arm
}  // namespace convgen
