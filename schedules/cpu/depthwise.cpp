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
//    one dense load of one phase, for a shuffle per copied vector. The other strategy, the
//    repack (pad=3, below), runs the window as NHWC's over a channels-innermost copy.
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

// NCHW's second strategy, the repack (pad=3): each task, a channel vector of a row block, copies
// its input rows channels innermost (transpose_input, kRepackBlock x kRepackBlock blocks, the
// padding included), then the window runs as NHWC's (vectors over v channels, a tile of tx
// columns), and each channel's tx columns leave the tile as one vector store (a transpose in
// registers). Channel vectors waste no lanes on a narrow or odd width, and every tap is a dense
// load at any stride or dilation, for a transpose of the input and of the output.
// Rows per block: the copy (v channels x the block's input rows x the padded width) in a quarter
// of L2, split evenly. Measured against the native default (Zen 3, AVX2, 2 threads, fastest of
// 2-3 alternating processes): 24 random NCHW layers 0.99x geomean, from 0.53x (120 ch 19x19 3x3
// d2 n=7) to 2.35x (80 ch 224x224 3x3 s2, inline padding there); 22 layers of at most 20 output
// columns, where x-vectors waste lanes, 1.03x (0.88-1.19x). No class of layers won as a whole, so
// it is not the default: a strategy that `convgen tune` measures per layer.
static bool repack_eligible(const LayerSpec &s, const TargetFacts &f) {
    return s.layout == Layout::NCHW && s.multiplier == 1 && repack_fits(s, f);
}

static Choice repack_choice(const LayerSpec &s, const TargetFacts &f) {
    Choice c;
    c.v = pick_vector(f.f32_lanes(), s.c, f.full_rate_lanes());
    if (c.v % kRepackBlock) c.v = kRepackBlock;  // each channel vector transposes whole blocks
    c.tx = pick_points(f.vector_registers >= 32 ? 16 : 8, 1, s.out_w());
    const int64_t row_bytes = int64_t(4) * c.v * padded_row(s);
    const int64_t fitting_in_rows = std::max<int64_t>(1, f.l2_bytes / 4 / row_bytes);
    const int halo = (s.kh - 1) * s.dh + 1 - s.sh;  // input rows a block reads beyond its sh per output row
    c.rows = even_row_blocks(s.out_h(), int(std::max<int64_t>(1, (fitting_in_rows - halo) / s.sh)));
    c.pad = 3;
    c.in_v = kRepackBlock;
    c.wcopy = 2;  // in place: schedule_weight_copy
    return c;
}

// NCHW's native strategy: x-vectors (schedule_depthwise_nchw).
static Choice native_nchw_choice(const LayerSpec &s, const TargetFacts &f) {
    const int W = s.out_w(), H = s.out_h();
    Choice c;
    // Rows (nchw_depthwise_rows): the largest divisor of H in [rows/2, rows] and at least 2
    // (no shifted last tile), else the most; a one-row tile left a 5x5 stride-2 layer at one
    // accumulator (Zen 3, AVX2: 100 ch on 113x113 473 -> 285 us with 2 rows and full
    // vectors). X-vectors: nchw_depthwise_vectors.
    const int rows = nchw_depthwise_rows(s, f);
    c.v = pick_vector(f.f32_lanes(), W, f.full_rate_lanes());
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

static Choice nhwc_choice(const LayerSpec &s, const TargetFacts &f) {
    const int budget = f.vector_registers >= 32 ? 16 : 8;
    const int W = s.out_w(), H = s.out_h();
    Choice c;
    c.v = pick_vector(f.f32_lanes(), s.cout, f.full_rate_lanes());
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
    c.wcopy = 2;  // in place: schedule_weight_copy
    return c;
}

Choice default_depthwise(const LayerSpec &s, const TargetFacts &f) {
    return s.layout == Layout::NCHW ? native_nchw_choice(s, f) : nhwc_choice(s, f);
}

std::vector<Choice> depthwise_strategies(const LayerSpec &s, const TargetFacts &f) {
    const Choice d = default_depthwise(s, f);
    std::vector<Choice> out{d};
    if (repack_eligible(s, f)) out.push_back(repack_choice(s, f));
    return out;
}

// wcopy=1: the weights copied once per call (kh x kw x cout floats), each tap's row of channels
// padded by a vector; 2 (the default): read in place. In HWC a channel vector's taps lie cout
// floats apart, as do the NHWC input pixels of the tile's window: with 512 channels a pixel is 32
// lines and all of them fall into 2 of the L1's 64 sets. The padded rows spread the taps over
// every set. Whether that pays depends on where the weights lie against the input. Measured
// (Zen 3, AVX2, 2 threads, fastest of 5-6 alternating runs, in place -> copy):
//  - weights and input at the same page offset (a standalone harness, Halide::Runtime::Buffer):
//    512 ch 7x7 on 33x33 NHWC 925 -> 566 us, 512 ch 3x3 on 14x14 40.1 -> 26.5, 1024 ch 3x3 on
//    7x7 48.7 -> 40.5, 256 ch 7x7 on 19x19 171 -> 124;
//  - weights packed by convgen_prepare_params, as every runtime user's are (convgen_bench): 24
//    random NHWC depthwise layers at such strides 0.99x geomean in two A/Bs, 256 ch 7x7 on 19x19
//    114 -> 144-157 us, 512 ch 7x7 on 33x33 630 -> 664.
// So the copy is a strategy for `convgen tune`, which measures it in the runtime's placement.
static void schedule_weight_copy(Algorithm &a, const Choice &c) {
    if (c.wcopy != 1) return;
    Func w = a.params[1].in();
    const Var ch = w.args()[0];
    w.compute_root().bound_storage(ch, a.spec.cout + c.v);
    vectorize_if(w, ch, c.v);
}

// The repack (pad=3). Loops, innermost first:
//   out:   [xi: tx columns, one vector store per channel][ci: v channels]   the tile, transposed
//          | xo | yr (rows of the block) | t: (row block, channel vector), parallel | n
//   input: at t, the task's input rows, v channels innermost (transpose_input)
//   conv:  at xo, [c: v lanes][x: tx columns] accumulators, the window unrolled outside them
static void schedule_depthwise_repacked(Algorithm &a, const Choice &c) {
    const LayerSpec &s = a.spec;
    Func out = a.output;
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr"), t("t");
    out.split(a.c, co, ci, c.v, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, c.tx, TailStrategy::ShiftInwards)
        .split(a.y, yb, yr, c.rows, TailStrategy::ShiftInwards)
        .reorder(xi, ci, xo, yr, yb, co, a.n)
        .fuse(yb, co, t)
        .unroll(ci);
    vectorize_if(out, xi, c.tx);
    const int blocks = (s.out_h() + c.rows - 1) / c.rows * ((s.cout + c.v - 1) / c.v);
    parallel_in_tasks(out, t, blocks, c.tasks);
    if (s.n > 1) out.parallel(a.n);
    a.input.compute_at(out, t);
    transpose_input(a, c.in_v);
    schedule_channel_window_accumulators(s, a.conv, out, xo, c.v, a.r[0], a.r[1], a.c, a.x, a.y, a.n);
    schedule_weight_copy(a, c);
}

void apply_depthwise(Algorithm &a, const Choice &c) {
    const LayerSpec &s = a.spec;
    if (s.layout == Layout::NCHW) {
        if (c.pad == 3) schedule_depthwise_repacked(a, c);
        else schedule_depthwise_nchw(a, c);
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
    schedule_weight_copy(a, c);
}

}  // namespace cpu
}  // namespace convgen
