// CUDA hand schedule of the depthwise convolution (both layouts).
//
// Reasoning: depthwise does k*k FMAs per output and has no channel reduction to tile, so it is
// bound by memory traffic; the schedule reads each input element from global memory about once:
// a block copies its input tile (receptive field of its outputs, zero padding applied while
// copying) into shared memory cooperatively, then each thread computes a small register tile
// (rx columns x ry rows of one channel) with the k x k window unrolled, reading neighbours' inputs
// from shared memory. Weights (k*k per channel) are read from global memory into registers once
// per window position of the tile (they are tiny and cached).
//  - NHWC: a warp along channels (coalesced copies and stores), 4 threads along columns, each
//    thread 2 columns x 2 rows.
//  - NCHW: one channel per block; a warp along columns interleaved (thread t owns columns t and
//    t + 32), threads along rows, each thread 2 columns x 2 rows.
// The tile shrinks (fewer threads, then fewer rows) until the input tile fits kSharedBudget.
#include "schedules/cuda/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cuda {

void schedule_depthwise(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const int W = s.out_w(), H = s.out_h(), m = s.multiplier;
    const RVar kx = a.r[0], ky = a.r[1];
    Func out = a.output;
    Var co("co"), ct("ct"), xo("xo"), xi("xi"), xr("xr"), xt("xt"), yo("yo"), yi("yi"), yr("yr"), yt("yt"), yn("yn"), cn("cn");
    int rx = fit(2, W), ry = fit(2, H), t0, t1;
    auto shared_bytes = [&](int channels, int cols, int rows) {
        const int in_c = m == 1 ? channels : std::min(s.c, channels / m + 1);
        return 4 * in_c * input_extent(cols, s.sw, s.kw, s.dw) * input_extent(rows, s.sh, s.kh, s.dh);
    };

    if (s.layout == Layout::NHWC) {
        t0 = fit(kWarp, s.cout);
        t1 = fit(4, W / rx);
        while (t1 > 1 && shared_bytes(t0, rx * t1, ry) > kSharedBudget) t1--;
        while (ry > 1 && shared_bytes(t0, rx * t1, ry) > kSharedBudget) ry--;
        while (t0 > 1 && shared_bytes(t0, rx * t1, ry) > kSharedBudget) t0 /= 2;
        out.split(a.c, co, ct, t0, TailStrategy::ShiftInwards)
            .split(a.x, xo, xi, rx * t1, TailStrategy::ShiftInwards)
            .split(a.y, yo, yr, ry, TailStrategy::ShiftInwards)
            .split(xi, xt, xr, rx)
            .reorder(xr, yr, ct, xt, xo, yo, a.n, co)
            .gpu_threads(ct, xt);
        a.conv.compute_at(out, ct);
    } else {
        t0 = fit(kWarp, W / rx);
        t1 = fit(128 / t0, H / ry);
        while (t1 > 1 && shared_bytes(1, rx * t0, ry * t1) > kSharedBudget) t1--;
        while (t0 > 1 && shared_bytes(1, rx * t0, ry * t1) > kSharedBudget) t0 /= 2;
        out.split(a.x, xo, xi, rx * t0, TailStrategy::ShiftInwards)
            .split(a.y, yo, yi, ry * t1, TailStrategy::ShiftInwards)
            .split(xi, xr, xt, t0)
            .split(yi, yt, yr, ry)
            .reorder(xr, yr, xt, yt, xo, yo, a.n, a.c)
            .gpu_threads(xt, yt);
        a.conv.compute_at(out, xt);
    }
    out.unroll(xr).unroll(yr).fuse(yo, a.n, yn);
    if (s.layout == Layout::NHWC) out.gpu_blocks(xo, yn, co);
    else out.fuse(a.c, yn, cn).gpu_blocks(xo, cn);  // (channel, row block, batch) fused: one dim

    // The accumulators of one thread: registers, window unrolled around the tile.
    a.conv.unroll(a.x).unroll(a.y).unroll(a.c);
    Halide::Stage u = a.conv.update();
    u.reorder(a.x, a.y, a.c, kx, ky, a.n).unroll(a.x).unroll(a.y).unroll(a.c).unroll(kx);
    if (s.kh * s.kw <= 25) u.unroll(ky);

    a.input.compute_at(out, xo).store_in(MemoryType::GPUShared);
    if (s.layout == Layout::NCHW) a.input.reorder_storage(a.x, a.y, a.c, a.n);
    cooperative(a.input, staged_dims(a), t0, t1);
}

}  // namespace cuda
}  // namespace convgen
