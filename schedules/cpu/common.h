// The CPU schedule family (x86 AVX2 / AVX-512, AArch64 NEON): one implementation sized by the
// machine facts (schedules/target_facts.h). Each kind's file (schedules/cpu/<kind>.cpp) has a
// default-choice function (the heuristics, a function of the layer and the facts) and an apply
// function (the Halide directives of a Choice, schedules/choice.h). This header holds what they
// share: tail-safe helpers, the tile models, the two register-blocked GEMM-like sweeps that conv,
// pointwise and the pointwise half of dwsep use, the NCHW depthwise sweep and dwsep's depthwise
// stage (both layouts).
//
// Every split here is either exact or ShiftInwards with a factor <= the extent, so no loop reads
// or writes outside the fixed-shape buffers (Halide checks that at run time).
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"
#include "schedules/choice.h"
#include "schedules/target_facts.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace convgen {
namespace cpu {

using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Target;
using Halide::Var;
using Halide::VarOrRVar;

inline int pow2_floor(int v) {
    int p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

// The number of points (each `width` accumulators wide) along a dim of `extent` for a register
// tile of at most `max_points`: minimises the loads per FMA over the whole dim, counting the
// points recomputed by the shifted last tile.
inline int pick_points(int max_points, int width, int extent) {
    max_points = std::max(1, std::min(max_points, extent));
    int best = 1;
    double best_cost = 1e30;
    for (int t = 1; t <= max_points; t++) {
        const double tiles = (extent + t - 1) / t;
        const double cost = tiles * t * (1.0 / width + 1.0 / t);
        if (cost < best_cost - 1e-9) best = t, best_cost = cost;
    }
    return best;
}

// Rows per block when `extent` rows are cut into blocks of at most `max_rows` that run in
// parallel: split evenly, and into an even number of blocks when there are several, since an
// odd count leaves one of two cores idle for a block's time (S1, S2: 7 blocks ran as 4 + 3).
// Smaller blocks are taken when that is what makes the count even (14 rows of at most 2: 14
// blocks of 1, not 7 of 2).
inline int even_row_blocks(int extent, int max_rows) {
    max_rows = std::max(1, std::min(max_rows, extent));
    const int blocks = (extent + max_rows - 1) / max_rows;
    const int rows = (extent + blocks - 1) / blocks;
    if (blocks == 1) return rows;
    for (int r = rows; r >= 1; r--)
        if (((extent + r - 1) / r) % 2 == 0) return r;
    return rows;
}

inline void vectorize_if(Func f, const VarOrRVar &v, int factor) {
    if (factor > 1) f.vectorize(v, factor, TailStrategy::ShiftInwards);
}

// The k x k window is unrolled whole up to 5x5 (25 taps); a larger one unrolls kx only.
inline bool unrolls_whole_window(const LayerSpec &s) { return s.kh * s.kw <= 25; }

// The share of an NHWC register-tile sweep (column tiles of tx outputs x output rows) whose
// window reads no padding.
inline double padding_free_share(const LayerSpec &s, int tx) {
    auto free_share = [](int outs, int tile, int stride, int span, int pad, int size) {
        int tiles = 0, free = 0;
        for (int o = 0; o < outs; o += tile, tiles++) {
            const int last = std::min(o + tile, outs) - 1;
            free += o * stride - pad >= 0 && last * stride + span - 1 - pad < size;
        }
        return double(free) / tiles;
    };
    return free_share(s.out_w(), std::max(1, tx), s.sw, (s.kw - 1) * s.dw + 1, s.pad_l, s.w) *
           free_share(s.out_h(), 1, s.sh, (s.kh - 1) * s.dh + 1, s.pad_t, s.h);
}

// Layers below this much work run on the calling thread (schedules/select.cpp). Each parallel
// loop costs a fork and a join, ~3 us on the shared 2-core Zen4 once Halide's worker has gone to
// sleep between calls, which is the time one core needs for ~0.35 MFLOP; a two-core split saves
// half the arithmetic. Measured (convgen_bench --layers bench/tiny_layers.tsv, us per call, 1
// thread vs 2 threads): dwsep 0.51 MFLOP 5.3 vs 16.0, conv 0.29 MFLOP 1.6 vs 4.5, depthwise 0.23
// MFLOP 2.2 vs 4.4, pointwise 0.40 MFLOP 3.7 vs 3.2, pointwise 0.90 MFLOP 8.2 vs 5.1.
constexpr int64_t kMinParallelFlops = 600 * 1000;

// The most tasks each parallel loop of a CPU kernel is cut into (Choice::tasks): whole cores'
// worth, one to eight per core, each with at least 8 x kMinParallelFlops of work. Halide's pool
// hands a parallel loop out one iteration at a time under a lock all threads share (a cache line
// crossing cores per iteration, a stall whenever the holder's vCPU is descheduled): iterations of
// a few microseconds cost more than their work. Several tasks per core let the others make up for
// a core slowed by a neighbour. Measured (Zen 4, 2 cores, NCHW): D4 (512 channels of 14x14, a
// task per channel) 43-138 us, in 8 tasks 15.4 us; `convgen tune` then found 2 tasks faster than
// 8 for the small depthwise layers (D3-D5, E2: 1.09-1.23x) and 16 for C1 (87 MFLOP: 1.24x).
//
// A batch runs its images in parallel as well (the outermost loop); when the images alone keep
// every core busy (a multiple of the cores, or at least 4 per core) the loops inside an image run
// as one task: a parallel loop nested in a parallel one pays its fork and join per image and
// gains no core. Measured (Zen 4, 2 cores, --choice tasks=1 against the nested default, NHWC):
// 64 channels 29x29 depthwise n=4 33 -> 21 us, 3 -> 72 dwsep s2 on 113x113 n=6 166 -> 92 (NCHW
// 228 -> 101), 48 -> 320 pointwise 7x7 n=2 NCHW 25 -> 20; an odd batch under 4 per core (n=3:
// 2 + 1 images) keeps the split images.
inline int default_tasks(const LayerSpec &s, const TargetFacts &f) {
    const int cores = std::max(1, f.cores);
    if (s.n > 1 && (s.n % cores == 0 || s.n >= 4 * cores)) return 1;
    const int64_t per_core = count(s).flops / cores;
    return cores * int(std::clamp<int64_t>(per_core / (8 * kMinParallelFlops), 1, 8));
}

// Runs loop `v` of `f` (about `extent` iterations) in parallel, as at most `tasks` tasks of
// consecutive iterations (an outer loop `<v>_task`; `v` stays the inner loop, so compute_at(f, v)
// is unchanged). GuardWithIf: the last task may be shorter, nothing is computed twice.
inline void parallel_in_tasks(Func f, const Var &v, int extent, int tasks) {
    const int grain = tasks > 0 ? (extent + tasks - 1) / tasks : 1;
    if (grain <= 1) {
        f.parallel(v);
        return;
    }
    Var t(v.name() + "_task");
    f.split(v, t, v, grain, TailStrategy::GuardWithIf).parallel(t);
}

// Where the zero padding of conv and pointwise lives: materialised once (pad=1) when the layer
// reads padding, in the layout's order and vectorized along its innermost dim (in_v: channels or
// width), so the inner loops load instead of clamp + select; or inline (pad=2).
// NHWC (`nhwc_tx`: the register tile's columns) keeps the padding inline when at least half of
// the tiles read none: its condition is scalar per broadcast and Halide's loop partitioning
// takes it out of those tiles, while the copy is a pass over the input in a parallel loop of its
// own. Measured (convgen_bench, --threads 2, AVX-512, medians of 2 processes): 3 -> 32 channels,
// 3x3 stride 2 on 112x112 (MobileNet's first layer) 45-75 -> 32-34 us, 0.49-0.69 -> 0.93 x
// oneDNN; 64 -> 128 3x3 stride 2 on 56x56 550-669 -> 524-547 us; R4 about the same. A 5x5 pad-2
// layer on 28 columns (two column tiles, both reading padding) stays materialised: inline it
// measured 210 -> 441 us on AVX2. An NCHW channel tile that does not take the channels-innermost
// copy below (fewer than 8 input channels per group: first layers) keeps the padding inline
// whatever the share: its broadcasts are scalar as in NHWC, and the plane-order copy is a pass
// parallel over only C_in planes. Measured (Zen 4, AVX-512, fastest of 3 alternating processes,
// inline vs the copy): R4 1335 -> 1130 us, C4 82 -> 39, 3 -> 32 3x3 s2 on 224x224 330 -> 146,
// 6 -> 24 3x3 s2 d2 on 33x33 19.1 -> 5.1, 2 -> 96 5x5 s2 on 64x64 72.8 -> 64.6, two small ones
// 1.01-1.05x; the x-vector tile (vector loads along x) keeps the copy (inline 0.33x on 4 -> 40
// 5x5 on 28x28).
// NCHW conv with a channel-vector tile (pad=3): the input copied once with channels innermost,
// as NHWC, so that each reduction step's broadcasts read consecutive channels of one pixel; in
// place they step a whole plane apart (C_in streams a plane apart, revisited for every tap of the
// window). The copy is transpose_input's, in_v x in_v blocks (8 x 8: ~1.5 instructions per
// float; 16 x 16 spilled, 2x slower). Padded like pad=1.
// The zero-padded input computed once before the sweep, in the layout's order, vectorized by
// `in_v` along its innermost dim, the images and then rows (NHWC) or channels (NCHW) in parallel
// in at most `tasks` tasks: conv/pointwise pad=1, dwsep's depthwise stage dw_pad=3.
inline void copy_padded_input(Algorithm &a, int in_v, int tasks) {
    a.input.compute_root();
    if (a.spec.n > 1) a.input.parallel(a.n);
    if (a.spec.layout == Layout::NHWC) {
        vectorize_if(a.input, a.c, in_v);
        parallel_in_tasks(a.input, a.y, a.spec.h + a.spec.pad_t + a.spec.pad_b, tasks);
    } else {
        a.input.reorder_storage(a.x, a.y, a.c, a.n).reorder(a.x, a.y, a.c, a.n);
        vectorize_if(a.input, a.x, in_v);
        parallel_in_tasks(a.input, a.c, a.spec.c, tasks);
    }
}

// The NCHW input copied channels innermost (a.input, wherever the caller computes it), as a
// transpose in blocks of `block` columns x `block` channels: `block` dense x-vector loads
// (input_planes, computed per block) and `block` channel vectors read from them with a stride,
// which LLVM turns into shuffles. Conv's pad=3 and dwsep's dw_pad=5.
inline void transpose_input(Algorithm &a, int block) {
    Var cb("cb"), xb("xb"), cl("cl"), xl("xl");
    a.input.tile(a.c, a.x, cb, xb, cl, xl, block, block, TailStrategy::ShiftInwards)
        .reorder(cl, xl, cb, xb, a.y, a.n)
        .vectorize(cl)
        .unroll(xl);
    a.input_planes.compute_at(a.input, cb).vectorize(a.x).unroll(a.c);
}

// Applies Choice::pad / in_v (choose_padding).
inline void apply_padded_input(Algorithm &a, const Choice &c) {
    if (c.pad == 3) {
        a.input.compute_root();
        transpose_input(a, c.in_v);
        if (a.spec.n > 1) a.input.parallel(a.n);
        parallel_in_tasks(a.input, a.y, a.spec.h + a.spec.pad_t + a.spec.pad_b, c.tasks);
        return;
    }
    if (c.pad == 1) copy_padded_input(a, c.in_v, c.tasks);
}

// The vector width for a dim of `extent` elements: lanes or lanes/2, whichever takes fewer issue
// slots over the dim (its vectors, the shifted last one included, times the slots a vector
// takes: one up to `rate_lanes`, TargetFacts::full_rate_lanes, more for a wider one); ties go to
// the wider. Where a full vector issues as two (Zen 4's AVX-512) that is the width that
// recomputes fewer elements; where both widths take one slot (AVX2, NEON) the full one. A power
// of two <= extent when the dim is narrower than both. Measured (Zen 3, AVX2, NCHW depthwise,
// 8 lanes instead of 4 that recompute fewer columns): 512 ch 7x7 on 33x33 2180 -> 1173 us,
// 44 ch 5x5 on 73x73 n=5 1108 -> 698, 60 ch 7x7 on 35x35 127 -> 84.
inline int pick_vector(int lanes, int extent, int rate_lanes) {
    int best = 0, best_slots = 0;
    for (int v : {lanes, lanes / 2}) {
        if (v < 1 || v > extent) continue;
        const int slots = (extent + v - 1) / v * ((v + rate_lanes - 1) / std::max(1, rate_lanes));
        if (best == 0 || slots < best_slots) best = v, best_slots = slots;
    }
    return best ? best : pow2_floor(std::max(1, extent));
}

// Accumulators a register tile may hold: the rest of the register file keeps the weight vectors,
// a broadcast and the loads in flight.
inline int accumulator_budget(const TargetFacts &f) { return f.vector_registers >= 32 ? 24 : 12; }

// The columns of one row of the zero-padded input, split into `phases` stride phases (pad=4,
// dw_pad=4): the longest phase's.
inline int padded_row(const LayerSpec &s, int phases = 1) { return (s.w + s.pad_l + s.pad_r + phases - 1) / phases; }

// The vector width of an NCHW depthwise padded-plane copy (Choice::in_v). With at most two
// full vectors per padded row every vector touches the border, so a full-width copy is a select
// of clamped gathers, and a scalar one pays a load and a store per element: 4-lane vectors
// (128 bits on every CPU target) sit between. Measured (Zen 4, 2 cores, AVX-512, medians of 3
// interleaved rounds): D3 (28 columns) 106.6 -> 41.8 us with 4 lanes instead of 1, D4 (14)
// 55.8 -> 49.5; D1, D2 (112) keep full-width vectors (4 lanes: 2x slower).
// Split into `phases` stride phases (Choice pad=4), a phase row holds 1/phases of the padded
// width, and an edge vector reads the input with a stride: clamped, that is a gather, so the
// widest vector (a power of two down to 4 lanes, else 3) that leaves one interior vector between
// the two edges. Measured (Zen 4, AVX-512, fastest of 2 alternating processes): 144 ch 56x56 3x3
// s2 (29 per phase) 8 lanes 32.8 us, 4 lanes 40.4, 16 lanes 136.5 (all gathers); (Zen 3, AVX2,
// 4 -> 3 lanes on phase rows of 8-10) 128 ch 112x13 5x5 s2 n=7 1085 -> 551 us, 192 ch 56x13 3x3
// s2 n=7 306 -> 170, dwsep 40 -> 100 5x5 s2 on 7x15 n=6 21.6 -> 26.2.
// Under 3 lanes the copy is a scalar or pair loop, whose partitioning Halide may not do: forcing
// it (padding_partition_x) was a compile error.
inline int nchw_padded_copy_vector(const LayerSpec &s, const TargetFacts &f, int phases = 1) {
    const int lanes = f.f32_lanes(), padded = padded_row(s, phases);
    if (phases > 1) {
        int v = lanes;
        while (v > 3 && 3 * v > padded) v = v > 4 ? v / 2 : 3;
        return v;
    }
    return padded <= 2 * lanes ? std::min(lanes, 4) : pick_vector(lanes, s.w, f.full_rate_lanes());
}

// The block of the channels-innermost copy (pad=3): 8 columns x 8 channels. An NCHW conv whose
// window has more than one tap takes the copy when a group has at least one block of channels
// and the window does not skip columns (kw >= sw). Measured (Zen 4, AVX-512, 2 threads, fastest
// of 3 interleaved processes, copy vs the plane-order copy or in place): 192 -> 200 3x3 s2 on
// 33x33 1134 -> 942 us, 384 -> 16 7x7 s2 4 groups on 35x35 789 -> 733, 120 -> 18 3x3 d2 on 29x29
// 283 -> 265, 24 -> 12 3x3 n=3 on 57x35 300 -> 283, the others of 13 layers within 2%. Pointwise
// reads each input once per channel block and lost with the copy (256 -> 64 on 56x56 464 -> 539).
constexpr int kRepackBlock = 8;

// Whether the NCHW input transposes in whole kRepackBlock blocks (transpose_input): vectors of at
// least a block's lanes, and a block of channels (of one group) and of columns.
inline bool repack_fits(const LayerSpec &s, const TargetFacts &f) {
    return f.f32_lanes() >= kRepackBlock && s.c / std::max(1, s.groups) >= kRepackBlock && s.w >= kRepackBlock;
}

// Whether an NCHW conv copies its input channels innermost (pad=3) under a channel tile or the dot
// tile: a window of more than one tap that does not skip columns, in whole blocks (above).
inline bool conv_copies_channels_innermost(const LayerSpec &s, const TargetFacts &f) {
    return s.kind == Kind::Conv && s.layout == Layout::NCHW && s.kh * s.kw > 1 && s.kw >= s.sw && repack_fits(s, f);
}

inline void choose_padding(Choice &c, const LayerSpec &s, const TargetFacts &f, int nhwc_tx) {
    const bool nhwc = s.layout == Layout::NHWC;
    if ((c.cw || c.dot) && conv_copies_channels_innermost(s, f)) {
        c.pad = 3;
        c.in_v = kRepackBlock;
        return;
    }
    if (!s.reads_padding()) return;
    if (c.cw && (!nhwc || padding_free_share(s, nhwc_tx) >= 0.5)) {
        c.pad = 2;
        return;
    }
    c.pad = 1;
    c.in_v = pick_vector(f.f32_lanes(), nhwc ? s.c : s.w, f.full_rate_lanes());
}

// The NHWC register tile (v, cw: cw vectors of v output channels; tx output columns), chosen by
// a small throughput model over the whole layer rather than a fixed shape: the shifted last tile
// along x (ShiftInwards) and along channels recomputes outputs, which at W = 56 or 14 with tx = 6
// wasted 7% of all FMAs. Per reduction step a tile issues cw*tx vector FMAs and cw + tx loads
// (weights, broadcasts); with ~2 FMAs and ~2 loads per cycle its cost is max(cw*tx, cw + tx,
// the FMAs in flight the units need) over all tiles executed. Registers: cw*tx accumulators + cw
// weight vectors + 1 broadcast <= the register file.
// Grouped conv (groups > 1): a tile of exactly one group's output channels when one fits: v the
// largest lane count <= the ISA's that divides Cout/groups, cw = Cout/groups / v. The group of a
// channel vector, co / (Cout/groups), is then provably one value (Halide's alignment analysis:
// the tile starts at a multiple of Cout/groups), so each reduction step broadcasts one input;
// a tile across groups (or inside a larger group) makes that index a per-lane division and every
// input read a gather. Measured (Zen 4, AVX-512, 2 threads): 160 -> 112 channels, 4 groups, 3x3
// on 33x33 NHWC: 23.6 ms with the plain tile, 0.75-1.5 ms with whole-group tiles. Returns false
// (the plain tile follows) when a group needs more channel vectors than the registers hold.
inline bool choose_group_tile(Choice &c, const LayerSpec &s, const TargetFacts &f) {
    if (s.kind != Kind::Conv || s.groups == 1) return false;
    const int group = s.cout / s.groups, lanes = f.f32_lanes();
    const int max_cw = f.vector_registers >= 32 ? 8 : 4;  // leaves >= 2 columns of accumulators
    for (int v = std::min(lanes, group); v >= 1; v--) {
        if (group % v != 0 || group / v > max_cw) continue;
        c.v = v;
        c.cw = group / v;
        const int max_tx = std::min(accumulator_budget(f) / c.cw, (f.vector_registers - c.cw - 1) / c.cw);
        c.tx = pick_points(std::max(1, max_tx), c.cw, s.out_w());
        return true;
    }
    return false;
}

// Products per output of a GEMM sweep: conv C/groups x kh x kw, pointwise and dwsep's pointwise
// stage C (a dwsep's kh x kw is its depthwise window).
inline int gemm_products(const LayerSpec &s) {
    return s.kind == Kind::Conv ? s.c / std::max(1, s.groups) * s.kh * s.kw : s.c;
}

// Channel blocks of a channel-vector tile (v x cw channels each; the last one shifted).
inline int channel_blocks(const LayerSpec &s, const Choice &c) { return (s.cout + c.v * c.cw - 1) / (c.v * c.cw); }

// The most columns a channel-vector tile may broadcast from a channels-innermost input whose
// pixels lie `pixel_bytes` apart. Each reduction step reads one float of each column's pixel, and
// the next line-minus-one steps read the rest of those lines; where the pixel stride is a multiple
// of the line, the tx lines fall into only sets / gcd(sets, lines per pixel) of the L1's sets, and
// more columns than those sets hold (a way left for the weight stream) evict each other between
// steps. Measured (Zen 4, 64 sets x 8 ways, NHWC 512 -> 112 on 29x29: a pixel is 32 lines, all
// columns in 2 sets; cw = 1): tx 29 857 us, 15 448, 12 550, 8 484 (oneDNN 420).
inline int l1_broadcast_columns(const TargetFacts &f, int64_t pixel_bytes) {
    if (pixel_bytes % f.line_bytes != 0) return 1 << 20;  // consecutive pixels spread over the sets
    const int64_t sets = f.l1_sets(), lines = pixel_bytes / f.line_bytes;
    return int(sets / std::gcd(sets, lines)) * std::max(1, f.l1_ways - 1);
}

// The model's (cw, tx) tiles for v-lane channel vectors, cheapest first (ties: fewer channel
// vectors, then fewer columns). In NCHW each channel's tx columns are stored as one vector
// transposed out of the tile; with few products per output (under 4 v) that transpose is much of
// the work and a tx that is not a power of two splits into pieces: such layers take only powers
// of two. Measured (Zen 4, AVX-512, C4 NCHW: 3 -> 32, 3x3 s2 on 112x112, 27 products): tx 14 ->
// 4 93.8 -> 47.1 us (oneDNN 28-31); S3 (512 products) keeps its 14 (4: 478 -> 546 us).
// Channel vectors per tile: up to 4 with 32 registers; with 16, 3 in NHWC (3 x 4 = 12
// accumulators, 3 weights and a broadcast: all 16) and 2 in NCHW, whose stores transpose each
// channel's tx columns and 3 vectors leave tx at 3 or 4. Measured (Zen 3, AVX2, 2 threads, fastest
// of 3 alternating processes, 40 random layers whose tile the third vector changes, against 2):
// NHWC 1.18x geomean (conv 1.27x, pointwise 1.14x, dwsep 1.17x; 128 -> 24 on 73x73 1.5x), NCHW
// 0.97x.
inline std::vector<std::pair<int, int>> ranked_nhwc_tiles(const LayerSpec &s, const TargetFacts &f, int v) {
    const int W = s.out_w();
    const bool pow2_columns = s.layout == Layout::NCHW && gemm_products(s) < 4 * v;
    // NHWC broadcasts from the input's pixels (dwsep: from its depthwise intermediate's, 1 apart);
    // NCHW ones read consecutive floats of one channel's row.
    const int64_t pixel_bytes = int64_t(s.kind == Kind::Dwsep ? 1 : s.sw) * s.c * 4;
    const int columns = s.layout == Layout::NCHW ? W : std::min(W, l1_broadcast_columns(f, pixel_bytes));
    // Whole vectors only: a channel tile wider than cout would read outside the buffers.
    const int nvec = std::max(1, s.cout / v);
    const int max_cw = std::min(nvec, f.vector_registers >= 32 ? 4 : s.layout == Layout::NHWC ? 3 : 2);
    std::vector<std::pair<double, std::pair<int, int>>> costed;
    for (int cw = 1; cw <= max_cw; cw++) {
        const int max_tx = std::min(columns, (f.vector_registers - cw - 1) / cw);
        const double tiles_c = (s.cout + v * cw - 1) / (v * cw);
        for (int tx = 1; tx <= max_tx; tx++) {
            if (pow2_columns && (tx & (tx - 1))) continue;
            const double tiles = tiles_c * ((W + tx - 1) / tx);
            const double per_step = std::max({double(cw * tx), double(cw + tx), double(f.fmas_in_flight())});
            // Tie-break towards fewer loads per FMA (measured on P1: 4x4 ~3% faster than 2x14).
            costed.push_back({tiles * per_step * (1.0 + 1e-3 * (cw + tx) / (cw * tx)), {cw, tx}});
        }
    }
    std::stable_sort(costed.begin(), costed.end(), [](const auto &a, const auto &b) { return a.first < b.first - 1e-9; });
    std::vector<std::pair<int, int>> tiles;
    for (const auto &t : costed) tiles.push_back(t.second);
    return tiles;
}

inline void choose_nhwc_tile(Choice &c, const LayerSpec &s, const TargetFacts &f) {
    if (choose_group_tile(c, s, f)) return;
    c.v = pick_vector(f.f32_lanes(), s.cout, f.full_rate_lanes());
    const std::vector<std::pair<int, int>> tiles = ranked_nhwc_tiles(s, f, c.v);
    c.cw = tiles.empty() ? 1 : tiles[0].first;
    c.tx = tiles.empty() ? 1 : tiles[0].second;
}

// The next `k` tiles of the model after the default's, as Choices that differ from `d` only in
// cw and tx: where `convgen tune` starts its search (schedule.h model_alternatives).
inline std::vector<Choice> tile_alternatives(const LayerSpec &s, const TargetFacts &f, const Choice &d, int k) {
    std::vector<Choice> out;
    for (const auto &[cw, tx] : ranked_nhwc_tiles(s, f, d.v)) {
        if (int(out.size()) >= k) break;
        if (cw == d.cw && tx == d.tx) continue;
        Choice c = d;
        c.cw = cw;
        c.tx = tx;
        out.push_back(c);
    }
    return out;
}

// The NCHW register tile: xw vectors of v pixels along x, ty rows, tc output channels. The
// x-vectors and rows (each a load per reduction step) split `want` loads between them so that
// the shifted last tiles along x and y recompute the fewest outputs; ties go to more x-vectors.
// 56 columns in 8 lanes: 1 vector x 2 rows (7 exact tiles a row), not 2 x 1 (4 tiles, 64
// columns). `rows`: the rows of a block (the tile's rows at most). Measured: pointwise.cpp.
inline void choose_nchw_tile(Choice &c, const LayerSpec &s, const TargetFacts &f, int rows) {
    const int W = s.out_w(), block_rows = std::max(1, std::min(rows, s.out_h()));
    c.v = pick_vector(f.f32_lanes(), W, f.full_rate_lanes());
    const int want = f.vector_registers >= 32 ? 4 : 2;  // x-vectors x rows
    int64_t best = 0;
    for (int xw = std::max(1, std::min(want, W / c.v)); xw >= 1; xw--) {
        const int ty = std::max(1, std::min(block_rows, want / xw)), tile_w = c.v * xw;
        const int64_t computed =
            int64_t((W + tile_w - 1) / tile_w) * tile_w * ((block_rows + ty - 1) / ty * ty);
        if (best == 0 || computed < best) best = computed, c.xw = xw, c.ty = ty;
    }
    c.tc = std::max(1, std::min(s.cout, accumulator_budget(f) / (c.xw * c.ty)));
}

// NCHW conv, pointwise and dwsep's pointwise stage: true for the channel-vector tile with
// transposed stores (schedule_gemm_nhwc), false for vectors along x (schedule_gemm_nchw). A
// model of the share of peak each reaches: the x-vector tile runs at v / lanes of the FMA rate
// times the share of its vectors that are not recomputed (56 columns in 16-lane vectors: 8-lane
// vectors, half the rate), and only at stride 1 (a stride-2 vector load is two loads and a
// shuffle); the channel tile pays about one cycle per output for the transpose against
// reduction / (lanes x FMA units) cycles of FMAs. S1 (32 -> 64 channels on 112 columns) keeps x
// vectors, P1-P3, R4 and S2-S4 take channel tiles.
// `reduction`: products per output; `stride`: of the loads along x.
inline bool nchw_channel_tile(const LayerSpec &s, const TargetFacts &f, int reduction, int stride) {
    const int lanes = f.f32_lanes(), W = s.out_w();
    const int v = pick_vector(lanes, W, f.full_rate_lanes());
    const double x_share = stride != 1 ? 0.0 : double(v) / lanes * W / ((W + v - 1) / v * v);
    const double fma_cycles = double(reduction) / (lanes * f.fma_units);
    const double channel_share = fma_cycles / (fma_cycles + 1.0);
    return channel_share >= x_share;
}

// The base page of the virtual memory (4 KiB on Linux x86-64 and on most AArch64 kernels; with
// 16 or 64 KiB pages the weight-copy rule below copies more often than it needs to).
constexpr int kPageBytes = 4096;

// Conv and pointwise with plain (HWIO / IO) weights: whether each channel block copies its
// weights into one contiguous buffer first (wcopy=1). In HWIO a reduction step reads v*cw
// channels of one weight row of cout floats; from half a page up (cout >= 512) that is a new
// page every step or two, which the prefetchers do not follow, and when the block's weights do
// not stay in L1 they stream from L2 or beyond once per pixel tile. Copied, they are one
// sequential stream. Shorter rows stream well in place, and the copy only adds its pass.
// Measured (2 cores; min of 2 runs, copy vs in place): Xeon 512 -> 512 3x3 s2 on 14x14 NHWC
// 2310 -> 1082 us, NCHW 2146 -> 1677; Zen 4 the same layer NCHW 1323 vs 1731, NHWC even, while
// rows of 64-240 channels ran 1.02-1.31x faster in place (80 -> 160 3x3 d2 on 14x14 NHWC 298 vs
// 228 us, 192 -> 200 s2 on 33x33 1126 vs 992, 64 -> 128 s2 on 56x56 566 vs 514).
inline void choose_weight_copy(Choice &c, const LayerSpec &s, const TargetFacts &f) {
    const int64_t block_bytes = int64_t(s.c / std::max(1, s.groups)) * s.kh * s.kw * c.v * c.cw * 4;
    const bool long_rows = int64_t(s.cout) * 4 >= kPageBytes / 2;
    c.wcopy = long_rows && block_bytes > f.l1_bytes / 2 ? 1 : 2;
}

// The rest of an NHWC GEMM sweep's choice once the tile is set: rows per block (`row_block`,
// clamped to the image), which loop runs in parallel, and the reduction's unrolling. With a
// single row block the rows of each channel block run in parallel, a fork and join per channel
// block, unless the channel blocks can run in parallel instead (one fork and join per call;
// as many blocks as cores or a multiple of them, else 4 per core, so that none idles long) and
// either a channel block holds less than 16 x kMinParallelFlops of work (where its fork and
// join weigh 5% and more) or the image has fewer than 8 rows (S4, 7x7: 7 rows on 2 cores leave
// one idle 1/8 of the time). `convgen tune` found this on NCHW (Zen 4): P3 512 -> 512 on 14x14
// 1.21x, 64 -> 128 s2 on 56x56 1.16x, 36 -> 60 on 20x20 1.39x (with 4 columns), while P1 and
// P2 (26 MFLOP per block) kept rows. A reduction over at most 4 input channels (innermost) is
// unrolled: as a loop of 3 (RGB input) it paid a counter and a branch per 3 steps (R4, 7x7 s2
// 3 -> 64 on 224x224: AVX2 0.82 -> 0.91 x oneDNN, AVX-512 0.98 -> 0.99).
inline void choose_gemm_nhwc_sweep(Choice &c, const LayerSpec &s, const TargetFacts &f, int row_block) {
    const int H = s.out_h(), cores = std::max(1, f.cores);
    c.rows = std::max(1, std::min(row_block, H));
    const int n_co = channel_blocks(s, c);
    const int64_t block_flops = 2LL * H * s.out_w() * c.v * c.cw * gemm_products(s);
    const bool even_blocks = n_co % cores == 0 || n_co >= 4 * cores;
    const bool channels = even_blocks && (H < 8 || block_flops < 16 * kMinParallelFlops);
    const auto par = (H + c.rows - 1) / c.rows >= 2 ? ParallelLoop::RowBlocks
                     : channels                   ? ParallelLoop::ChannelBlocks
                                                  : ParallelLoop::Rows;
    c.par = int(par);
    c.unroll = s.c / std::max(1, s.groups) <= 4 ? 1 : 2;
}

// The NCHW sweep: row blocks of at least a tile's rows; the parallel loop is the row blocks when
// there are several, else the channel blocks (`co_outside_rows`) or the tile rows.
inline void choose_gemm_nchw_sweep(Choice &c, const LayerSpec &s, int row_block, bool co_outside_rows) {
    const int H = s.out_h();
    c.rows = std::max(c.ty, std::min(row_block, H));
    c.par = int((H + c.rows - 1) / c.rows >= 2 ? ParallelLoop::RowBlocks
                : co_outside_rows             ? ParallelLoop::ChannelBlocks
                                              : ParallelLoop::Rows);
}

// The accumulator tile's vector dim `d` in an update stage: vectors of v lanes (RoundUp: the
// tile is whole vectors), unrolled; returns the loops innermost first for the stage's reorder.
inline std::vector<VarOrRVar> vector_lanes_innermost(Halide::Stage &u, const Var &d, int v) {
    if (v <= 1) {
        u.unroll(d);
        return {d};
    }
    Var vo(d.name() + "v"), vi(d.name() + "l");
    u.split(d, vo, vi, v, TailStrategy::RoundUp).vectorize(vi).unroll(vo);
    return {vi, vo};
}

// The parallel loop (Choice::par, in at most k.tasks tasks) of a sweep of a.output split into row
// blocks `yb` of k.rows rows `yr` and `n_co` channel blocks `co`; the images too.
inline void parallel_sweep(Algorithm &a, const Choice &k, const Var &yb, const Var &yr, const Var &co, int n_co) {
    const int H = a.spec.out_h();
    if (k.par == int(ParallelLoop::RowBlocks)) parallel_in_tasks(a.output, yb, (H + k.rows - 1) / k.rows, k.tasks);
    else if (k.par == int(ParallelLoop::ChannelBlocks)) parallel_in_tasks(a.output, co, n_co, k.tasks);
    else if (k.par == int(ParallelLoop::Rows)) parallel_in_tasks(a.output, yr, k.rows, k.tasks);
    if (a.spec.n > 1) a.output.parallel(a.n);
}

// Register-blocked NHWC schedule of `a.conv` (reduction `red`, innermost first) into `a.output`
// (c, x, y, n). Loops, innermost first:
//   [ci: cw vectors of output channels][xi: tx columns]   register tile, unrolled
//   xo (columns) | yr (rows of the block) | co (channel blocks) | yb (row blocks) | n
// The whole reduction runs outside the register tile (conv.update()), so each reduction step
// loads cw weight vectors and broadcasts tx inputs for cw * tx FMAs. A channel block's weights
// stay in L2 while the rows of a row block pass. Returns yb, where a producer per row block
// (dwsep's depthwise stage) is computed. Choice: v, cw, tx, rows, par, unroll.
inline Var schedule_gemm_nhwc(Algorithm &a, const Choice &k, const std::vector<RVar> &red) {
    const LayerSpec &s = a.spec;
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr");
    Func out = a.output;
    out.split(a.c, co, ci, k.v * k.cw, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, k.tx, TailStrategy::ShiftInwards)
        .split(a.y, yb, yr, k.rows, TailStrategy::ShiftInwards);
    if (s.layout == Layout::NHWC) {
        out.reorder(ci, xi, xo, yr, co, yb, a.n);
        vectorize_if(out, ci, k.v);
    } else {
        // NCHW output: the tile's tx columns of each channel are one vector store, gathered from
        // the channel-innermost accumulator tile (a transpose in registers).
        out.reorder(xi, ci, xo, yr, co, yb, a.n);
        vectorize_if(out, xi, k.tx);
    }
    out.unroll(ci).unroll(xi);
    parallel_sweep(a, k, yb, yr, co, channel_blocks(s, k));

    a.conv.compute_at(out, xo);
    if (k.wcopy == 1) {  // conv and pointwise only: params[1] is their weight
        Func w = a.params[1].in(a.conv);
        w.compute_at(out, co);
        vectorize_if(w, w.args()[0], k.v);
    }
    vectorize_if(a.conv, a.c, k.v);
    a.conv.unroll(a.c).unroll(a.x);
    Halide::Stage u = a.conv.update();
    std::vector<VarOrRVar> order = vector_lanes_innermost(u, a.c, k.v);
    u.unroll(a.x);
    order.push_back(a.x);
    for (const RVar &r : red) order.push_back(r);
    order.push_back(a.y);
    order.push_back(a.n);
    u.reorder(order);
    if (k.unroll == 1) u.unroll(red[0]);
    return yb;
}

// The dot tile (Choice::dot): for conv and pointwise layers with fewer output channels than a
// vector's lanes, where a channel-vector tile leaves lanes idle (3 channels: two 2-lane vectors,
// 3/16 of the FMA rate on AVX2). Its vectors run along the reduction's input channels instead,
// which the input holds innermost (NHWC, or NCHW's pad=3 copy): v lanes of partial sums per
// output, added up once its reduction ends. v: the lanes, else half of them, whichever divides
// the input channels (0: none does).
inline int dot_vector(const LayerSpec &s, const TargetFacts &f) {
    for (int v : {f.f32_lanes(), f.f32_lanes() / 2})
        if (v > 1 && s.c % v == 0) return v;
    return 0;
}

// Whether a layer has the dot tile: ungrouped conv or pointwise with C_out below the lanes, an
// input channel count that dot_vector divides, and channels innermost (NHWC, or an NCHW conv whose
// input choose_padding copies channels innermost, pad=3).
inline bool dot_eligible(const LayerSpec &s, const TargetFacts &f) {
    const bool kind = s.kind == Kind::Conv || s.kind == Kind::Pointwise;
    const bool channels_inner = s.layout == Layout::NHWC || conv_copies_channels_innermost(s, f);
    return kind && s.groups == 1 && s.cout < f.f32_lanes() && dot_vector(s, f) && channels_inner;
}

// Whether the default takes the dot tile: where its share of the FMA rate beats the channel
// tile's. The channel tile's lanes hold C_out channels of its vectors (3 of two 2-lane vectors:
// 3/16 on AVX2); the dot tile's v of the lanes, less the horizontal sum of v partial sums per
// output (log2(v) + 1 steps) against its products / v FMAs.
inline bool dot_pays(const LayerSpec &s, const TargetFacts &f) {
    if (!dot_eligible(s, f)) return false;
    const int lanes = f.f32_lanes(), v_ct = pick_vector(lanes, s.cout, f.full_rate_lanes()), v = dot_vector(s, f);
    const double channel_share = double(s.cout) / ((s.cout + v_ct - 1) / v_ct * lanes);
    const double steps = double(gemm_products(s)) / v;
    const double dot_share = double(v) / lanes * steps / (steps + std::log2(v) + 1);
    return dot_share > channel_share;
}

// The dot tile's point: all output channels (tc = C_out) by as many columns as the accumulator
// budget holds; one row block, its rows in parallel.
inline Choice dot_choice(const LayerSpec &s, const TargetFacts &f) {
    Choice c;
    c.dot = 1;
    c.v = dot_vector(s, f);
    c.tc = s.cout;
    c.tx = std::max(1, std::min(s.out_w(), accumulator_budget(f) / c.tc));
    c.rows = s.out_h();
    c.par = int(ParallelLoop::Rows);
    choose_padding(c, s, f, c.tx);
    return c;
}

// The dot tile's schedule. a.conv's reduction `red` (input channels innermost) is split into
// v-channel vectors whose lanes become a dim of a partial-sum Func (rfactor). Loops, innermost
// first:
//   partial: [lane: v input channels][c: tc channels][x: tx columns]   register tile, unrolled
//            | the vectors of input channels, then the rest of `red` (kx, ky)
//   conv:    each output's v lanes added up
//   out:     [tc channels x tx columns] | xo (columns) | co | yr (rows) | yb | n
// Each reduction step loads tx input vectors and tc weight vectors (the weights are copied first
// with their input channels innermost) for tx * tc FMAs. Choice: v, tc, tx, rows, par, tasks.
inline void schedule_dot(Algorithm &a, const Choice &k, const std::vector<RVar> &red) {
    const LayerSpec &s = a.spec;
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr"), lane("lane");
    Func out = a.output;
    out.split(a.c, co, ci, k.tc, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, k.tx, TailStrategy::ShiftInwards)
        .split(a.y, yb, yr, k.rows, TailStrategy::ShiftInwards);
    if (s.layout == Layout::NHWC) out.reorder(ci, xi, co, xo, yr, yb, a.n);
    else out.reorder(xi, ci, co, xo, yr, yb, a.n);
    out.unroll(ci).unroll(xi);
    parallel_sweep(a, k, yb, yr, co, (s.cout + k.tc - 1) / k.tc);

    // The weights with their input channels innermost: a vector of them is one dense load.
    Func w = a.params[1].in();
    std::vector<Var> wargs = w.args();
    std::swap(wargs[0], wargs[1]);
    w.compute_root().reorder_storage(wargs).reorder(std::vector<VarOrRVar>(wargs.begin(), wargs.end()));
    vectorize_if(w, wargs[0], k.v);

    RVar rvo("rvo"), rvi("rvi");
    Halide::Stage u = a.conv.update();
    u.split(red[0], rvo, rvi, k.v);
    Func partial = u.rfactor(rvi, lane);
    a.conv.compute_at(out, co).unroll(a.c).unroll(a.x);
    a.conv.update().reorder(rvi, a.c, a.x).atomic().vectorize(rvi).unroll(a.c).unroll(a.x);  // a vector reduce
    partial.compute_at(out, co).reorder_storage(lane, a.c, a.x, a.y, a.n).vectorize(lane).unroll(a.c).unroll(a.x);
    std::vector<VarOrRVar> order{lane, a.c, a.x, rvo};
    for (size_t i = 1; i < red.size(); i++) order.push_back(red[i]);
    order.push_back(a.y);
    order.push_back(a.n);
    partial.update().reorder(order).vectorize(lane).unroll(a.c).unroll(a.x);
}

// a.conv as x-vector accumulators computed at loop `at` of `f`: x innermost in storage and in the
// tile (each accumulator one whole vector of v lanes), the tile's rows and channels unrolled, and
// the update's reduction `red` (innermost first) outside the tile.
inline void schedule_x_vector_accumulators(Algorithm &a, Func f, const Var &at, int v, const std::vector<RVar> &red) {
    a.conv.compute_at(f, at).reorder_storage(a.x, a.y, a.c, a.n);
    vectorize_if(a.conv, a.x, v);
    a.conv.unroll(a.x).unroll(a.y).unroll(a.c);
    Halide::Stage u = a.conv.update();
    std::vector<VarOrRVar> order = vector_lanes_innermost(u, a.x, v);
    u.unroll(a.y).unroll(a.c);
    order.push_back(a.y);
    order.push_back(a.c);
    for (const RVar &r : red) order.push_back(r);
    order.push_back(a.n);
    u.reorder(order);
}

// pad=5 (NCHW pointwise, x-vector tile, stride 1, no padding): the input under one column tile
// of `f` (its ty rows, xw vectors of v columns, every input channel) copied at `at`, channel by
// channel. In place, a reduction step reads a new channel plane, H * W floats on, a new page per
// step that the prefetchers do not follow and that thrashes the L1 TLB; copied, the tile's
// channel tiles read one sequential stream that stays in L1 or L2.
inline void copy_tile_input(Algorithm &a, Func f, const Var &at, int v) {
    a.input.compute_at(f, at).reorder_storage(a.x, a.y, a.c, a.n).reorder(a.x, a.y, a.c, a.n).unroll(a.y);
    vectorize_if(a.input, a.x, v);
}

// Register-blocked NCHW schedule of `a.conv` into `a.output` (x, y, c, n). Loops, innermost
// first:
//   [xi: xw vectors along x][yi: ty rows][ci: tc output channels]   register tile, unrolled
//   then xo, co, yo (co_outside_rows = false) or xo, yo, co (true) | yb (row blocks) | n;
//   with pad=5 (copy_tile_input) co, xo, yo: every channel tile of a column tile reads the
//   input under it, copied at xo, each input channel's ty rows x xw vectors one contiguous piece.
// Each reduction step does xw * ty vector loads of the input and tc weight broadcasts for
// xw * ty * tc FMAs. Returns yb as above. Choice: v, xw, ty, tc, rows, par, pad.
inline Var schedule_gemm_nchw(Algorithm &a, const Choice &k, const std::vector<RVar> &red, bool co_outside_rows) {
    const LayerSpec &s = a.spec;
    const int row_block = k.rows;
    const bool copy_tiles = k.pad == 5;
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr"), yo("yo"), yi("yi");
    Func out = a.output;
    out.split(a.x, xo, xi, k.v * k.xw, TailStrategy::ShiftInwards)
        .split(a.c, co, ci, k.tc, TailStrategy::ShiftInwards)
        .split(a.y, yb, yr, row_block, TailStrategy::ShiftInwards)
        .split(yr, yo, yi, k.ty, TailStrategy::ShiftInwards);
    if (copy_tiles) out.reorder(xi, yi, ci, co, xo, yo, yb, a.n);
    else if (co_outside_rows) out.reorder(xi, yi, ci, xo, yo, co, yb, a.n);
    else out.reorder(xi, yi, ci, xo, co, yo, yb, a.n);
    vectorize_if(out, xi, k.v);
    out.unroll(xi).unroll(yi).unroll(ci);
    const int H = s.out_h();
    if (k.par == int(ParallelLoop::RowBlocks)) parallel_in_tasks(out, yb, (H + row_block - 1) / row_block, k.tasks);
    else if (k.par == int(ParallelLoop::ChannelBlocks)) parallel_in_tasks(out, co, (s.cout + k.tc - 1) / k.tc, k.tasks);
    else if (k.par == int(ParallelLoop::Rows)) parallel_in_tasks(out, yo, (row_block + k.ty - 1) / k.ty, k.tasks);
    if (s.n > 1) out.parallel(a.n);

    if (copy_tiles) copy_tile_input(a, out, xo, k.v);
    schedule_x_vector_accumulators(a, out, copy_tiles ? co : xo, k.v, red);
    return yb;
}

// The loop partitioning of a padded-input copy along x, `vector_in` lanes a vector, split into
// `phases` stride phases: forced where the layer reads padding on both sides along x and a row has
// a vector between the two edge ones (left to Halide, some narrow copies stayed unpartitioned, every
// vector a clamped gather: dwsep 384 -> 96 3x3 d2 on 15x15 NCHW 101 -> 150 us); else Halide's
// choice (forced where nothing is left to partition, it is a compile error).
inline Halide::Partition padding_partition_x(const LayerSpec &s, int vector_in, int phases = 1) {
    const bool pads_x = s.pad_l > 0 && s.last_input_x() >= s.w;  // both edges (one: not always split)
    return pads_x && vector_in >= 3 && padded_row(s, phases) >= 3 * vector_in ? Halide::Partition::Always
                                                                                : Halide::Partition::Auto;
}

// NCHW, stride sw > 1 (Choice pad=4): the zero-padded input of one channel copied at `at` of
// `f`, split into its stride phases (a.input_phases), each row's phases one after the other.
// The copy reads every input row once, a dense load and a shuffle per vector; the window's taps
// then load dense x-vectors of one phase instead of two vectors and a shuffle each.
inline void copy_input_phases(Algorithm &a, Func f, const Var &at, int vector_in) {
    a.input_phases.compute_at(f, at)
        .reorder_storage(a.x, a.phase, a.y, a.c, a.n)
        .reorder(a.x, a.phase, a.y, a.c, a.n)
        .partition(a.x, padding_partition_x(a.spec, vector_in, a.spec.sw))  // padding in edge vectors
        .unroll(a.phase);
    vectorize_if(a.input_phases, a.x, vector_in);
}

// The accumulators of an NCHW window tile (depthwise a.conv, dwsep's a.dw_acc) computed at loop
// `at` of `f`: x innermost in storage, vectors of v lanes along x, the tile's x-vectors and rows
// unrolled, and the update's window (kx, ky) outside the tile, kx unrolled (ky too up to 5x5).
inline void schedule_window_accumulators(const LayerSpec &s, Func acc, Func f, const Var &at, int v, const RVar &kx,
                                         const RVar &ky, const Var &x, const Var &y, const Var &c, const Var &n) {
    acc.compute_at(f, at).reorder_storage(x, y, c, n).unroll(x).unroll(y);
    vectorize_if(acc, x, v);
    Halide::Stage u = acc.update();
    std::vector<VarOrRVar> order = vector_lanes_innermost(u, x, v);
    for (const VarOrRVar &d : std::vector<VarOrRVar>{y, kx, ky, c, n}) order.push_back(d);
    u.reorder(order).unroll(y).unroll(kx);
    if (unrolls_whole_window(s)) u.unroll(ky);
}

// `acc` as channel-vector accumulators computed at loop `at` of `f`: channels innermost, v-lane
// vectors of them, the tile's columns unrolled, and the update's window (kx, ky) outside the
// tile, kx unrolled (ky too up to 5x5). dwsep's NHWC depthwise stage and NCHW depthwise's repack.
inline void schedule_channel_window_accumulators(const LayerSpec &s, Func acc, Func f, const Var &at, int v,
                                                 const RVar &kx, const RVar &ky, const Var &c, const Var &x,
                                                 const Var &y, const Var &n) {
    acc.compute_at(f, at).unroll(x);
    vectorize_if(acc, c, v);
    Halide::Stage u = acc.update();
    if (v > 1) u.vectorize(c, v, TailStrategy::RoundUp);
    u.reorder(c, x, kx, ky, y, n).unroll(x).unroll(kx);
    if (unrolls_whole_window(s)) u.unroll(ky);
}

// Depthwise NCHW (a.conv, window a.r = (kx, ky)) into a.output (x, y, c, n). Loops, innermost
// first:
//   [xi: xw vectors of v pixels along x][yi: ty rows]   register tile, unrolled
//   xo | yo | c (parallel, in Choice::tasks runs of channels) | n
// with the window unrolled outside the tile. Depthwise is bound by loads, not FMAs, so every load
// is a whole vector over x. When the layer reads padding, the padded plane of one channel (k-1
// more rows and columns) is copied once per channel (pad=1), vectorized by `vector_in` along x,
// so the inner loop has no selects; or the padding stays inline (pad=2), where Halide's loop
// partitioning leaves selects only in edge vectors when the plane is wide enough. Inline measured
// (Zen 4, fastest of 3 interleaved processes) D2 73.9 -> 44.5 us and 512 ch 3x3 s2 d2 on 7x33
// 14.5 -> 7.4, but D1 0.81x, E1 0.63x and 5x5 / 7x7 or narrow planes 0.1-0.56x: the default
// copies except where nchw_depthwise_inline_padding (depthwise.cpp) says, `convgen tune` finds
// the others.
inline void schedule_depthwise_nchw(Algorithm &a, const Choice &c) {
    const LayerSpec &s = a.spec;
    const int v = c.v, xw = c.xw, ty = c.ty, vector_in = c.in_v;
    const RVar kx = a.r[0], ky = a.r[1];
    Func out = a.output;
    Var xo("xo"), xi("xi"), yo("yo"), yi("yi");
    out.split(a.x, xo, xi, v * xw, TailStrategy::ShiftInwards)
        .split(a.y, yo, yi, ty, TailStrategy::ShiftInwards)
        .reorder(xi, yi, xo, yo, a.c, a.n)
        .unroll(xi)
        .unroll(yi);
    parallel_in_tasks(out, a.c, s.cout, c.tasks);
    vectorize_if(out, xi, v);
    if (c.pad == 1) {
        // Partitioned: only the first and last vectors of a row touch the padding.
        a.input.compute_at(out, a.c).partition(a.x, padding_partition_x(s, vector_in));
        vectorize_if(a.input, a.x, vector_in);
    } else if (c.pad == 4) {
        copy_input_phases(a, out, a.c, vector_in);
    }
    schedule_window_accumulators(s, a.conv, out, xo, v, kx, ky, a.x, a.y, a.c, a.n);
    if (s.n > 1) out.parallel(a.n);
}

// NCHW depthwise (and dwsep's depthwise stage): the most output rows per register tile of one
// x-vector. The whole plane when it has at most the register budget's rows (16 with 32 vector
// registers, else 8): one tile per channel reads each input row once. Else half the budget
// (each row's accumulator shares the registers with the input rows the unrolled window keeps
// live), and a quarter with a stride along x (every tap two loads and a shuffle). Found by
// `convgen tune` and measured (Zen 4, AVX-512, against the budget): stride 1 D1 (112 rows) ty 16
// -> 8 1.20x, E4 16 -> 8 1.11x, D3 14 -> 7 (with 2 tasks) 1.23x, while D4, D5 (14 rows) lost
// 10-20% at 7; stride 2 (4 rows against 14-16): 64 ch 112x112 3x3 99 -> 80 us, 144 ch 56x56
// 49.5 -> 43.9, 96 ch 75x75 72 -> 53, 32 ch 31x31 5x5 10.9 -> 9.5.
inline int nchw_depthwise_rows(const LayerSpec &s, const TargetFacts &f) {
    const int budget = f.vector_registers >= 32 ? 16 : 8;
    if (s.sw > 1) return budget / 4;
    return s.out_h() <= budget ? s.out_h() : budget / 2;
}

// NCHW depthwise (and dwsep's depthwise stage): x-vectors per register tile of `ty` rows. One
// where the window is at most 3x3: each row's loads serve only its own outputs, so a second
// vector along x adds registers, not reuse, and the out-of-order core overlaps the short
// accumulator chains of consecutive tiles. A longer window's chains (kh * kw FMAs each) do not
// overlap: the tile takes x-vectors until it holds the FMAs in flight (latency x units) as
// accumulators, where whole x-vectors divide the row's vectors (no recomputed vector).
// Measured (Zen 3, AVX2, 2 threads, fastest of 2 alternating processes, 1 -> 2 x-vectors):
// depthwise 512 ch 7x7 on 33x33 1171 -> 458 us, 64 ch 5x5 on 57x57 n=2 223 -> 188, 100 ch 5x5 s2
// on 113x113 286 -> 267; 13 other windows of 5x5 and up within 5%.
inline int nchw_depthwise_vectors(const LayerSpec &s, const TargetFacts &f, int v, int ty) {
    if (s.kh * s.kw <= 9) return 1;
    const int W = s.out_w(), vectors = (W + v - 1) / v;
    for (int xw = std::min(W / v, (f.fmas_in_flight() + ty - 1) / ty); xw > 1; xw--)
        if ((vectors + xw - 1) / xw * xw == vectors) return xw;
    return 1;
}

// dwsep: how many rows of the depthwise intermediate (out_w x c floats each) fit in `bytes`, at
// least one; a family sizes its row blocks from it.
inline int dwsep_rows_fitting(const LayerSpec &s, int bytes) {
    return std::max(1, bytes / std::max(1, s.out_w() * s.c * 4));
}

// dwsep's depthwise stage (a.dw, accumulated in a.dw_acc over the window a.dw_r = (kx, ky)),
// computed per row block `yb` of the pointwise output (what schedule_gemm_nhwc/nchw return): the
// intermediate of one block (its rows x W x C) stays in cache and every pointwise channel block
// reuses it; it never goes to memory as a whole.
//
// NHWC: vectorized over channels (v lanes), a tile of tx columns, window unrolled; its zero
// padding stays inline (scalar condition, partitioned away in the interior). `parallel_rows`:
// the block's rows run in parallel (for a single, hence serial, row block); repacked, the channel
// vectors then.
// `repack_block` (NCHW's dw_pad=5, Choice::in_v; 0: not repacked): the channel vectors
// outermost, each copying its own v channels of the block's input rows channels innermost
// (transpose_input in repack_block blocks, computed per channel vector): v x (rows + k - 1) x
// padded W floats, in L1 for the window's k x k reads. Copied for the whole block at once (C x
// those rows x W) the copy left L2 on deep or wide layers (240 x 7 x 118 floats: 793 KB) and
// the window read it back from L3. Measured (Zen 3, AVX2, 2 threads, fastest of 4 alternating
// processes, 30 random NCHW dwsep layers whose default repacks, per channel vector vs per
// block): 1.22x geomean, one layer below 1.0 (0.86x, within this VM's noise); 512 -> 160 7x7
// on 13x13 n=7 5328 -> 3098 us, 512 -> 192 7x7 on 35x35 5187 -> 3882, 480 -> 160 3x3 on 27x27
// 1382 -> 880. With the rows in parallel inside each channel vector (a fork per vector) the
// single-block layers lost (0.81-0.87x): there the channel vectors run in parallel.
inline void schedule_dwsep_depthwise_nhwc(Algorithm &a, const Var &yb, int v, int tx, bool parallel_rows, int tasks,
                                          int repack_block = 0) {
    const bool repacked = repack_block > 0;
    Var dco("dco"), dci("dci"), dxo("dxo"), dxi("dxi");
    a.dw.compute_at(a.output, yb)
        .split(a.c, dco, dci, v, TailStrategy::ShiftInwards)
        .split(a.x, dxo, dxi, tx, TailStrategy::ShiftInwards)
        .unroll(dxi);
    if (repacked) {
        a.dw.reorder(dci, dxi, dxo, a.y, dco, a.n);
        if (parallel_rows) parallel_in_tasks(a.dw, dco, (a.spec.c + v - 1) / v, tasks);
        a.input.compute_at(a.dw, dco);
        transpose_input(a, repack_block);
    } else {
        a.dw.reorder(dci, dxi, dco, dxo, a.y, a.n);
        if (parallel_rows) parallel_in_tasks(a.dw, a.y, a.spec.out_h(), tasks);
    }
    if (v > 1) a.dw.vectorize(dci);
    schedule_channel_window_accumulators(a.spec, a.dw_acc, a.dw, repacked ? dxo : dco, v, a.dw_r[0], a.dw_r[1], a.c,
                                         a.x, a.y, a.n);
}

// NCHW: stored x-innermost (the pointwise loads x-vectors of it), vectorized over x (v lanes),
// in register tiles of `xw` vectors x `ty` rows (the rows share their input rows' loads), the
// window unrolled outside the tile. When the layer reads padding, `pad` (Choice::dw_pad) says
// where the zero-padded input lives: 1 the padded rows of one channel copied per block and
// channel, 2 inline, 3 the whole padded input copied once (channels in parallel), 4 as 1 split
// into the stride phases (copy_input_phases), each copy vectorized by `vector_in`.
// `parallel_channels`: the channels run in parallel (for a single, hence serial, row block), in
// at most `tasks` tasks.
inline void schedule_dwsep_depthwise_nchw(Algorithm &a, const Var &yb, int v, int xw, int ty, int pad, int vector_in,
                                          bool parallel_channels, int tasks) {
    const RVar kx = a.dw_r[0], ky = a.dw_r[1];
    Var dxo("dxo"), dxi("dxi"), dxv("dxv"), dxl("dxl"), dyo("dyo"), dyi("dyi");
    a.dw.compute_at(a.output, yb)
        .reorder_storage(a.x, a.y, a.c, a.n)
        .split(a.x, dxo, dxi, v * xw, TailStrategy::ShiftInwards)
        .split(dxi, dxv, dxl, v)
        .split(a.y, dyo, dyi, ty, TailStrategy::ShiftInwards)
        .reorder(dxl, dxv, dyi, dxo, dyo, a.c, a.n)
        .unroll(dxv)
        .unroll(dyi);
    if (v > 1) a.dw.vectorize(dxl);
    if (parallel_channels) parallel_in_tasks(a.dw, a.c, a.spec.c, tasks);
    if (pad == 1) {
        a.input.compute_at(a.dw, a.c)
            .reorder_storage(a.x, a.y, a.c, a.n)
            .partition(a.x, padding_partition_x(a.spec, vector_in));  // padding only in edge vectors
        vectorize_if(a.input, a.x, vector_in);
    } else if (pad == 4) {
        copy_input_phases(a, a.dw, a.c, vector_in);
    } else if (pad == 3) {
        copy_padded_input(a, vector_in, tasks);
        a.input.partition(a.x, padding_partition_x(a.spec, vector_in));
    }
    schedule_window_accumulators(a.spec, a.dw_acc, a.dw, dxo, v, kx, ky, a.x, a.y, a.c, a.n);
}

}  // namespace cpu
}  // namespace convgen
