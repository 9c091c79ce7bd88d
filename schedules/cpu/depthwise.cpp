// CPU schedule of the depthwise convolution.
//
// Reasoning: depthwise does k*k FMAs per output and reads each input k*k times (from cache), so
// it is bound by loads, not FMAs; every load is a full vector and the window is unrolled:
//  - NHWC: vectors over channels (contiguous), a register tile of cw channel vectors x tx
//    columns x ty rows (AVX-512: up to 16 accumulators, AVX2: 8), the k x k window unrolled
//    outside it. The zero padding stays inline: its condition is scalar (x, y) per vector, and
//    Halide's loop partitioning removes it from the interior.
//    When the input fits in L2 and the stride is 1, two output rows share k - 1 input rows: a
//    1 x 7 x 2 tile loads 4 x 9 input vectors for 126 FMAs where 2 x 7 x 1 loads 2 x 3 x 9 = 54.
//    Otherwise (input streamed from L3, or stride 2, where two rows share one input row of
//    five) two channel vectors x tx columns; one when the channel vectors are odd, so the shifted
//    last block recomputes nothing (D5: 240 channels = 15 vectors).
//    An input larger than L2 is swept in 8 contiguous row blocks that run in parallel (rows =
//    output rows per block): each core streams its own band of input rows once instead of
//    (k-1)/stride + 1 rows per output row picked in turn.
//  - NCHW: schedule_depthwise_nchw (common.h: vectors over x, the padded plane of one channel
//    copied once per channel, runs of channels in parallel) with a tile of one x-vector x ty
//    rows (nchw_depthwise_rows). A stride along x makes every tap read two vectors and shuffle
//    them, unless the copy splits the plane into its stride phases (pad=4): then every tap is
//    one dense load of one phase, for a shuffle per copied vector.
// Measured (Zen 4, 2 cores, AVX-512, x oneDNN in one run): NHWC D1-D5 1.27-1.53; NCHW D1 1.02,
// D2 0.89 (inline padding), D3 1.01, D4 1.06, D5 0.86. D2 NHWC (stride 2, 3.2 MB input) runs at
// ~100 GB/s from L3.
#include "schedules/cpu/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cpu {

// NCHW depthwise: where a copy of each channel's padded plane is made, at stride >= 2 it is split
// into the stride phases (pad=4). Measured (Zen 4, AVX-512, fastest of 3 alternating processes,
// phases vs plain copy): 200 ch 28x28 5x5 s2 35.9 -> 27.0 us, 240 ch 28x28 5x5 s2 40.5 -> 28.6,
// 96 ch 75x75 3x3 s2 53.7 -> 46.0, 672 ch 14x14 5x5 s2 41.7 -> 38.7, E1 33.9 -> 33.0; lost on
// 512 ch 7x33 3x3 d2 s2 (14.1 -> 16.6, 4 rows) and 128 ch 112x13 n=7 5x5 s2 (603 -> 671).
// The padding stays inline (Choice::pad = 2) instead of a copy of each channel's
// padded plane when the stride is 2 or more (each output reads several input pixels, so the
// copy weighs on a thin sweep), the rows read no padding on the right (the shifted last vector
// would carry the selects) and there are at least 4 x-vectors per row (only the first of them
// reads padding, and Halide's loop partitioning leaves the others without selects). Measured
// (Zen 4, AVX-512, fastest of 3 alternating processes, inline vs copy): D2 74.6 -> 43.7 us, 32
// ch 3x3 s2 on 224x224 148 -> 72, 24 ch on 150x150 48.8 -> 28.2; where the rows read right
// padding it lost (96 ch on 75x75 0.51x, 5x5 and 7x7 s2 0.51-0.85x), as with 2 x-vectors per
// row (E1 0.63x) and at stride 1 (D1 0.81x).
static bool nchw_depthwise_inline_padding(const LayerSpec &s, int v) {
    return s.sw >= 2 && s.last_input_x() < s.w && (s.out_w() + v - 1) / v >= 4;
}

