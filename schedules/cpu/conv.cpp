// CPU schedule of the regular (direct) convolution; 3x3 stride-1 layers usually go to Winograd
// (winograd.cpp, schedules/select.cpp choose_algorithm).
//
// Reasoning: conv is compute bound (R1: 2 * 56*56*64*64*9 = 231 MFLOP on 0.8 MB of input), so
// the schedule is a register-blocked GEMM micro-kernel (common.h):
//  - Accumulators = cw vectors of output channels x tx output columns (AVX-512: 4 x 6 = 24 of
//    32 zmm; AVX2: 2 x 6 or 3 x 4 = 12 of 16 ymm), from choose_nhwc_tile()'s model of the FMAs executed
//    including the shifted last tile. Each reduction step (ci innermost, then kx, ky) loads cw
//    weight vectors and broadcasts tx input values, in either layout (a broadcast does not care
//    where its neighbours are).
//  - NCHW output: each channel's tx columns leave the tile as one vector store (schedule_gemm_
//    nhwc transposes the tile in registers), or, where nchw_channel_tile() (common.h) says so,
//    xw x-vectors x ty rows x tc channels (schedule_gemm_nchw; the reduction runs kx, ky, ci).
//    Measured (Xeon, 2 cores, AVX-512): the channel tile took P2 887 -> 508 us, P3 1171 -> 540,
//    R4 1498 -> 1154 (56 columns fall back to 8-lane x vectors, half the FMA rate).
//  - Padding materialised once or kept inline (choose_padding, common.h); an NCHW conv with a
//    channel tile reads a channels-innermost copy of its input (pad=3, apply_padded_input).
//  - Fewer output channels than the lanes (dot_pays, common.h): the dot tile, vectors along the
//    input channels and a horizontal sum per output (schedule_dot). Measured (Zen 3, AVX2, 2
//    threads, fastest of 3 alternating processes, 15 layers of C_out 3 from random draws): NHWC
//    3.96x geomean against the channel tile (240 -> 3 3x3 d2 on 112x112 20.9 -> 4.4 ms, oneDNN
//    6.1), NCHW 1.56x (conv only: NCHW pointwise keeps the x-vector tile or the plane).
//  - Rows run in parallel.
// Measured (Zen4, 2 cores, AVX-512): R4 (7x7 s2, direct) 1.00 x oneDNN NHWC.
#include "schedules/cpu/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cpu {

// The point of one NCHW strategy (channel_tile: the channel-vector tile, else x-vectors); NHWC
// always takes the channel tile.
static Choice conv_choice(const LayerSpec &s, const TargetFacts &f, bool channel_tile) {
    Choice c;
    if (s.layout == Layout::NHWC || channel_tile) {
        choose_nhwc_tile(c, s, f);
        choose_gemm_nhwc_sweep(c, s, f, s.out_h());
        choose_weight_copy(c, s, f);
    } else {
        choose_nchw_tile(c, s, f, s.out_h());
        choose_gemm_nchw_sweep(c, s, s.out_h(), false);
    }
    choose_padding(c, s, f, c.tx);
    return c;
}

Choice default_conv(const LayerSpec &s, const TargetFacts &f) {
    if (dot_pays(s, f)) return dot_choice(s, f);
    return conv_choice(s, f, nchw_channel_tile(s, f, gemm_products(s), s.sw));
}

void apply_conv(Algorithm &a, const Choice &c) {
    apply_padded_input(a, c);
    if (c.dot) schedule_dot(a, c, {a.r[0], a.r[1], a.r[2]});
    else if (c.cw) schedule_gemm_nhwc(a, c, {a.r[0], a.r[1], a.r[2]});
    else schedule_gemm_nchw(a, c, {a.r[1], a.r[2], a.r[0]}, false);
}

std::vector<Choice> conv_strategies(const LayerSpec &s, const TargetFacts &f) {
    const Choice d = default_conv(s, f);
    std::vector<Choice> out{d};
    auto add = [&](const Choice &c) {
        if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    };
    add(conv_choice(s, f, true));
    if (s.layout == Layout::NCHW) add(conv_choice(s, f, false));
    if (dot_eligible(s, f)) add(dot_choice(s, f));
    return out;
}

// The kinds whose default sizes its channel-vector tile by choose_nhwc_tile's model (conv,
// pointwise, dwsep's pointwise stage; either layout) have the model's next points; depthwise (its
// own tile rule) and a grouped conv's group tile none.
std::vector<Choice> model_alternatives(const LayerSpec &s, const TargetFacts &f, const Choice &d, int k) {
    if (!d.cw || s.kind == Kind::Depthwise || (s.kind == Kind::Conv && s.groups > 1)) return {};
    return tile_alternatives(s, f, d, k);
}

}  // namespace cpu
}  // namespace convgen
