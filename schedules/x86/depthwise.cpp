// x86 (AVX2 / AVX-512) hand schedule of the depthwise convolution.
//
// Reasoning: depthwise does k*k FMAs per output and reads each input k*k times (from cache), so
// it is bound by loads, not FMAs; the schedule keeps every load a full vector and the window
// unrolled:
//  - NHWC: vectors over channels (contiguous), a register tile of cw channel vectors x tx
//    columns x ty rows (AVX-512: up to 16 accumulators, AVX2: 8), the k x k window unrolled
//    outside it.
//    The zero padding stays inline: its condition is scalar (x, y) per vector, and Halide's loop
//    partitioning removes it from the interior.
//  - NCHW: cpu::schedule_depthwise_nchw (cpu_common.h: vectors over x, the padded plane of one
//    channel copied once per channel, ~50 KB at 112x112, channels in parallel) with a tile of xw
//    x-vectors x ty rows.
// Measured (Zen4 2 shared cores, JIT, avx512_zen4): D1 112x112x32 NHWC 0.073 ms (~98 GFLOP/s),
// NCHW ~63; small planes (D3/D4, NCHW) ~23 GFLOP/s: per-channel overhead dominates there.
// NHWC, build/convgen_bench --layers suite.tsv --threads 1 --rounds 3 (ratio = oneDNN/convgen):
//   before D1 1.38 D2 1.19 D3 1.14 D4 1.04 D5 1.25; after D1 1.39-1.43 D2 1.24-1.25 D3 1.22-1.26
//   D4 0.84-1.24 (same kernel; varies run to run, see below) D5 1.49.
// Row blocks (NHWC, input larger than L2): rows used to run in parallel one at a time, so with
// 2 threads taking alternate rows each core read (k-1)/stride + 1 input rows per output row
// (D2: 3 of every 4 input rows per core, D1: all of them) from L3. Now 8 contiguous row blocks
// run in parallel and each core streams its own band once. Zen4 2 cores, --threads 2 --rounds 5,
// same quiet machine: D1 44.9 -> 38.7 us (1.23 -> 1.42 x oneDNN), D2 39.8 -> 32.8 us
// (0.99 -> 1.22). The stride-2 loads were already whole vectors over channels (no gathers).
// Two-row tiles (NHWC, input in L2, stride 1): 1 channel vector x tx x 2 rows instead of
// 2 x tx x 1. Measured with 64-byte aligned activations (the bench used malloc's 16-byte
// alignment before, which split vector loads across cache lines and moved D3 between 19.5 and
// 35.7 us from process to process), median of 4 processes x 3 rounds, --threads 2, quiet machine,
// convgen us (oneDNN / convgen): D3 2 x 7 x 1 21.1 -> 1 x 7 x 2 20.0 (1.40), D4 12.4 -> 11.8
// (1.28), D5 13.7 -> 10.8 (1.39); D1 and D2 (row blocks from L3) keep 2 x 8 x 1: with two rows
// they measured 37.0 -> 39.2 and 33.8 -> 35.6 us.
// Tried and rejected (measured): a channel-block-outer order with row blocks sized to L1 (D3/D4
// 1.5-2x slower: with 1-2 KB pixel strides the tile's lines alias in a few L1 sets), staging a
// channel block's padded input (whole plane or a sliding window of rows) in a dense buffer
// (D3/D4 no faster, D5 1.5x slower), 1 x 14-16 and 4 x 4 tiles, 24 accumulators.
#include "schedules/x86/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace x86 {

void schedule_depthwise(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const int lanes = f.f32_lanes(), budget = f.vector_registers >= 32 ? 16 : 8;
    const int W = s.out_w(), H = s.out_h();

    if (s.layout == Layout::NCHW) {
        const int v = pick_vector(lanes, W);
        const int xw = std::max(1, std::min(2, W / v));
        const int ty = std::max(1, std::min(H, budget / 2 / xw));
        cpu::schedule_depthwise_nchw(a, v, xw, ty, pick_vector(lanes, s.w));
        return;
    }

    // NHWC register tile: cw channel vectors x tx columns x ty rows. When the input fits in L2
    // and the stride is 1, two output rows share k - 1 input rows: a 1 x 7 x 2 tile loads
    // 4 x 9 input vectors for 126 FMAs where 2 x 7 x 1 loads 2 x 3 x 9 = 54. Otherwise (input
    // streamed from L3 in row blocks, or stride 2, where two rows share one input row of
    // five) two channel vectors x tx columns, which measured better there (D1, D2). With one
    // row, two channel vectors when they divide the channels; one when the channel vectors
    // are odd, so the shifted last block recomputes nothing (D5: 240 channels = 15 vectors).
    // tx minimises the shifted last column tile.
    const int v = pick_vector(lanes, s.cout);
    const int nvec = s.cout / v;  // whole vectors: a tile wider than cout reads outside
    const long in_bytes = long(s.w) * s.h * s.c * 4;
    const bool fits_l2 = in_bytes <= f.l2_bytes;
    const int ty = fits_l2 && s.sh == 1 ? std::min(2, H) : 1;
    const int cw = ty == 1 && nvec >= 2 && nvec % 2 == 0 ? 2 : 1;
    const int tx = pick_points(budget / (cw * ty), cw, W);
    const RVar kx = a.r[0], ky = a.r[1];
    Func out = a.output;
    Halide::Stage u = a.conv.update();
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yo("yo"), yi("yi"), yb("yb"), yr("yr");
    out.split(a.c, co, ci, v * cw, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, tx, TailStrategy::ShiftInwards)
        .split(a.y, yo, yi, ty, TailStrategy::ShiftInwards)
        .reorder(ci, xi, yi, co, xo, yo, a.n);
    if (!fits_l2 && H >= 16) {
        // Contiguous row blocks per task (8 blocks): each core streams its own band of input
        // rows once instead of (k-1)/stride + 1 rows per output row picked in turn.
        const int tiles = (H + ty - 1) / ty;
        out.split(yo, yb, yr, (tiles + 7) / 8, TailStrategy::ShiftInwards).parallel(yb);
    } else {
        out.parallel(yo);
    }
    out.unroll(ci).unroll(xi).unroll(yi);
    vectorize_if(out, ci, v);
    a.conv.compute_at(out, co).unroll(a.c).unroll(a.x).unroll(a.y);
    vectorize_if(a.conv, a.c, v);
    Var cv("cv"), cl("cl");
    if (v > 1) {
        u.split(a.c, cv, cl, v, TailStrategy::RoundUp).vectorize(cl).unroll(cv);
        u.reorder(cl, cv, a.x, a.y, kx, ky, a.n);
    } else {
        u.unroll(a.c).reorder(a.c, a.x, a.y, kx, ky, a.n);
    }
    u.unroll(a.x).unroll(a.y);
    if (s.n > 1) out.parallel(a.n);
    u.unroll(kx);
    if (cpu::unrolls_whole_window(s)) u.unroll(ky);
}

}  // namespace x86
}  // namespace convgen
