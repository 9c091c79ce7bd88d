// Facts about a target that schedules size their tiles from (one place, like hannk's
// get_register_count). Values are per core.
#pragma once

#include "Halide.h"

namespace convgen {

struct TargetFacts {
    int vector_bits;       // natural vector width: 128 (NEON, SSE), 256 (AVX2), 512 (AVX-512)
    int vector_registers;  // architectural vector registers: 16 (AVX2), 32 (AVX-512, NEON)
    int l1_bytes;          // L1 data cache
    int l2_bytes;          // L2 cache
    int f32_lanes() const { return vector_bits / 32; }
};

TargetFacts target_facts(const Halide::Target &t);

}  // namespace convgen
