// ARM (AArch64 NEON) hand schedule of the depthwise convolution.
//
// Reasoning: depthwise does k*k FMAs per output and reads each input k*k times (from cache), so
// it is bound by loads, not FMAs; the schedule keeps every load a full 128-bit vector and the
// window unrolled, with a register tile of up to 16 accumulators (half the register file: the
// rest holds the window's weight vectors and the loads):
//  - NHWC: vectors over channels (contiguous), a tile of 2 channel vectors x up to 8 columns,
//    the k x k window unrolled outside it. The zero padding stays inline: its condition is
//    scalar (x, y) per vector, and Halide's loop partitioning removes it from the interior.
//  - NCHW: cpu::schedule_depthwise_nchw (cpu_common.h: vectors over x, the padded plane of one
//    channel copied once per channel, channels in parallel) with a tile of up to 2 x-vectors x 2
//    rows (fewer when a large window's weights need the registers).
#include "schedules/arm/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace arm {

void schedule_depthwise(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const int lanes = f.f32_lanes(), budget = f.vector_registers / 2;
    const int W = s.out_w(), H = s.out_h();

    if (s.layout == Layout::NCHW) {
        const int v = pick_vector(lanes, W);
        const int xw = std::max(1, std::min(2, W / v));
        // Rows: the unrolled window's k*k weight broadcasts stay in registers too, and LLVM
        // keeps about two input vectors live per accumulator, so the accumulators get half of
        // what the weights and 4 scratch registers leave, at most 4 (3x3: 2 x-vectors x 2 rows;
        // 5x5: 1 x 1; more rows made LLVM spill inside the loop).
        const int taps = cpu::unrolls_whole_window(s) ? s.kh * s.kw : s.kw;
        const int acc = std::max(1, std::min(4, (f.vector_registers - 4 - taps) / 2));
        const int ty = std::max(1, std::min({H, 4, acc / xw}));
        cpu::schedule_depthwise_nchw(a, v, xw, ty, pick_vector(lanes, s.w));
        return;
    }

    // NHWC: this family's own schedule (see above).
    const int v = pick_vector(lanes, s.cout);
    const int cw = std::max(1, std::min(2, s.cout / v));
    const int tx = pick_points(std::min(8, budget / cw), cw, W);
    const RVar kx = a.r[0], ky = a.r[1];
    Func out = a.output;
    Halide::Stage u = a.conv.update();
    Var co("co"), ci("ci"), xo("xo"), xi("xi");
    out.split(a.c, co, ci, v * cw, TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, tx, TailStrategy::ShiftInwards)
        .reorder(ci, xi, co, xo, a.y, a.n)
        .unroll(ci)
        .unroll(xi)
        .parallel(a.y);
    vectorize_if(out, ci, v);
    a.conv.compute_at(out, co).unroll(a.c).unroll(a.x);
    vectorize_if(a.conv, a.c, v);
    Var cv("cv"), cl("cl");
    if (v > 1) {
        u.split(a.c, cv, cl, v, TailStrategy::RoundUp).vectorize(cl).unroll(cv);
        u.reorder(cl, cv, a.x, kx, ky, a.y, a.n);
    } else {
        u.unroll(a.c).reorder(a.c, a.x, kx, ky, a.y, a.n);
    }
    u.unroll(a.x);
    if (s.n > 1) out.parallel(a.n);
    u.unroll(kx);
    if (cpu::unrolls_whole_window(s)) u.unroll(ky);
}

}  // namespace arm
}  // namespace convgen
