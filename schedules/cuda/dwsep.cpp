// CUDA hand schedule of the fused depthwise separable block (both layouts).
//
// Reasoning: the pointwise half holds almost all FMAs (C*Cout vs C*k*k per pixel), so the block
// is pointwise's register-tiled GEMM (schedules/cuda/common.h) whose "input" is the depthwise
// result. For each chunk of channels, the block computes the depthwise tile it needs (chunk x bx
// x ry pixels, after folded BN and activation) straight into shared memory, every thread one or
// more elements with its k x k window unrolled in registers (input read through L1: neighbouring
// threads share the window), then the pointwise steps read it from there. The intermediate never
// goes to global memory. With several channel blocks (Cout > bc) each recomputes the depthwise
// tile: k*k/Cout more FMAs than the pointwise half, a few percent at most.
#include "common.h"
#include "schedule.h"

namespace convgen {
namespace cuda {

void schedule_dwsep(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const GemmTile tile = gemm_tile(s);
    const int per_channel = 4 * (tile.bx() * tile.ry + tile.bc());
    const int chunk = divisor_at_most(s.c, std::min(32, kGemmSharedBudget / per_channel));
    const RVar rko = schedule_gemm(a, tile, a.r.x, {}, chunk);

    a.dw.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
    if (s.layout == Layout::NCHW) a.dw.reorder_storage(a.x, a.y, a.c, a.n);
    const Var each = cooperative(a.dw, staged_dims(a), tile.lanes, 0);
    a.dw_acc.compute_at(a.dw, each);  // one element per thread and round: registers
    Halide::Stage du = a.dw_acc.update();
    du.unroll(a.dw_r[0]);
    if (s.kh * s.kw <= 25) du.unroll(a.dw_r[1]);

    Func w = a.params[3].in(a.conv);  // pw_weight IO: co innermost
    w.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
    cooperative(w, w.args(), tile.lanes, 0);
}

}  // namespace cuda
}  // namespace convgen
