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
#include "schedules/cuda/common.h"
#include "schedules/schedule.h"

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
    // The accumulator: one element per thread and round, in a register. Its extents are declared
    // (1 per dim: dw reads dw_acc at its own point only) because bounds inference cannot always
    // prove them constant: when the output tile is shifted inwards at a tail, the element's
    // coordinate appears once as min(likely_if_innermost(block * tile), extent - tile) and once
    // without the likely tag, the simplifier does not cancel max(a, b) - min(a, b) of the two, and
    // Halide moved the then non-constant per-thread allocation out of the kernel into a global
    // buffer allocated at every run (halide_device_malloc; the suite's NCHW S1, S2, S4 and S2b8 and
    // some NHWC shapes with tails had it). The bound holds by construction (Halide's check of it
    // would sit in the kernel, where it is dropped). Register makes a non-constant size a compile
    // error ("unable to infer constant upper bound"), never a silent global buffer;
    // tests/lit/cuda.test checks the lowered stmt.
    a.dw_acc.compute_at(a.dw, each).store_in(MemoryType::Register);
    for (const Var &v : {a.c, a.x, a.y, a.n}) a.dw_acc.bound_extent(v, 1);
    Halide::Stage du = a.dw_acc.update();
    du.unroll(a.dw_r[0]);
    if (s.kh * s.kw <= 25) du.unroll(a.dw_r[1]);

    Func w = a.params[3].in(a.conv);  // pw_weight IO: co innermost
    w.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
    cooperative(w, w.args(), tile.lanes, 0);
}

}  // namespace cuda
}  // namespace convgen
