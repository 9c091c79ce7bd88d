// CPU schedule of the fused depthwise separable block.
//
// Reasoning: the pointwise half holds almost all FMAs (C*Cout vs C*k*k per pixel), so it gets the
// register-blocked micro-kernel of pointwise (common.h). The depthwise half
// (schedule_dwsep_depthwise_nhwc/nchw) is computed per block of output rows, into a buffer of
// `rows` x W x C sized to a quarter of L2: the intermediate never goes to memory as a whole, and
// every pointwise channel block reuses it from cache. Row blocks are split evenly and in even
// numbers (even_row_blocks: a shifted last block recomputes rows, an odd count idles a core).
// When the pointwise weights fit in half of L1, a row per block instead: the blocks run in
// parallel and each sweeps every channel block from L1, one fork and join per call (3-6 us each
// when the worker sleeps between calls). With a single block the depthwise rows run in parallel.
//  - NHWC: dw vectorized over channels, a tile of 8 columns, window unrolled.
//  - NCHW: dw vectorized over x (the input's contiguous dim), stored x-innermost, in tiles of
//    dw_xw vectors (nchw_depthwise_vectors) x dw_ty rows that share their input rows' loads
//    (with a single block its channels run in parallel); the pointwise stage is the same
//    channel-vector tile as NHWC, its output stored a vector of columns per channel (the tile
//    transposed in registers, conv.cpp). A block
//    has at least the rows of one such tile (nchw_depthwise_rows), small pointwise weights or
//    not: with one-row blocks each output row loaded its k input rows alone. Measured (Zen 4,
//    AVX-512, 2 threads, fastest of 4 alternating processes, one-row blocks -> tile rows):
//    64 -> 32 7x7 on 57x56 n=7 3551 -> 1988 us, 240 -> 16 7x7 on 17x17 73.6 -> 36.0, 40 -> 100
//    5x5 s2 on 7x15 n=6 35.4 -> 16.3, 64 -> 32 on 35x35 64.1 -> 44.9, 16 -> 64 7x7 d2 on 149x149
//    922 -> 662, S1 386 -> 353; 9 of 22 layers gained 10% or more; lost: 16 -> 240 on 27x13 n=7
//    130 -> 149, 20 -> 36 on 17x17 11.9 -> 13.4. X-vectors for windows over 3x3 (Zen 3, AVX2,
//    fastest of 2 alternating processes, dw_xw 1 -> default): 256 -> 24 7x7 s2 on 113x113 4254 ->
//    2146 us, 100 -> 96 7x7 s2 on 35x35 172 -> 115, 64 -> 256 7x7 s2 on 17x17 n=5 258 -> 188;
//    17 layers 1.16x geomean, none below 0.89x.
//  - NCHW, stride 1, the repack (dw_pad=5, below): in each row block, each depthwise channel
//    vector copies its channels of the block's input rows channels innermost, then both stages
//    run as NHWC; the default where the pointwise stage is the channel tile and C_out is 8
//    vectors or more.
// Measured (Zen4, 2 cores, AVX-512, NHWC): S1-S4 1.01-1.07 x oneDNN (dw + pw primitives),
// S2b8 1.29; S2-S4 are within 10% of the FMA peak.
#include "schedules/cpu/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cpu {

