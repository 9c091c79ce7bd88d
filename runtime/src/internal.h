/* convgen runtime internals shared by the .c files of runtime/src (never installed).
 *
 *   status.c    status names, the thread-local error message, set_error()
 *   target.c    parsing a kernel's Halide target string against this CPU, ranking ISAs
 *   registry.c  the kernel registry and check_kernel()
 *   params.c    weight packing and BatchNorm folding (convgen_prepare_params)
 *   run.c       tensor checks, halide_buffer_t setup, Halide error routing (convgen_run)
 */
#ifndef CONVGEN_RUNTIME_INTERNAL_H
#define CONVGEN_RUNTIME_INTERNAL_H

#include "convgen/convgen.h"

/* The most arguments a kernel may take (input, up to 4 packed params, output, room to grow). */
#define CONVGEN_MAX_ARGS 8

/* Formats a one-line message into this thread's error buffer and returns `status`, so callers
 * write `return set_error(CONVGEN_ERROR_SHAPE, "...", ...)`. */
convgen_status set_error(convgen_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "NCHW", "OIHW", ... or "layout(<n>)" for a bad value; the returned text is static. */
const char *layout_name(convgen_layout layout);

/* Checks that a kernel description is usable (key, target, args table with "input" first and
 * "output" last, argv_fn); `who` prefixes the message ("convgen_run"). */
convgen_status check_kernel(const convgen_kernel *kernel, const char *who);

/* How good a kernel's target is on a CPU that supports it: 4 CUDA when a CUDA device is present,
 * 3 AVX-512, 2 AVX2, 1 other CPU targets; -1 (not a choice) for CUDA without a device and for
 * other GPU APIs. */
int target_rank(const char *target);

/* Everything convgen_prepare_params produced; immutable once returned. */
struct convgen_params {
    const convgen_kernel *kernel; /* the kernel it was prepared for */
    char *key;                    /* a copy of kernel->key (the same kernel may live in two tables) */
    int num_args;
    float *data[CONVGEN_MAX_ARGS]; /* packed buffer per kernel arg; NULL for input and output */
};

#endif /* CONVGEN_RUNTIME_INTERNAL_H */
