// Helpers shared by the CUDA hand schedules: tile sizes from a layer's fixed extents, cooperative
// (all threads of a block) copies into shared memory, and the register-tiled "GEMM-like" schedule
// that conv, pointwise and the pointwise half of dwsep share.
//
// Tails: every split of an output dim is ShiftInwards with a factor <= the extent (the last tile
// of an odd dim overlaps the one before and recomputes a few outputs), so tiles, and hence the
// shared and register allocations, have constant sizes and nothing is read or written outside
// the fixed-shape buffers. Reductions are split only by divisors of their extent. Cooperative
// copies are GuardWithIf (a few idle threads in the last round).
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"

#include <algorithm>
#include <vector>

namespace convgen {
namespace cuda {

using Halide::Func;
using Halide::MemoryType;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Target;
using Halide::Var;
using Halide::VarOrRVar;

// Shared memory per block. Depthwise blocks (4 warps) may use up to 40 KB, under the 48 KB a
// launch gets without opting in (Halide's runtime passes it as dynamic shared memory). The GEMM
// blocks are one warp each (see schedule_gemm), so they take 12 KB: ~18 of them (18 warps) then
// fit the 228 KB of an SM.
constexpr int kSharedBudget = 40 * 1024;
constexpr int kGemmSharedBudget = 12 * 1024;
constexpr int kWarp = 32;

inline int fit(int want, int extent) { return std::max(1, std::min(want, extent)); }

// The largest divisor of n that is <= cap (reductions are split exactly, never guarded).
inline int divisor_at_most(int n, int cap) {
    for (int d = std::min(n, std::max(1, cap)); d > 1; d--)
        if (n % d == 0) return d;
    return 1;
}

// Input extent a tile of `out` outputs reads along one dim.
inline int input_extent(int out, int stride, int k, int dilation) { return (out - 1) * stride + (k - 1) * dilation + 1; }

inline int pow2_floor(int v) {
    int p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

// Copies a Func that is compute_at a block-level loop (store_in GPUShared) with all the block's
// threads: its dims (innermost first, as stored) are fused into one and dealt out round-robin, so
// consecutive threads copy consecutive elements (coalesced global reads when the storage order
// matches the source's memory order). t1 == 0: the block is one warp of t0 lanes (schedule_gemm).
// Returns the per-thread loop, where a producer of each element (e.g. dwsep's depthwise
// accumulator) is computed.
inline Var cooperative(Func f, const std::vector<Var> &dims, int t0, int t1) {
    Var fused = dims[0];
    for (size_t i = 1; i < dims.size(); i++) {
        Var next(f.name() + "_f" + std::to_string(i));
        f.fuse(fused, dims[i], next);
        fused = next;
    }
    Var o(f.name() + "_o"), i(f.name() + "_i"), i0(f.name() + "_t0"), i1(f.name() + "_t1");
    if (t1 == 0) {
        // gpu_threads, not gpu_lanes, even in a one-warp block: Halide treats a block of lane
        // loops only as synchronous and inserts no barrier, but with independent thread
        // scheduling (Volta+) the lanes that read a staged tile must wait for those that wrote
        // it. A thread loop makes Halide put bar.sync between the copy and the compute (and
        // before the next chunk's copy overwrites the tile).
        f.split(fused, o, i0, t0, TailStrategy::GuardWithIf).reorder(o, i0).gpu_threads(i0);
    } else {
        f.split(fused, o, i, t0 * t1, TailStrategy::GuardWithIf)
            .split(i, i1, i0, t0, TailStrategy::GuardWithIf)
            .reorder(o, i0, i1)
            .gpu_threads(i0, i1);
    }
    return o;
}

// The register tile of the GEMM-like schedule. A block is one warp of `lanes` threads (gpu_lanes):
// Halide keeps a block-level Func whose index is affine in the lane in registers, striped across
// the lanes (LowerWarpShuffles), which is what lets the accumulators live in registers *and*
// the reduction run in chunks with a shared-memory copy per chunk outside the lane loop. With
// gpu_threads a block-level "register" Func becomes a whole-block array in every thread's local
// memory instead (checked: 16 KB local depot per thread).
// Each lane accumulates rc channels x rx columns x ry rows (<= 32 fp32 registers, accumulators()). The lanes run
// along the dim that is innermost in memory, interleaved (lane l owns l, l + lanes, ...) so each
// unrolled store of the warp is one coalesced line: channels for NHWC; columns for NCHW when the
// output is at least a warp wide, else channels.
struct GemmTile {
    bool lanes_on_c;
    int lanes, rc, rx, ry;
    int bc() const { return lanes_on_c ? rc * lanes : rc; }
    int bx() const { return lanes_on_c ? rx : rx * lanes; }
};

// Accumulators per lane: 32 when the layer has outputs enough for >= 4 warps per SM of an H100
// (132 SMs) at that size, fewer (down to 8) for small layers, so they still fill the GPU.
inline int accumulators(const LayerSpec &s) {
    const long outputs = long(s.n) * s.cout * s.out_h() * s.out_w();
    return std::max(8, std::min(32, pow2_floor(int(std::min<long>(1 << 30, outputs / (132 * 4 * kWarp))))));
}

inline GemmTile gemm_tile(const LayerSpec &s) {
    GemmTile t;
    const int acc = accumulators(s);
    t.lanes_on_c = s.layout == Layout::NHWC || s.out_w() < kWarp;
    if (t.lanes_on_c) {
        t.lanes = pow2_floor(std::min(kWarp, s.cout));
        t.rc = fit(std::min(4, acc), s.cout / t.lanes);
        t.rx = fit(std::min(4, acc / t.rc), s.out_w());
    } else {
        t.lanes = kWarp;
        t.rx = fit(2, s.out_w() / t.lanes);
        t.rc = fit(std::min(4, acc / t.rx), s.cout);
    }
    t.ry = fit(std::min(4, acc / (t.rc * t.rx)), s.out_h());
    return t;
}

// Schedules a.output (blocks and lanes) and a.conv (the accumulators: block level, registers).
//   red_channel  the reduction over input channels, split into chunks of `chunk` (a divisor)
//   per_thread   the other reduction vars, innermost first (the k x k window), run per lane
// Loops, innermost first:
//   output:        [register tile, unrolled] lane [blocks: columns, rows x batch, channels]
//   conv.update(): [register tile] [window] rki lane rko [blocks]
// Returns rko: one chunk of input channels, where the caller stages the chunk's input (or
// depthwise tile) and weights in shared memory (all lanes copy, barrier, all compute).
inline RVar schedule_gemm(Algorithm &a, const GemmTile &t, const RVar &red_channel,
                          const std::vector<RVar> &per_thread, int chunk) {
    Func out = a.output;
    Var co("co"), ci("ci"), cr("cr"), xo("xo"), xi("xi"), xr("xr"), l("l"), yo("yo"), yr("yr"), yn("yn");
    out.split(a.c, co, ci, t.bc(), TailStrategy::ShiftInwards)
        .split(a.x, xo, xi, t.bx(), TailStrategy::ShiftInwards)
        .split(a.y, yo, yr, t.ry, TailStrategy::ShiftInwards);
    if (t.lanes_on_c) out.split(ci, cr, l, t.lanes).rename(xi, xr).reorder(cr, xr, yr, l, xo, yo, a.n, co);
    else out.split(xi, xr, l, t.lanes).rename(ci, cr).reorder(xr, cr, yr, l, xo, yo, a.n, co);
    out.gpu_lanes(l).unroll(cr).unroll(xr).unroll(yr).fuse(yo, a.n, yn).gpu_blocks(xo, yn, co);

    // Striped over the lanes: the index must be lane + multiples of `lanes`, so the laned dim is
    // stored innermost.
    a.conv.compute_at(out, xo).store_in(MemoryType::Register);
    if (!t.lanes_on_c) a.conv.reorder_storage(a.x, a.c, a.y, a.n);
    Halide::Stage u = a.conv.update();
    RVar rko("rko"), rki("rki");
    u.split(red_channel, rko, rki, chunk);
    std::vector<VarOrRVar> tile, order;
    if (t.lanes_on_c) {
        a.conv.split(a.c, cr, l, t.lanes).reorder(cr, a.x, a.y, l, a.n);
        u.split(a.c, cr, l, t.lanes);
        tile = {cr, a.x, a.y};
    } else {
        a.conv.split(a.x, xr, l, t.lanes).reorder(xr, a.c, a.y, l, a.n);
        u.split(a.x, xr, l, t.lanes);
        tile = {xr, a.c, a.y};
    }
    order = tile;
    for (const RVar &r : per_thread) order.push_back(r);
    order.insert(order.end(), {rki, l, rko, a.n});
    u.reorder(order).gpu_lanes(l);
    a.conv.gpu_lanes(l);
    for (const VarOrRVar &v : tile) {
        a.conv.unroll(v.var);
        u.unroll(v);
    }
    return rko;
}

// The storage order (innermost first) of a staged (c, x, y, n) Func: the layout's memory order,
// so that both the copy from global memory and the reads of a warp are contiguous.
inline std::vector<Var> staged_dims(const Algorithm &a) {
    if (a.spec.layout == Layout::NHWC) return {a.c, a.x, a.y, a.n};
    return {a.x, a.y, a.c, a.n};
}

}  // namespace cuda
}  // namespace convgen
