/* convgen runtime internals shared by the .c files of runtime/src (never installed).
 *
 *   status.c    status names, the thread-local error message, set_error()
 *   target.c    whether this machine runs a kernel's target (Halide's CPU check), ranking targets
 *   registry.c  the kernel registry and check_kernel()
 *   params.c    weight packing and BatchNorm folding (convgen_prepare_params)
 *   run.c       tensor checks, halide_buffer_t setup, Halide error routing (convgen_run)
 *   cuda.c      the CUDA driver, context and stream hooks, resident parameters, graphs
 */
#ifndef CONVGEN_RUNTIME_INTERNAL_H
#define CONVGEN_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "convgen/convgen.h"

/* The most arguments a kernel may take (input, up to 4 packed params, output, room to grow). */
#define CONVGEN_MAX_ARGS 8
/* The most 64-bit words a kernel's feature bitmask may have (Halide 21 has about 100 features). */
#define CONVGEN_MAX_FEATURE_WORDS 16

/* Formats a one-line message into this thread's error buffer and returns `status`, so callers
 * write `return set_error(CONVGEN_ERROR_SHAPE, "...", ...)`. */
convgen_status set_error(convgen_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "NCHW", "OIHW", ... or "layout(<n>)" for a bad value; the returned text is static. */
const char *layout_name(convgen_layout layout);

/* Checks that a kernel description is usable (key, target, args table with "input" first and
 * "output" last, argv_fn, feature bitmask size); `who` prefixes the message ("convgen_run"). */
convgen_status check_kernel(const convgen_kernel *kernel, const char *who);

/* How good the target of a kernel that this machine supports and check_kernel accepted is,
 * larger is better: INT64_MAX for CUDA when a CUDA device is present; -1 (not a choice) for CUDA
 * without a device and for other GPU APIs; CPU kernels >= 1, by natural_vector_bits, then by the
 * number of feature bits. */
int64_t target_rank(const convgen_kernel *kernel);

/* Everything convgen_prepare_params produced; immutable once returned, but for the device copy
 * that the first CUDA run makes (cuda.c), once, under device_lock. */
struct convgen_params {
    const convgen_kernel *kernel; /* the kernel it was prepared for */
    char *key;                    /* a copy of kernel->key (the same kernel may live in two tables) */
    int num_args;
    float *data[CONVGEN_MAX_ARGS]; /* packed buffer per kernel arg; NULL for input and output */
    pthread_mutex_t device_lock;
    atomic_int on_device;             /* 1 once device[] holds the uploaded copies */
    uint64_t device[CONVGEN_MAX_ARGS]; /* CUdeviceptr per packed arg; 0 for input and output */
};

/* ---- cuda.c ---- */
/* 1 when the target string has the "cuda" feature. */
int is_cuda_target(const char *target);
/* 1 when a CUDA driver loads and reports a device (probed once, no context made). */
int cuda_device_present(void);
/* Loads the driver (once) with RTLD_GLOBAL, so that Halide's runtime finds it under either name. */
void cuda_load_driver(void);
/* Before a CUDA kernel with kernel->cuda runs: driver, context and Halide hooks ready, else
 * CONVGEN_ERROR_NO_DEVICE naming the kernel and the reason. */
convgen_status cuda_prepare(const convgen_kernel *kernel, const char *who);
/* The parameters on the device (once); convgen_params_upload without the argument checks. */
convgen_status cuda_upload_params(const convgen_params *params, const char *who);
/* Frees the device copies of the parameters, if any (convgen_params_free). */
void cuda_free_params(convgen_params *params);
/* After Halide copied an output to the host on this thread's stream: wait for it. */
convgen_status cuda_finish_host_copy(const char *who);
/* Whether this thread is recording a graph, and recording one run of `kernel` (argv as for
 * argv_fn): warm-up if needed, then argv_fn captured into the graph. *rc is the pipeline's
 * result; a failure of the capture itself is returned as a status with the message set. */
int cuda_recording(void);
convgen_status cuda_record_run(const convgen_kernel *kernel, void **argv, int *rc);
/* Marks this thread's recording failed with `status` and the current convgen_last_error(). */
void cuda_recording_failed(convgen_status status);

#endif /* CONVGEN_RUNTIME_INTERNAL_H */
