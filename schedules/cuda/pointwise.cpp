// CUDA hand schedule of the pointwise (1x1) convolution (both layouts).
//
// Reasoning: pointwise is a GEMM (pixels x C) * (C x Cout), so it uses conv's register-tiled
// schedule (schedules/cuda/common.h) with a 1x1 window: per chunk of input channels the block
// stages its input tile (chunk x bx x ry pixels) and weights (chunk x bc) in shared memory; each
// step of the chunk does rc + rx*ry shared loads for rc*rx*ry FMAs (up to 32 accumulators per lane, one warp per block).
#include "schedules/cuda/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cuda {

void schedule_pointwise(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const GemmTile tile = gemm_tile(s);
    const int in_x = input_extent(tile.bx(), s.sw, 1, 1), in_y = input_extent(tile.ry, s.sh, 1, 1);
    const int per_channel = 4 * (in_x * in_y + tile.bc());
    const int chunk = divisor_at_most(s.c, std::min(32, kGemmSharedBudget / per_channel));
    const RVar rko = schedule_gemm(a, tile, a.r.x, {}, chunk);

    a.input.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
    if (s.layout == Layout::NCHW) a.input.reorder_storage(a.x, a.y, a.c, a.n);
    cooperative(a.input, staged_dims(a), tile.lanes, 0);
    Func w = a.params[1].in(a.conv);  // IO: co innermost
    w.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
    cooperative(w, w.args(), tile.lanes, 0);
}

}  // namespace cuda
}  // namespace convgen
