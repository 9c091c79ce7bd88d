// Facts about the machine a kernel is generated for, that CPU schedules size their space from
// (one place, like hannk's get_register_count). Values are per core unless named otherwise.
//
// Two sources, recorded in every kernel's manifest entry (`facts`):
//  - `host` reads this machine at generate time (default_facts() for its ISA, then the caches
//    and cores the kernel reports in sysfs): source "host".
//  - A named or explicit target string gets default_facts(), documented per field below:
//    source "defaults". A kernel for another machine is sized for a typical core of its ISA,
//    never for the CPU it happens to be generated on.
#pragma once

#include "Halide.h"

#include <algorithm>
#include <string>

namespace convgen {

struct TargetFacts {
    int vector_bits = 128;      // natural vector width: 128 (NEON, SSE), 256 (AVX2), 512 (AVX-512)
    int vector_registers = 16;  // architectural vector registers: 16 (AVX2), 32 (AVX-512, NEON)
    int fma_latency = 4;        // cycles of a vector FMA (4 on every x86 core since Skylake, A76+)
    int fma_units = 2;          // vector FMAs issued per cycle (not readable from the OS: 2 by default)
    int fma_bits = 128;         // width of an FMA unit's datapath: a wider vector issues as several
                                // (vector_bits by default; host: 256 on AMD family 19h, Zen 4, whose
                                // 512-bit FMAs run as two 256-bit halves)
    int l1_bytes = 32 << 10;    // L1 data cache (defaults: 32 KiB x86, 64 KiB AArch64)
    int l1_ways = 8;            // its associativity (defaults: 8 x86, 4 AArch64)
    int line_bytes = 64;        // its line (64 on x86 and most AArch64 cores)
    int l2_bytes = 512 << 10;   // L2 cache (defaults: 1 MiB AVX-512 cores, 512 KiB others, 1 MiB AArch64)
    int l3_bytes = 0;           // last-level cache shared by all cores, 0 when unknown
    int cores = 2;              // cores the kernel's parallel loops are sized for
    std::string source = "defaults";  // "defaults" or "host"
    int f32_lanes() const { return vector_bits / 32; }
    // The narrowest vector (fp32 lanes) that runs at the full FMA rate per float: narrower ones
    // leave part of the datapath idle, wider ones issue as several.
    int full_rate_lanes() const { return std::min(vector_bits, fma_bits) / 32; }
    // FMAs that must be in flight to keep the FMA units busy (latency x units): the fewest
    // accumulators a register tile may hold.
    int fmas_in_flight() const { return fma_latency * fma_units; }
    int l1_sets() const { return std::max(1, l1_bytes / std::max(1, line_bytes * l1_ways)); }
};

// The documented defaults of the target's ISA (see the fields).
TargetFacts default_facts(const Halide::Target &t);
// default_facts(t) with caches and cores read from this machine (Linux sysfs); a value the OS
// does not report keeps its default.
TargetFacts host_facts(const Halide::Target &t);
// One line, e.g. "source=host vector_bits=512 ... l2=2097152 cores=2", for fingerprints.
std::string to_text(const TargetFacts &f);

}  // namespace convgen
