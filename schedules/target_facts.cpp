#include "schedules/target_facts.h"

namespace convgen {

TargetFacts target_facts(const Halide::Target &t) {
    using Halide::Target;
    TargetFacts f{128, 16, 32 * 1024, 512 * 1024};
    if (t.arch == Target::ARM) {
        f.vector_registers = 32;  // v0-v31, 4 fp32 lanes each
        f.l1_bytes = 64 * 1024;
        f.l2_bytes = 1024 * 1024;
    } else if (t.has_feature(Target::AVX512) || t.has_feature(Target::AVX512_Skylake) ||
               t.has_feature(Target::AVX512_Cannonlake) || t.has_feature(Target::AVX512_Zen4) ||
               t.has_feature(Target::AVX512_SapphireRapids)) {
        f.vector_bits = 512;
        f.vector_registers = 32;  // zmm0-zmm31
        f.l2_bytes = 1024 * 1024;
    } else if (t.has_feature(Target::AVX2) || t.has_feature(Target::AVX)) {
        f.vector_bits = 256;  // ymm0-ymm15
    }
    return f;
}

}  // namespace convgen
