// The hardware roofline probe of convgen_bench: FP32 FMA throughput and memory bandwidth at
// cache and DRAM sizes, measured with N threads in this process (never assumed from a data sheet).
#pragma once

#include <string>

namespace convgen_bench {

struct PeakResult {
    int threads = 1;
    double fma256_gflops = 0;  // FP32, independent FMA chains on 256-bit vectors (0: no AVX2/FMA)
    double fma512_gflops = 0;  // FP32, the same on 512-bit vectors (0: no AVX-512F)
    double peak_gflops = 0;    // max of the two: the compute roof
    double l2_gbs = 0;         // read bandwidth, ~512 KiB per thread (fits L2)
    double l3_gbs = 0;         // read bandwidth, 16 MiB in all (fits L3 on most parts)
    double dram_gbs = 0;       // read bandwidth, 256 MiB in all (DRAM): the memory roof
    std::string isa;           // "avx512", "avx2" or "scalar": the best vector width the CPU has
};

// Runs the probe (well under 5 s). dram_mib sets the DRAM buffer size.
PeakResult probe_peak(int threads, int dram_mib = 256);

}  // namespace convgen_bench
