// CPU schedule of the pointwise (1x1) convolution.
//
// Reasoning: pointwise is a GEMM (pixels x C_in) * (C_in x C_out), compute bound for common
// channel counts, so it uses conv's register-blocked micro-kernel (common.h, conv.cpp): cw
// channel vectors x tx columns in both layouts, with the C_in reduction outside the register
// tile. The NHWC tile comes from choose_nhwc_tile()'s model,
// which counts the columns the shifted last tile recomputes (tx = 6 on W = 56 / 14 wasted 7% of
// the FMAs); P1/P2 take 4 x 4 and P3 2 x 14 on AVX-512, exact.
//
// Weights: one register tile's channel block (v * cw output channels) as one contiguous
// stream, Oi<B>o = [cout/B][C][B] (pointwise_weight_block). In IO layout a tile reads one
// 64-256 byte piece of every 1-4 KB weight row: each step's weights come from a new line in a new
// page, which the prefetchers do not follow across pages, and the rows alias in a few L1 sets.
// Only when B divides cout (the tile's channel split is then exact); else IO.
// Measured (Zen4, 2 cores, oneDNN held to the same ISA): AVX2 S4 0.44 -> 0.92 x oneDNN with the
// blocked weights, P1-P3 0.87-0.90; AVX-512 P1-P3 0.97-1.03.
#include "schedules/cpu/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cpu {

// The runtime blocks the weights of a tile whose channel block divides cout (pointwise_weight_
// block): no copy then.
static Choice pointwise_choice(const LayerSpec &s, Choice c) {
    if (c.wcopy && pointwise_weight_block(s, c)) c.wcopy = 2;
    return c;
}

Choice default_pointwise(const LayerSpec &s, const TargetFacts &f) { return pointwise_choice(s, default_conv(s, f)); }

void apply_pointwise(Algorithm &a, const Choice &c) {
    apply_padded_input(a, c);
    if (c.cw) schedule_gemm_nhwc(a, c, {a.r.x});
    else schedule_gemm_nchw(a, c, {a.r.x}, false);
}

std::vector<Choice> pointwise_strategies(const LayerSpec &s, const TargetFacts &f) {
    std::vector<Choice> out;
    for (const Choice &c : conv_strategies(s, f)) out.push_back(pointwise_choice(s, c));
    return out;
}

int pointwise_weight_block(const LayerSpec &s, const Choice &c) {
    if (!c.cw) return 0;
    const int b = c.v * c.cw;
    return b > 1 && s.cout % b == 0 ? b : 0;
}

}  // namespace cpu
}  // namespace convgen