Choice default_depthwise(const LayerSpec &s, const TargetFacts &f) {
    const int lanes = f.f32_lanes(), budget = f.vector_registers >= 32 ? 16 : 8;
    const int W = s.out_w(), H = s.out_h();
    Choice c;
    if (s.layout == Layout::NCHW) {
        // Rows (nchw_depthwise_rows): the largest divisor of H in [rows/2, rows] and at least 2
        // (no shifted last tile), else the most; a one-row tile left a 5x5 stride-2 layer at one
        // accumulator (Zen 3, AVX2: 100 ch on 113x113 473 -> 285 us with 2 rows and full
        // vectors). X-vectors: nchw_depthwise_vectors.
        const int rows = nchw_depthwise_rows(s, f);
        c.v = pick_vector(lanes, W, f.full_rate_lanes());
        c.ty = std::min(H, rows);
        for (int t = rows; H > rows && t >= rows / 2 && t >= 2; t--)
            if (H % t == 0) {
                c.ty = t;
                break;
            }
        c.xw = nchw_depthwise_vectors(s, f, c.v, c.ty);
        if (s.reads_padding()) {
            c.pad = nchw_depthwise_inline_padding(s, c.v) ? 2 : s.sw >= 2 ? 4 : 1;
            c.in_v = nchw_padded_copy_vector(s, f, c.pad == 4 ? s.sw : 1);
        }
        return c;
    }
    c.v = pick_vector(lanes, s.cout, f.full_rate_lanes());
    const int nvec = s.cout / c.v;  // whole vectors: a tile wider than cout reads outside
    const bool fits_l2 = int64_t(s.w) * s.h * s.c * 4 <= f.l2_bytes;
    c.ty = fits_l2 && s.sh == 1 ? std::min(2, H) : 1;
    c.cw = c.ty == 1 && nvec >= 2 && nvec % 2 == 0 ? 2 : 1;
    c.tx = pick_points(budget / (c.cw * c.ty), c.cw, W);
    if (!fits_l2 && H >= 16) {
        const int tiles = (H + c.ty - 1) / c.ty;
        c.rows = (tiles + 7) / 8 * c.ty;
        c.par = int(ParallelLoop::RowBlocks);
    } else {
        c.par = int(ParallelLoop::Rows);
    }
    return c;
}

void apply_depthwise(Algorithm &a, const Choice &c) {
    const LayerSpec &s = a.spec;
    if (s.layout == Layout::NCHW) {
        schedule_depthwise_nchw(a, c);
        return;
    }
    const RVar kx = a.r[0], ky = a.r[1];
    Func out = a.output;
    Halide::Stage u = a.conv.update();
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yo("yo"), yi("yi"), yb("yb"), yr("yr");
    out.split(a.c, co, ci, c.v * c.cw, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, c.tx, TailStrategy::ShiftInwards)
        .split(a.y, yo, yi, c.ty, TailStrategy::ShiftInwards)
        .reorder(ci, xi, yi, co, xo, yo, a.n);
    const int tiles = (s.out_h() + c.ty - 1) / c.ty;
    if (c.par == int(ParallelLoop::RowBlocks)) {
        const int per_block = (c.rows + c.ty - 1) / c.ty;
        out.split(yo, yb, yr, per_block, TailStrategy::ShiftInwards);
        parallel_in_tasks(out, yb, (tiles + per_block - 1) / per_block, c.tasks);
    } else if (c.par == int(ParallelLoop::Rows)) {
        parallel_in_tasks(out, yo, tiles, c.tasks);
    }
    out.unroll(ci).unroll(xi).unroll(yi);
    vectorize_if(out, ci, c.v);
    a.conv.compute_at(out, co).unroll(a.c).unroll(a.x).unroll(a.y);
    vectorize_if(a.conv, a.c, c.v);
    Var cv("cv"), cl("cl");
    if (c.v > 1) {
        u.split(a.c, cv, cl, c.v, TailStrategy::RoundUp).vectorize(cl).unroll(cv);
        u.reorder(cl, cv, a.x, a.y, kx, ky, a.n);
    } else {
        u.unroll(a.c).reorder(a.c, a.x, a.y, kx, ky, a.n);
    }
    u.unroll(a.x).unroll(a.y);
    if (s.n > 1) out.parallel(a.n);
    u.unroll(kx);
    if (unrolls_whole_window(s)) u.unroll(ky);
}

}  // namespace cpu
}  // namespace convgen
