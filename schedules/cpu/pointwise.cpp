// CPU schedule of the pointwise (1x1) convolution.
//
// Reasoning: pointwise is a GEMM (pixels x C_in) * (C_in x C_out), compute bound for common
// channel counts, so it uses conv's register-blocked micro-kernel (common.h, conv.cpp): cw
// channel vectors x tx columns in both layouts, with the C_in reduction outside the register
// tile. The NHWC tile comes from choose_nhwc_tile()'s model,
// which counts the columns the shifted last tile recomputes (tx = 6 on W = 56 / 14 wasted 7% of
// the FMAs); P1/P2 take 4 x 4 and P3 2 x 14 on AVX-512, exact.
//
// NCHW with stride 1 and no padding (flat_plane_eligible): a third strategy, the flattened plane
// (plane=1, schedule_flat_plane below). The output plane of an image is one GEMM over its H * W
// pixels, as contiguous in the output as in the input, so its register tile (xw vectors of
// pixels x tc channels, the reduction outside) runs across row ends: no row is cut into a
// shifted last vector, and the channels need no transpose. The tiles fill a plane buffer (tc
// channels x the block's rows * W pixels, the last tile shifted in) that is copied to the output
// rows. Where the default takes it: default_pointwise.
//
// Weights: one register tile's channel block (v * cw output channels, the plane's tc) as one contiguous
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
// block): no copy then. An x-vector tile without padding copies each column tile's input
// (pad=5, copy_tile_input) where the copy has something to save and is shared: a reduction over
// 16 or more input planes, 4 or more channel tiles reading it, and all the weights, which those
// tiles then read once per column tile, in half of L2. Else it reads the input in place (pad=2),
// the column tiles inside each channel tile, whose stores then stream along its rows. Measured
// (Zen 3, AVX2, 2 threads, fastest of 4 alternating processes, with 1 x 2 tiles on 56 columns,
// against the 2 x 1 in-place tiles): 37 pointwise layers 1.09x geomean, P1 828 -> 719 us, P2 972
// -> 678, 40 -> 480 on 17x113 860 -> 556, 128 -> 112 on 57x57 1089 -> 725; lost 3 -> 200 on
// 112x112 216 -> 338 (now in place: 3 planes), 32 -> 160 on 56x35 140 -> 193, small layers of
// 24-64 output channels up to 0.86x; 512 -> 512 on 14x14 (P3, 1 MiB of weights) 778 -> 844.
static Choice pointwise_choice(const LayerSpec &s, const TargetFacts &f, Choice c) {
    if (c.wcopy && pointwise_weight_block(s, c)) c.wcopy = 2;
    if (c.xw && !c.plane && flat_plane_eligible(s)) {
        const bool shared = s.c >= 16 && (s.cout + c.tc - 1) / c.tc >= 4;
        const bool weights_in_l2 = int64_t(4) * s.c * s.cout <= f.l2_bytes / 2;
        c.pad = shared && weights_in_l2 && c.par != int(ParallelLoop::ChannelBlocks) ? 5 : 2;
    }
    return c;
}

// The flattened plane's point: v-lane vectors of pixels, three per tile where the block has them
// (three loads a step feed tc broadcasts; the accumulator budget sets tc); row blocks whose plane
// buffer (tc x rows x W floats) stays in half of L1 for its copy to the output, and whose input
// (C x rows x W floats) stays in half of L2 while every channel block passes, split evenly; the
// row blocks in parallel, else the channel blocks. Measured (Zen 4, AVX-512, 2 threads): 24 ->
// 144 on 56x56 with one 56-row block (a 100 KB plane) 146 us, with 7-row blocks 127.
static Choice flat_plane_choice(const LayerSpec &s, const TargetFacts &f) {
    const int W = s.out_w(), H = s.out_h(), budget = accumulator_budget(f);
    Choice c;
    c.plane = 1;
    c.v = std::min(f.f32_lanes(), pow2_floor(H * W));  // the shifted last tile takes any remainder
    const int64_t plane_row = int64_t(4) * std::min(s.cout, budget / 3) * W, input_row = int64_t(4) * s.c * W;
    const int64_t fitting = std::min(f.l1_bytes / 2 / plane_row, f.l2_bytes / 2 / input_row);
    c.rows = even_row_blocks(H, int(std::max<int64_t>(1, fitting)));
    c.xw = std::max(1, std::min(3, c.rows * W / c.v));
    c.tc = std::max(1, std::min(s.cout, budget / c.xw));
    c.par = int((H + c.rows - 1) / c.rows >= 2 ? ParallelLoop::RowBlocks : ParallelLoop::ChannelBlocks);
    return c;
}

