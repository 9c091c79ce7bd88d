// x86 (AVX2 / AVX-512) hand schedule of the regular convolution.
//
// Reasoning: conv is compute bound (R1: 2 * 56*56*64*64*9 = 231 MFLOP on 0.8 MB of input), so
// the schedule is a register-blocked GEMM micro-kernel (schedules/x86/common.h):
//  - NHWC: accumulators = cw vectors of output channels x tx output columns (AVX-512: 4 x 6 =
//    24 of 32 zmm; AVX2: 2 x 6 = 12 of 16 ymm). Each step of the reduction (ci innermost, then
//    kx, ky: contiguous input channels) loads cw weight vectors and broadcasts tx input values.
//  - NCHW: accumulators = xw x-vectors x ty rows x tc output channels; the reduction runs kx,
//    ky, ci (kx innermost: neighbouring input addresses), tc weight broadcasts per step.
//  - The zero-padded input is materialised once (root, parallel) when the layer reads padding,
//    so the inner loop is a plain load instead of a clamp + select; it costs one pass over the
//    input, small next to C_out*k*k FMAs per input value.
//  - Rows run in parallel on both cores.
//  - NHWC tile from nhwc_tile() (common.h): minimises the FMAs executed including the shifted
//    last tile (tx = 6 on W = 56/28/14 recomputed 7-29% of a row).
// Measured (Zen4 2 shared cores, JIT, avx512_zen4 target, noisy): R1 56x56 64->64 NHWC 2.2 ms
// (~105-150 GFLOP/s), NCHW ~2.5 ms (~94 GFLOP/s); R4 7x7/s2 NHWC ~110 GFLOP/s.
// Suite, --threads 1 --rounds 3: R4 (direct) 0.97 -> 1.00 x oneDNN (3x3 s1 layers now go to
// winograd.cpp).
#include "schedules/x86/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace x86 {

void schedule_conv(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const bool nhwc = s.layout == Layout::NHWC;
    const NhwcTile tile = nhwc_tile(s, f);
    cpu::materialize_padded_input(a, pick_vector(f.f32_lanes(), s.c), pick_vector(f.f32_lanes(), s.w), tile.tx);
    if (nhwc)
        cpu::schedule_gemm_nhwc(a, tile, {a.r[0], a.r[1], a.r[2]}, s.out_h());
    else
        cpu::schedule_gemm_nchw(a, nchw_tile(s, f), {a.r[1], a.r[2], a.r[0]}, s.out_h(), false);
}

}  // namespace x86
}  // namespace convgen