// NCHW: where the depthwise stage's zero-padded input lives (Choice::dw_pad). A row block of
// `rows` output rows copies (rows - 1) * stride + (k - 1) * dilation + 1 padded input rows per
// channel; when that is 3 or more times the rows it advances, the whole input is copied once
// instead (one more fork and join). With a depthwise tile's rows per block (default_dwsep) that
// leaves the blocks cut to a row or two by a wide intermediate (C x W); the measurements below
// were taken with one-row blocks (32 -> 40 on 13x13, one 13-row block copied per block: 9.1 us,
// against 10.3 for one-row blocks copied once). Measured (Zen 4, AVX-512, 2 threads, fastest of 3
// interleaved processes, once vs per block, one-row blocks): 32 -> 40 3x3 d2 on 13x13 19.7 ->
// 10.5 us, 44 -> 24 3x3 d2 on 17x9 n=3 41.3 -> 27.9, 20 -> 36 3x3 on 17x17 15.2 -> 11.9, 16 ->
// 64 7x7 d2 on 149x149 1067 -> 923; S1 and 64 -> 32 on 35x35 even (389 vs 397, 61 vs 64);
// stride 2 (1.5 and 2.5 times) stays per block: once lost 48 -> 72 on 30x30 20.2 -> 26.4.
// Padding inline (2) won on 40 -> 100 5x5 s2 on 7x15 n=6 (30 -> 18 us) and S1 (389 -> 364) and
// lost on the others (up to 0.72x): left to `convgen tune`.
// A stride-2 window of 5 or more columns copies per block split into the stride phases (4): each
// tap then loads one dense vector, not two and a shuffle. Measured (same setup, phases vs plain
// copy): 40 -> 80 5x5 s2 on 28x28 23.5 -> 20.5 us, 100 -> 96 7x7 s2 on 35x35 99 -> 84, 256 -> 24
// 7x7 s2 on 113x113 even; at 3x3 the copy's cost weighs more: 256 -> 512 on 28x28 276 -> 352,
// 128 -> 256 on 56x56 334 -> 384, three others even.
static int dwsep_nchw_padding(const LayerSpec &s, int rows) {
    const int copied = (rows - 1) * s.sh + (s.kh - 1) * s.dh + 1;
    if (copied >= 3 * rows * s.sh) return 3;
    return s.sw >= 2 && s.kw >= 5 ? 4 : 1;
}

// The point of one NCHW strategy of the pointwise stage (channel_tile: the channel-vector tile,
// else x-vectors); NHWC always takes the channel tile.
static Choice dwsep_choice(const LayerSpec &s, const TargetFacts &f, bool channel_tile) {
    const int lanes = f.f32_lanes();
    const int W = s.out_w(), H = s.out_h();
    const bool small_weights = 4 * int64_t(s.c) * s.cout * 2 <= f.l1_bytes;
    const int fitting = dwsep_rows_fitting(s, f.l2_bytes / 4);
    // The fewest rows a block may have: NHWC one, NCHW a depthwise register tile's (they share
    // their input rows' loads), which never exceeds what fits.
    const int least = s.layout == Layout::NCHW ? std::min(nchw_depthwise_rows(s, f), fitting) : 1;
    const int rows = even_row_blocks(H, small_weights ? least : fitting);
    Choice c;
    if (s.layout == Layout::NHWC || channel_tile) {
        choose_nhwc_tile(c, s, f);
        choose_gemm_nhwc_sweep(c, s, f, rows);
    } else {
        choose_nchw_tile(c, s, f, rows);
        choose_gemm_nchw_sweep(c, s, rows, true);
    }
    c.dw_par = (H + c.rows - 1) / c.rows == 1 ? 1 : 2;
    if (s.layout == Layout::NHWC) {
        c.dw_v = pick_vector(lanes, s.c, f.full_rate_lanes());
        c.dw_tx = std::min(W, 8);
    } else {
        c.dw_v = pick_vector(lanes, W, f.full_rate_lanes());
        c.dw_ty = std::min(c.rows, nchw_depthwise_rows(s, f));
        c.dw_xw = nchw_depthwise_vectors(s, f, c.dw_v, c.dw_ty);
        if (s.reads_padding()) {
            c.dw_pad = dwsep_nchw_padding(s, c.rows);
            c.in_v = nchw_padded_copy_vector(s, f, c.dw_pad == 4 ? s.sw : 1);
        }
    }
    return c;
}

