// x86 (AVX2 / AVX-512) hand schedule of the fused depthwise separable block.
//
// Reasoning: the pointwise half holds almost all FMAs (C*Cout vs C*k*k per pixel), so it gets the
// register-blocked micro-kernel of pointwise (cpu_common.h, tiles from schedules/x86/common.h).
// The depthwise half (cpu_common.h: schedule_dwsep_depthwise_nhwc/nchw) is computed per block of
// output rows, into a buffer of tyb rows x W x C sized to a quarter of L2 (at least two blocks so
// both cores work): the intermediate never goes to memory as a whole, and every pointwise channel
// block reuses it from cache.
//  - NHWC: dw vectorized over channels, a tile of 8 columns, window unrolled. Pointwise loops xo,
//    yr, co inside the row block.
//  - NCHW: dw vectorized over x. Pointwise channel blocks are outside the rows of the block, so a
//    block's weights (tc x C) stay in L1.
// Measured (Zen4 2 shared cores, JIT, avx512_zen4): S2 56x56 128->128 NHWC 0.8-1.1 ms
// (~95-138 GFLOP/s); S4 7x7 1024->1024 NCHW ~40 GFLOP/s (weight-streaming bound).
// Row blocks are now split evenly (no shifted, recomputed rows) and the pointwise tile comes from
// nhwc_tile() (no shifted columns). build/convgen_bench --layers suite.tsv --threads 1 --rounds 3,
// ratio oneDNN (dw + pw primitives) / convgen: before S1 0.96 S2 0.86 S3 0.94 S4 0.84 S2b8 0.95;
// after S1 1.11 S2 1.05 S3 0.95 S4 0.89 S2b8 1.12.
// S4 (7 rows, one row block): the pointwise rows ran in parallel inside each of 32 channel
// blocks (7 rows on 2 cores: 4 + 3, and 32 fork/joins); schedule_gemm_nhwc now splits the channel
// blocks across cores when there are fewer than 8 rows, and the depthwise stage is still computed
// once per row block, outside the channel blocks; with a single (serial) row block its rows run
// in parallel. --threads 2 --rounds 5, quiet rounds: S4 605-616 -> 532 us (channel blocks)
// -> 495 us (+ parallel dw rows), 0.79 -> 0.97 x oneDNN. Tried and rejected: copying a channel
// block's pw weights (4 KB stride in IO layout) into a dense buffer per block: 595 us, the
// strided copy costs more than the L2 set conflicts it removes.
// An even number of row blocks (cpu::even_row_blocks): S1 (112 rows) and S2 (56 rows) had 7
// blocks, run as 4 + 3 on two cores; now 8. --threads 2, median of 3 processes x 3 rounds,
// quiet machine: S1 309 -> 290 us (0.97 -> 1.03 x oneDNN), S2 562 -> 505 us (0.93 -> 1.08).
// Winograd row blocks take the same rule (R1: 7 blocks of 2 tile rows -> 14 of 1, 399 -> 369 us).
#include "schedules/x86/common.h"
#include "schedules/schedule.h"

namespace convgen {
namespace x86 {

void schedule_dwsep(Algorithm &a, const Target &t) {
    const LayerSpec &s = a.spec;
    const TargetFacts f = target_facts(t);
    const int lanes = f.f32_lanes();
    const int W = s.out_w(), H = s.out_h();
    // Row blocks of at most a quarter of L2 of intermediate, split evenly: a shifted last block
    // recomputes rows (S4 7 rows as 4 + 4 did 14% extra work and streamed its 4 MB of pointwise
    // weights twice). One block when it fits; the pointwise rows inside it then run in parallel.
    // When the pointwise weights fit in half of L1, a row per block instead: the blocks run in
    // parallel and each sweeps every channel block from L1, one fork and join per call. With one
    // block, the depthwise rows and then the pointwise rows of each channel block are forked and
    // joined in turn (3-6 us each when the worker sleeps between calls): 48 -> 72 channels on
    // 30x30, stride 2 (1.7 MFLOP, 4 fork/joins) took 17-28 us on two cores and 17.7 on one; now
    // 11.8 us (0.61-0.75 -> 1.28 x oneDNN). convgen_bench --threads 2, medians of 2 processes.
    const bool small_weights = 4 * int64_t(s.c) * s.cout * 2 <= f.l1_bytes;
    const int tyb = even_row_blocks(H, small_weights ? 1 : cpu::dwsep_rows_fitting(s, f.l2_bytes / 4));
    const int blocks = (H + tyb - 1) / tyb;

    if (s.layout == Layout::NHWC) {
        const Var yb = cpu::schedule_gemm_nhwc(a, nhwc_tile(s, f), {a.r.x}, tyb);
        // The block loop is serial with one block: split its rows across cores instead.
        cpu::schedule_dwsep_depthwise_nhwc(a, yb, pick_vector(lanes, s.c), std::min(W, 8), blocks == 1);
    } else {
        const Var yb = cpu::schedule_gemm_nchw(a, nchw_tile(s, f), {a.r.x}, tyb, true);
        cpu::schedule_dwsep_depthwise_nchw(a, yb, pick_vector(lanes, W), pick_vector(lanes, s.w));
    }
}

}  // namespace x86
}  // namespace convgen
