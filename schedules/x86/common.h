// Helpers shared by the x86 hand schedules: the tile-size choices of this family, clamped to a
// layer's fixed extents, which the kinds' files pass to the shared CPU schedules (cpu_common.h).
//
// Every split here is either exact or ShiftInwards with a factor <= the extent, so no loop reads
// or writes outside the fixed-shape buffers (Halide checks that at run time).
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"
#include "schedules/cpu_common.h"
#include "schedules/target_facts.h"

#include <algorithm>

namespace convgen {
namespace x86 {

// Halide's names (Func, Var, ...) and the shared helpers and tiles of cpu_common.h, unqualified;
// the shared schedules are called with the prefix and this family's sizes, as in
// cpu::schedule_gemm_nhwc(a, nhwc_tile(s, f), ...).
using namespace cpu;

// The vector width for a dim of `extent` elements: lanes or lanes/2, whichever recomputes fewer
// elements in the shifted last vector (ties go to the wider); a power of two <= extent when the
// dim is narrower than both.
inline int pick_vector(int lanes, int extent) {
    int best = 0, best_waste = 0;
    for (int v : {lanes, lanes / 2}) {
        if (v < 1 || v > extent) continue;
        const int waste = (extent + v - 1) / v * v - extent;
        if (best == 0 || waste < best_waste) best = v, best_waste = waste;
    }
    return best ? best : pow2_floor(std::max(1, extent));
}

// Accumulators a register tile may hold: the rest of the register file keeps the weight vectors,
// a broadcast and the loads in flight.
inline int accumulator_budget(const TargetFacts &f) { return f.vector_registers >= 32 ? 24 : 12; }

// The (cw, tx) pair is chosen by a small throughput model over the whole layer rather than a
// fixed shape: the shifted last tile along x (ShiftInwards) and along channels recomputes
// outputs, which at W = 56 or 14 with tx = 6 wasted 7% of all FMAs. Per reduction step a tile
// issues cw*tx vector FMAs and cw + tx loads (weights, broadcasts); with ~2 FMAs and ~2 loads
// per cycle (both halve together for 512-bit ops on Zen4) its cost is max(cw*tx, cw + tx, the
// FMA latency x throughput a tile needs to hide) over all tiles executed. Registers: cw*tx
// accumulators + cw weight vectors + 1 broadcast <= the register file.
inline NhwcTile nhwc_tile(const LayerSpec &s, const TargetFacts &f) {
    NhwcTile t;
    t.v = pick_vector(f.f32_lanes(), s.cout);
    const int W = s.out_w();
    // Whole vectors only: a channel tile wider than cout would read outside the buffers.
    const int nvec = std::max(1, s.cout / t.v);
    const int max_cw = std::min(nvec, f.vector_registers >= 32 ? 4 : 2);
    t.cw = 1, t.tx = 1;
    double best = 1e300;
    for (int cw = 1; cw <= max_cw; cw++) {
        const int max_tx = std::min(W, (f.vector_registers - cw - 1) / cw);
        const double tiles_c = (s.cout + t.v * cw - 1) / (t.v * cw);
        for (int tx = 1; tx <= max_tx; tx++) {
            const double tiles = tiles_c * ((W + tx - 1) / tx);
            // 8 = 4-cycle FMA latency x 2 FMAs per cycle: fewer accumulators stall.
            const double per_step = std::max({double(cw * tx), double(cw + tx), 8.0});
            // Tie-break towards fewer loads per FMA (measured on P1: 4x4 ~3% faster than 2x14).
            const double cost = tiles * per_step * (1.0 + 1e-3 * (cw + tx) / (cw * tx));
            if (cost < best - 1e-9) best = cost, t.cw = cw, t.tx = tx;
        }
    }
    return t;
}

inline NchwTile nchw_tile(const LayerSpec &s, const TargetFacts &f) {
    NchwTile t;
    const int W = s.out_w(), H = s.out_h();
    t.v = pick_vector(f.f32_lanes(), W);
    const int want = f.vector_registers >= 32 ? 4 : 2;  // x-vectors x rows
    t.xw = std::max(1, std::min(want, W / t.v));
    // Prefer fewer x-vectors if they leave a large shifted tail.
    while (t.xw > 1 && (W % (t.v * t.xw)) != 0 && (W % (t.v * t.xw)) < t.v * t.xw / 2) t.xw--;
    t.ty = std::max(1, std::min(H, want / t.xw));
    t.tc = std::max(1, std::min(s.cout, accumulator_budget(f) / (t.xw * t.ty)));
    return t;
}

}  // namespace x86
}  // namespace convgen