// The flattened plane (Algorithm::plane). Loops, innermost first:
//   out:   [x: vectors of a row] | rows of the block | ci: tc channels | co | yb (row blocks) | n
//   plane (at co): [pl: v pixels][pv: xw vectors][c: tc channels]  register tile, unrolled
//                  | po: tiles of the block's rows * W pixels, the last shifted in
//   conv (at po):  the tile's accumulators; its update runs the whole reduction outside them.
// Choice: v, xw, tc, rows, par, tasks.
static void schedule_flat_plane(Algorithm &a, const Choice &k) {
    const LayerSpec &s = a.spec;
    const int W = s.out_w(), H = s.out_h();
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), yb("yb"), yr("yr"), po("po"), pi("pi"), pv("pv"), pl("pl");
    Func out = a.output;
    out.split(a.y, yb, yr, k.rows, TailStrategy::ShiftInwards).split(a.c, co, ci, k.tc, TailStrategy::ShiftInwards);
    const int copy_v = pick_vector(k.v, W, k.v / 2);  // the copy's vectors: fewer recomputed columns
    if (copy_v > 1) out.split(a.x, xo, xi, copy_v, TailStrategy::ShiftInwards).vectorize(xi);
    out.reorder(copy_v > 1 ? std::vector<VarOrRVar>{xi, xo, yr, ci, co, yb, a.n} : std::vector<VarOrRVar>{a.x, yr, ci, co, yb, a.n});
    if (k.par == int(ParallelLoop::RowBlocks)) parallel_in_tasks(out, yb, (H + k.rows - 1) / k.rows, k.tasks);
    else if (k.par == int(ParallelLoop::ChannelBlocks)) parallel_in_tasks(out, co, (s.cout + k.tc - 1) / k.tc, k.tasks);
    if (s.n > 1) out.parallel(a.n);

    a.plane.compute_at(out, co)
        .reorder_storage(a.x, a.c, a.y, a.n)
        .split(a.x, po, pi, k.v * k.xw, TailStrategy::ShiftInwards)
        .split(pi, pv, pl, k.v)
        .reorder(pl, pv, a.c, po)
        .vectorize(pl)
        .unroll(pv)
        .unroll(a.c);

    schedule_x_vector_accumulators(a, a.plane, po, k.v, {a.r.x});  // its y is the plane's single row
}

// The default takes the flattened plane where the channel tile's vectors are narrower than the
// ISA's (cout below the lanes, or, where half-width vectors run at the full rate per float as on
// Zen 4, a cout they cover with fewer issue slots: pick_vector): there each step broadcasts a
// column per FMA of a few channels. Measured (Zen 4, AVX-512, 2 threads, fastest of 4
// alternating processes): 96 -> 40 on 15x15 n=7 111.8 -> 60.8 us (oneDNN 68.7), 144 -> 72 on
// 13x13 even. Elsewhere the other strategies measured as fast or faster, the plane paying its
// copy to the output: against x-vectors 24 -> 144 on 56x56 108 vs 129 us, 12 -> 192 on 27x27 24
// vs 36, 20 -> 64 on 57x57 47 vs 60 (20 -> 72 on 19x19 8.4 vs 7.1); against the channel tile
// 44 -> 320 on 35x35 on one thread 362-381 vs 379-391. There it is a strategy for `convgen tune`.
Choice default_pointwise(const LayerSpec &s, const TargetFacts &f) {
    const Choice d = pointwise_choice(s, f, default_conv(s, f));
    return flat_plane_eligible(s) && d.cw && d.v < f.f32_lanes() ? flat_plane_choice(s, f) : d;
}

void apply_pointwise(Algorithm &a, const Choice &c) {
    if (c.plane) return schedule_flat_plane(a, c);
    apply_padded_input(a, c);
    if (c.dot) schedule_dot(a, c, {a.r.x});
    else if (c.cw) schedule_gemm_nhwc(a, c, {a.r.x});
    else schedule_gemm_nchw(a, c, {a.r.x}, false);
}

std::vector<Choice> pointwise_strategies(const LayerSpec &s, const TargetFacts &f) {
    // The default, then the others: conv's strategies the default did not take (both when it
    // took the plane), and the plane where the layer has one.
    const Choice d = default_pointwise(s, f);
    std::vector<Choice> out{d};
    for (const Choice &c : conv_strategies(s, f))
        if (c.cw != d.cw || d.plane) out.push_back(pointwise_choice(s, f, c));
    if (flat_plane_eligible(s) && !d.plane) out.push_back(flat_plane_choice(s, f));
    return out;
}

int pointwise_weight_block(const LayerSpec &s, const Choice &c) {
    const int b = c.cw ? c.v * c.cw : c.plane ? c.tc : 0;
    return b > 1 && s.cout % b == 0 ? b : 0;
}

}  // namespace cpu
}  // namespace convgen
