// Helpers shared by the ARM (AArch64 NEON) hand schedules: tile sizes for a 128-bit, 32-register
// machine, clamped to a layer's fixed extents, which the kinds' files pass to the shared CPU
// schedules (cpu_common.h).
//
// Sizing (from target_facts: 32 vector registers of 4 fp32 lanes):
//  - A register tile holds at most 20 accumulators. The other 12 registers keep the tile's weight
//    vectors (up to 4), the broadcast inputs and loads in flight; AArch64's `fmla vd.4s, vn.4s,
//    vm.s[i]` takes a lane of a register directly, so one loaded vector serves 4 broadcasts.
//  - NHWC: up to 4 channel vectors (16 channels) x 5 columns, or 2 x 6 / 1 x 6 for narrow outputs.
//  - NCHW: up to 2 x-vectors (8 pixels) x 2 rows x 5 output channels.
//
// Tail care (as on x86): every split is exact or ShiftInwards with a factor <= the extent, and
// RoundUp only splits a Func computed inside a tile whose extent is a multiple of the factor, so
// no loop reads or writes outside the fixed-shape buffers (Halide checks that at run time).
#pragma once

#include "Halide.h"
#include "generator/algorithms/algorithm.h"
#include "schedules/cpu_common.h"
#include "schedules/target_facts.h"

#include <algorithm>

namespace convgen {
namespace arm {

// Halide's names (Func, Var, ...) and the shared helpers and tiles of cpu_common.h, unqualified;
// the shared schedules are called with the prefix and this family's sizes, as in
// cpu::schedule_gemm_nhwc(a, nhwc_tile(s, f), ...).
using namespace cpu;

// Accumulators a register tile may hold (see above): 20 of 32 NEON registers.
inline int accumulator_budget(const TargetFacts &f) { return f.vector_registers * 5 / 8; }

// Vector width along a dim of `extent`: the full 4 lanes when the dim has them, else the widest
// power of two that fits (2 or 1), so a vector never exceeds the dim (ShiftInwards needs that).
inline int pick_vector(int lanes, int extent) { return std::min(lanes, pow2_floor(std::max(1, extent))); }

inline NhwcTile nhwc_tile(const LayerSpec &s, const TargetFacts &f) {
    NhwcTile t;
    t.v = pick_vector(f.f32_lanes(), s.cout);
    t.cw = std::max(1, std::min(4, s.cout / t.v));
    t.tx = pick_points(std::min(6, accumulator_budget(f) / t.cw), t.cw, s.out_w());
    return t;
}

inline NchwTile nchw_tile(const LayerSpec &s, const TargetFacts &f) {
    NchwTile t;
    const int W = s.out_w(), H = s.out_h();
    t.v = pick_vector(f.f32_lanes(), W);
    t.xw = std::max(1, std::min(2, W / t.v));
    // One x-vector when a second would leave a large shifted tail.
    if (t.xw == 2 && W % (2 * t.v) != 0 && W % (2 * t.v) < t.v) t.xw = 1;
    t.ty = std::max(1, std::min(H, 4 / t.xw));
    t.tc = std::max(1, std::min({s.cout, 5, accumulator_budget(f) / (t.xw * t.ty)}));
    return t;
}

}  // namespace arm
}  // namespace convgen
