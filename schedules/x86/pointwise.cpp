// x86 (AVX2 / AVX-512) hand schedule of the pointwise (1x1) convolution.
//
// Reasoning: pointwise is a GEMM (pixels x C_in) * (C_in x C_out), compute bound for the suite's
// channel counts, so it uses the same register-blocked micro-kernels as conv
// (schedules/x86/common.h): NHWC holds cw channel vectors x tx columns, NCHW xw x-vectors x ty
// rows x tc channels, with the C_in reduction outside the register tile. Without padding the
// input is read directly; with padding the zero-padded copy is made once.
// The NHWC register tile (cw x tx) comes from nhwc_tile()'s model, which counts the columns the
// shifted last tile recomputes: tx = 6 on W = 56 / 14 wasted 7% of the FMAs (the whole gap to
// oneDNN); now P1/P2 4 x 4, P3 2 x 14 (AVX-512), exact.
// Measured (Zen4, 2 shared cores, load ~3.7):
//   build/convgen_bench --layers suite.tsv --threads 1 --rounds 3 (ratio = oneDNN / convgen)
//   before: P1 0.94 P2 0.94 P3 0.93 (~108 GFLOP/s); after: P1 1.04 P2 1.00 P3 0.96 (~110).
#include "schedules/x86/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace x86 {

// The weights of one register tile's channel block (v * cw output channels) as one contiguous
// stream, [cout/B][C][B]. In IO layout a tile reads one 64-256 byte piece of every 1-4 KB weight
// row: each step's weights come from a new line in a new page, which the hardware prefetchers do
// not follow across pages (S4's 4 MB of pw weights: every line an L3 miss), and the rows alias in
// a few L1 sets. Only when B divides cout (the tile's channel split is then exact); else IO.
// Measured (convgen_bench --threads 2, medians of 3 processes, oneDNN held to the same ISA),
// AVX2, IO -> Oi<B>o: S4 0.44 -> 0.92 x oneDNN, S3 0.68 -> 0.92, P3 0.76 -> 0.86, P2 0.83 ->
// 0.90, P1 0.84 -> 0.87; AVX-512 about the same (S4 0.98 -> 1.01, P1-P3 0.96-1.01). Copying a
// channel block's weights into a dense buffer inside the kernel instead helped AVX2 S4 less
// (0.66) and cost AVX-512 S4/P3 13-20%: the copy is per call.
int pointwise_weight_block(const LayerSpec &s, const Target &t) {
    if (s.layout != Layout::NHWC) return 0;
    const NhwcTile k = nhwc_tile(s, target_facts(t));
    const int b = k.v * k.cw;
    return b > 1 && s.cout % b == 0 ? b : 0;
}

void schedule_pointwise(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const bool nhwc = s.layout == Layout::NHWC;
    const NhwcTile tile = nhwc_tile(s, f);
    cpu::materialize_padded_input(a, pick_vector(f.f32_lanes(), s.c), pick_vector(f.f32_lanes(), s.w), tile.tx);
    if (nhwc)
        cpu::schedule_gemm_nhwc(a, tile, {a.r.x}, s.out_h());
    else
        cpu::schedule_gemm_nchw(a, nchw_tile(s, f), {a.r.x}, s.out_h(), false);
}

}  // namespace x86
}  // namespace convgen
