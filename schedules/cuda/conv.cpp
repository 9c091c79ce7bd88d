// CUDA hand schedule of the regular convolution (both layouts).
//
// Reasoning: conv is compute bound (R1: 231 MFLOP on 0.8 MB of input), so it is an implicit GEMM
// with a register tile per thread (schedules/cuda/common.h): one warp per block, each lane up to
// 4 output channels x 4 columns x 2+ rows (<= 32 accumulators). The input-channel reduction runs in
// chunks; for each chunk the warp copies the input tile it needs (chunk channels x the tile's
// receptive field, zero padding applied while copying) and the weights (bc x chunk x k x k) into
// shared memory, then every lane runs the chunk's window from shared memory: per step rc weight
// loads and rx*ry input loads feed rc*rx*ry FMAs. The chunk is the largest divisor of C/groups
// (<= 32) whose two tiles fit kGemmSharedBudget.
// Grouped conv: a block's channel tile may straddle groups, so the input tile is not staged (read
// through L1 instead); the weights still are.
#include "schedules/cuda/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace cuda {

void schedule_conv(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const GemmTile tile = gemm_tile(s);
    const int cin_g = s.c / s.groups;
    const bool stage_input = s.groups == 1;
    const int in_x = input_extent(tile.bx(), s.sw, s.kw, s.dw), in_y = input_extent(tile.ry, s.sh, s.kh, s.dh);
    const int per_channel = 4 * ((stage_input ? in_x * in_y : 0) + tile.bc() * s.kw * s.kh);
    const int chunk = divisor_at_most(cin_g, std::min(32, kGemmSharedBudget / per_channel));
    const RVar rko = schedule_gemm(a, tile, a.r[0], {a.r[1], a.r[2]}, chunk);
    Halide::Stage u = a.conv.update();
    if (s.kw * s.kh <= 25) u.unroll(a.r[1]);  // kx: rx*ry loads per weight, indices folded
    if (stage_input) {
        a.input.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
        if (s.layout == Layout::NCHW) a.input.reorder_storage(a.x, a.y, a.c, a.n);
        cooperative(a.input, staged_dims(a), tile.lanes, 0);
    }
    // Weights are HWIO (co innermost): the copy is coalesced and a warp's reads (consecutive
    // output channels in NHWC, one broadcast in NCHW) are conflict-free.
    Func w = a.params[1].in(a.conv);
    w.compute_at(a.conv, rko).store_in(MemoryType::GPUShared);
    cooperative(w, w.args(), tile.lanes, 0);
}

}  // namespace cuda
}  // namespace convgen