// NCHW's third strategy, the repack (dw_pad=5): the input rows of each row block copied channels
// innermost, a channel vector at a time (schedule_dwsep_depthwise_nhwc's repack_block;
// transpose_input, kRepackBlock x kRepackBlock blocks, the padding included), then both stages
// as NHWC: the depthwise stage vectorized over channels, the pointwise stage the channel tile
// whose stores transpose back to NCHW. Channel vectors waste no lanes on a narrow or odd width,
// and the window's taps are plain vector loads at any dilation, for a transpose of the input
// and of the output. Stride 1 only: at stride 2 the copy is four times the outputs; measured
// (Zen 3, AVX2, 2 threads, fastest of 3 alternating processes, 36 random stride-2 NCHW dwsep
// layers, a channel vector at a time, against the default) it lost, 0.9x geomean (0.53-1.43x).
// Measured with the whole block's input copied at once (Zen 3, AVX2, 2 threads, fastest of 2
// alternating processes, 77 NCHW dwsep layers, against the default then): 0.85x geomean; won up to
// 1.62x, mostly on small images (384 -> 96 3x3 d2 on 15x15, 120 -> 72 on 13x13 1.43x, 240 ->
// 120 on 29x28 1.37x; also 100 -> 160 7x7 on 73x57 1.36x), lost where the output transposes
// outweigh the pointwise FMAs (few output channels: 128 -> 8 on 35x35 0.39x) and on S1 and S2
// (0.70x). Of those whose default took the channel tile, the ones
// with C_out >= 64 gained 1.15x (13 layers, S4 0.85x the worst), those below lost (0.39-1.02x).
// The copy a channel vector at a time (schedule_dwsep_depthwise_nhwc) is 1.22x faster than that
// block copy on 30 layers the default repacks. Against the default on 16 layers of 32-63 output
// channels it measured 1.00x (5x5 and 7x7 windows up to 1.89x, 3x3 ones down to 0.59x), so the
// threshold stays.
static bool repack_eligible(const LayerSpec &s, const TargetFacts &f) {
    return s.layout == Layout::NCHW && s.sw == 1 && repack_fits(s, f) && s.cout >= f.f32_lanes();
}

// Where the default takes the repack: a layer whose pointwise stage is the channel tile anyway
// (its output transposes are paid either way), and whose pointwise FMAs, cout / lanes vector
// FMAs per intermediate float, are 8 or more: then the input transpose (~1.5 instructions a
// float) is a small share. Measured on 42 other layers that it takes (random draws, seeds 101-
// 130, same setup, fastest of 3): 1.06x geomean, 23 faster, from 0.71x (80 -> 64 on 9x9) to 1.90x
// (192 -> 96 5x5 d2 on 29x29); 10 below 0.9x (down to 0.71x), on images of 9 to 27 columns.
static bool repack_pays(const LayerSpec &s, const TargetFacts &f) {
    return repack_eligible(s, f) && s.cout >= 8 * f.f32_lanes();
}

static Choice repack_choice(const LayerSpec &s, const TargetFacts &f) {
    Choice c = dwsep_choice(s, f, true);
    c.dw_v = pick_vector(f.f32_lanes(), s.c, f.full_rate_lanes());
    c.dw_tx = std::min(s.out_w(), 8);
    c.dw_ty = c.dw_xw = 0;
    c.dw_pad = 5;
    c.in_v = kRepackBlock;
    return c;
}

Choice default_dwsep(const LayerSpec &s, const TargetFacts &f) {
    const bool channel_tile = nchw_channel_tile(s, f, gemm_products(s), 1);
    if (channel_tile && repack_pays(s, f)) return repack_choice(s, f);
    return dwsep_choice(s, f, channel_tile);
}

std::vector<Choice> dwsep_strategies(const LayerSpec &s, const TargetFacts &f) {
    const Choice d = default_dwsep(s, f);
    if (s.layout == Layout::NHWC) return {d};
    std::vector<Choice> out{d}, others{dwsep_choice(s, f, true), dwsep_choice(s, f, false)};
    if (repack_eligible(s, f)) others.push_back(repack_choice(s, f));
    for (const Choice &c : others)
        if (c != d) out.push_back(c);
    return out;
}

void apply_dwsep(Algorithm &a, const Choice &c) {
    const Var yb = c.cw ? schedule_gemm_nhwc(a, c, {a.r.x}) : schedule_gemm_nchw(a, c, {a.r.x}, true);
    if (a.spec.layout == Layout::NHWC || c.dw_pad == 5)
        schedule_dwsep_depthwise_nhwc(a, yb, c.dw_v, c.dw_tx, c.dw_par == 1, c.tasks, c.dw_pad == 5 ? c.in_v : 0);
    else
        schedule_dwsep_depthwise_nchw(a, yb, c.dw_v, c.dw_xw, c.dw_ty, c.dw_pad, c.in_v, c.dw_par == 1, c.tasks);
}

}  // namespace cpu
}  // namespace convgen
