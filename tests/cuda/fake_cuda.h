/* The fake CUDA driver of the runtime tests (fake_cuda.c, built as libcuda.so.1 + libcuda.so in
 * a folder of its own that the tests put on LD_LIBRARY_PATH). It implements the driver calls
 * Halide's CUDA runtime and convgen's runtime make, with host memory behind CUdeviceptr, and
 * counts them. Kernels do not execute (there is no PTX interpreter): a launch records its
 * arguments and is counted. Stream capture follows the driver's thread-local rules strictly:
 * allocation, synchronous copies, synchronization, module loads and legacy-stream launches by the
 * capturing thread invalidate the capture.
 *
 * Environment: FAKE_CUDA_DEVICES=N (default 1) devices; FAKE_CUDA_INIT_ERROR=code makes cuInit fail.
 */
#ifndef FAKE_CUDA_H
#define FAKE_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fake_cuda_stats {
    long inits, contexts_created, primary_retains;
    long allocs, frees, live_allocs;
    long htod_copies, htod_bytes, dtoh_copies, dtoh_bytes, dtod_copies;
    long module_loads;
    long launches;          /* kernels launched outside any capture */
    long captured_launches; /* kernels recorded by stream capture */
    long captured_copies;   /* copies recorded by stream capture */
    long captures_begun, captures_invalidated;
    long streams_live, graphs_live, execs_live;
    long graph_launches, graph_kernels; /* cuGraphLaunch calls, and the kernels they stand for */
    long stream_syncs, ctx_syncs;
    long no_context_errors; /* calls that needed a current context and found none */
    long unsupported_calls; /* calls the fake does not implement (cuMemcpy3D, ...) */
    /* The 64-bit parameters of the last kernel launched or captured (device pointers), in order. */
    int last_launch_u64_count;
    uint64_t last_launch_u64[16];
} fake_cuda_stats;

/* The live counters (one instance per process). */
fake_cuda_stats *fake_cuda_get_stats(void);
/* The next call of `function` (e.g. "cuLaunchKernel", "cuMemAlloc_v2") returns `result` and does
 * nothing else. */
void fake_cuda_fail_next(const char *function, int result);

#ifdef __cplusplus
}
#endif
#endif
