// The roofline probe (see peak.h).
//
// Compute roof: each thread runs 12 independent FMA chains (acc = acc * m + a) on 256-bit (AVX2+FMA)
// and on 512-bit (AVX-512F) vectors; 12 chains cover FMA latency x pipes on current x86 cores
// (e.g. 4 cycles x 2 pipes). The wide code lives in functions with target attributes, so only
// they use AVX2/AVX-512 and the CPU is asked (cpuid, via __builtin_cpu_supports) before calling them.
// Memory roof: each thread sums its own first-touched buffer with vector loads, repeated until
// ~40 ms have passed; the best of 5 repetitions counts. Sizes: 512 KiB per thread (L2), 16 MiB in
// all (L3), dram_mib in all (DRAM).
#include "bench/peak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace convgen_bench {

namespace {

using Clock = std::chrono::steady_clock;

volatile float g_sink;  // keeps the results of the probes alive

// Runs f(thread_index) on `threads` threads started together; returns the wall seconds from the
// common start to the last finish.
double run_parallel(int threads, const std::function<void(int)> &f) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++)
        pool.emplace_back([&, t] {
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) {
            }
            f(t);
        });
    while (ready.load() < threads) {
    }
    const auto t0 = Clock::now();
    go.store(true, std::memory_order_release);
    for (auto &th : pool) th.join();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr int kChains = 12;

__attribute__((target("avx2,fma"))) float fma256_kernel(int64_t iters) {
    __m256 acc[kChains];
    for (int i = 0; i < kChains; i++) acc[i] = _mm256_set1_ps(float(i) * 0.01f);
    const __m256 m = _mm256_set1_ps(0.9999999f), a = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < kChains; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    }
    __m256 s = acc[0];
    for (int i = 1; i < kChains; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

__attribute__((target("avx512f"))) float fma512_kernel(int64_t iters) {
    __m512 acc[kChains];
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(float(i) * 0.01f);
    const __m512 m = _mm512_set1_ps(0.9999999f), a = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < kChains; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    }
    __m512 s = acc[0];
    for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0] + out[15];
}

__attribute__((target("avx2"))) float sum_avx2(const float *p, size_t n) {
    __m256 acc[8];
    for (auto &a : acc) a = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int j = 0; j < 8; j++) acc[j] = _mm256_add_ps(acc[j], _mm256_load_ps(p + i + 8 * j));
    for (int j = 1; j < 8; j++) acc[0] = _mm256_add_ps(acc[0], acc[j]);
    float out[8];
    _mm256_storeu_ps(out, acc[0]);
    float s = 0;
    for (float v : out) s += v;
    for (; i < n; i++) s += p[i];
    return s;
}

float sum_scalar(const float *p, size_t n) {
    float s[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += p[i + j];
    for (; i < n; i++) s[0] += p[i];
    return s[0] + s[1] + s[2] + s[3];
}

// GFLOP/s of `kernel` (lanes FP32 lanes per vector) on all threads: best of 5 runs of ~50 ms
// (short runs, so that one of them likely finds the shared machine quiet).
double fma_gflops(int threads, int lanes, float (*kernel)(int64_t)) {
    // Calibrate the iteration count on one thread to ~100 ms.
    int64_t iters = 1 << 16;
    for (;;) {
        const auto t0 = Clock::now();
        g_sink = kernel(iters);
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (s > 0.02) {
            iters = int64_t(double(iters) * 0.05 / s) + 1;
            break;
        }
        iters *= 4;
    }
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double s = run_parallel(threads, [&](int) { g_sink = kernel(iters); });
        best = std::max(best, double(threads) * double(iters) * kChains * lanes * 2 / s / 1e9);
    }
    return best;
}

struct AlignedFree {
    void operator()(float *p) const { std::free(p); }
};

// Read bandwidth in GB/s with `per_thread` bytes per thread.
double read_gbs(int threads, size_t per_thread, bool avx2) {
    const size_t n = per_thread / sizeof(float);
    std::vector<std::unique_ptr<float, AlignedFree>> bufs;
    bufs.resize(size_t(threads));
    // First touch by the reading thread, so its pages sit where it runs.
    run_parallel(threads, [&](int t) {
        float *p = static_cast<float *>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
        for (size_t i = 0; i < n; i++) p[i] = float(i & 7) * 0.125f;
        bufs[size_t(t)].reset(p);
    });
    auto sum = avx2 ? sum_avx2 : sum_scalar;
    // Passes per repetition: enough for ~80 ms, measured with one warm pass.
    const auto t0 = Clock::now();
    g_sink = sum(bufs[0].get(), n);
    const double one = std::max(1e-6, std::chrono::duration<double>(Clock::now() - t0).count());
    const int passes = std::max(2, int(0.04 / one));
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double s = run_parallel(threads, [&](int t) {
            float acc = 0;
            for (int p = 0; p < passes; p++) acc += sum(bufs[size_t(t)].get(), n);
            g_sink = acc;
        });
        best = std::max(best, double(threads) * double(passes) * double(n * sizeof(float)) / s / 1e9);
    }
    return best;
}

}  // namespace

PeakResult probe_peak(int threads, int dram_mib) {
    PeakResult r;
    r.threads = threads = std::max(1, threads);
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = __builtin_cpu_supports("avx512f");
    r.isa = avx512 ? "avx512" : avx2 ? "avx2" : "scalar";
    if (avx2) r.fma256_gflops = fma_gflops(threads, 8, fma256_kernel);
    if (avx512) r.fma512_gflops = fma_gflops(threads, 16, fma512_kernel);
    r.peak_gflops = std::max(r.fma256_gflops, r.fma512_gflops);
    r.l2_gbs = read_gbs(threads, size_t(512) << 10, avx2);
    r.l3_gbs = read_gbs(threads, (size_t(16) << 20) / size_t(threads), avx2);
    r.dram_gbs = read_gbs(threads, (size_t(std::max(16, dram_mib)) << 20) / size_t(threads), avx2);
    return r;
}

}  // namespace convgen_bench
