/* Running a kernel: check the caller's tensors, describe them to Halide, call the pipeline.
 *
 * Entry point: convgen_run.
 *
 * The kernel has a fixed shape, so every input/output dim is compared with its args table and
 * any difference is reported with the dim, the value and the expectation. Activations must be
 * dense (all-zero or exactly row-major strides): the kernels are compiled for dense buffers.
 * Halide reports errors through a process-wide handler of the runtime the kernel was linked
 * with; we install ours once per runtime (per distinct set_error_handler function) and it
 * copies Halide's text into a thread-local buffer, so a failing run becomes CONVGEN_ERROR_KERNEL
 * with Halide's own message. A run touches no shared mutable state except that one-time install.
 *
 * CUDA kernels whose registry entry has kernel->cuda (cuda.c sets up driver, context and hooks):
 * CUDA tensors and the resident parameters are wrapped into their halide_buffer_t as device
 * pointers (no copies) and detached afterwards; a host input is marked host-dirty so that Halide
 * copies it to a temporary device buffer, a host output is copied back (copy_to_host), and those
 * temporaries are freed (device_free). While this thread records a graph, the pipeline call goes
 * through cuda_record_run instead. CUDA kernels of older tables (no kernel->cuda) take host
 * tensors only and copy their parameters at every call. "No CUDA driver or device" failures
 * become CONVGEN_ERROR_NO_DEVICE.
 */
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <HalideRuntime.h>

#include "internal.h"

#define WHO "convgen_run"

/* ---- Halide error routing ---- */
static _Thread_local char g_halide_message[768];

static void on_halide_error(void *user_context, const char *message) {
    (void)user_context;
    /* One line: Halide's messages may end in (or contain) newlines. */
    size_t n = 0;
    for (; message != NULL && message[n] != '\0' && n + 1 < sizeof g_halide_message; n++)
        g_halide_message[n] = message[n] == '\n' ? ' ' : message[n];
    while (n > 0 && g_halide_message[n - 1] == ' ') n--;
    g_halide_message[n] = '\0';
}

enum { MAX_RUNTIMES = 32 }; /* one Halide runtime per architecture: a handful at most */
static _Atomic(convgen_set_error_handler_fn) g_installed[MAX_RUNTIMES];
static atomic_int g_installed_count;
static pthread_mutex_t g_install_lock = PTHREAD_MUTEX_INITIALIZER;

static int installed(convgen_set_error_handler_fn fn) {
    int n = atomic_load(&g_installed_count);
    for (int i = 0; i < n; i++)
        if (atomic_load(&g_installed[i]) == fn) return 1;
    return 0;
}

/* Lock-free when already done; the slot is published before the count, so readers see it whole. */
static void install_error_handler(convgen_set_error_handler_fn fn) {
    if (fn == NULL || installed(fn)) return;
    pthread_mutex_lock(&g_install_lock);
    if (!installed(fn)) {
        fn(on_halide_error);
        int n = atomic_load(&g_installed_count);
        if (n < MAX_RUNTIMES) { /* when full we simply reinstall each run: harmless */
            atomic_store(&g_installed[n], fn);
            atomic_store(&g_installed_count, n + 1);
        }
    }
    pthread_mutex_unlock(&g_install_lock);
}

/* ---- CUDA ---- */
/* Failures that mean "no usable driver or GPU" rather than a bug: Halide's own no-device codes;
 * for CUDA kernels, symbol_not_found ("CUDA API not found: cuInit": no libcuda), the CUDA driver
 * results older Halide runtimes pass through (NOT_INITIALIZED 3, STUB_LIBRARY 34 from the
 * toolkit's stub libcuda, INSUFFICIENT_DRIVER 35, NO_DEVICE 100, FILE_NOT_FOUND 301,
 * SYSTEM_NOT_READY 802, SYSTEM_DRIVER_MISMATCH 803, COMPAT_NOT_SUPPORTED_ON_DEVICE 804), and
 * Halide 21's generic device error when its message says initialisation failed (the stub
 * libcuda gives "CUDA error: <Unknown error> cuInit failed", code -29). */
static int is_no_device(int rc, int cuda, const char *message) {
    if (rc == halide_error_code_device_interface_no_device || rc == halide_error_code_no_device_interface) return 1;
    if (!cuda) return 0;
    if (rc == halide_error_code_symbol_not_found) return 1;
    static const int codes[] = {3, 34, 35, 100, 301, 802, 803, 804};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (rc == codes[i]) return 1;
    return strstr(message, "cuInit failed") != NULL || strstr(message, "cuGetDeviceCount failed") != NULL ||
           strstr(message, "No devices available") != NULL;
}

/* ---- tensor checks ---- */
#define OLD_TABLE "its registry entry has no CUDA runtime functions (a registry from an older convgen: regenerate it)"

static convgen_status check_activation(const convgen_kernel *k, const char *what, const convgen_tensor *t,
                                       const convgen_arg_info *arg, int cuda) {
    if (t->device != CONVGEN_DEVICE_HOST && t->device != CONVGEN_DEVICE_CUDA)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         WHO ": %s has device %d, not a convgen_device (CONVGEN_DEVICE_HOST 0, CONVGEN_DEVICE_CUDA 1)",
                         what, (int)t->device);
    if (t->device == CONVGEN_DEVICE_CUDA && !cuda)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         WHO ": %s has device CUDA, but kernel %s (target %s) runs on the CPU and takes host tensors",
                         what, k->key, k->target);
    if (t->device == CONVGEN_DEVICE_CUDA && k->cuda == NULL)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": %s has device CUDA, but kernel %s takes none: " OLD_TABLE,
                         what, k->key);
    if (t->device == CONVGEN_DEVICE_HOST && cuda_recording())
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         WHO ": %s is a host tensor; a run recorded into a graph (convgen_graph_begin) takes CUDA "
                         "tensors only",
                         what);
    if (t->data == NULL)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": %s %s is NULL", what,
                         t->device == CONVGEN_DEVICE_CUDA ? "device pointer (data)" : "data");
    if (t->dtype != CONVGEN_F32)
        return set_error(CONVGEN_ERROR_DTYPE, WHO ": %s dtype is %d, kernel %s expects f32 (%d)", what, (int)t->dtype,
                         k->key, (int)CONVGEN_F32);
    if (t->layout != k->layer.layout)
        return set_error(CONVGEN_ERROR_LAYOUT, WHO ": %s layout is %s (%d), kernel %s expects %s", what,
                         layout_name(t->layout), (int)t->layout, k->key, layout_name(k->layer.layout));
    if (t->ndim != 4)
        return set_error(CONVGEN_ERROR_SHAPE, WHO ": %s ndim is %d, kernel %s expects 4", what, t->ndim, k->key);
    for (int d = 0; d < 4; d++)
        if (t->dims[d] != arg->shape[d])
            return set_error(CONVGEN_ERROR_SHAPE, WHO ": %s dim %d is %lld, kernel %s expects %lld (layout %s)", what, d,
                             (long long)t->dims[d], k->key, (long long)arg->shape[d], layout_name(t->layout));
    int zero = 1, dense = 1;
    int64_t s = 1;
    for (int d = 3; d >= 0; d--) {
        zero &= t->strides[d] == 0;
        dense &= t->strides[d] == s;
        s *= t->dims[d];
    }
    if (!zero && !dense)
        return set_error(CONVGEN_ERROR_LAYOUT,
                         WHO ": %s strides (%lld, %lld, %lld, %lld) are not dense; kernel %s expects (%lld, %lld, %lld, 1) "
                         "or all zero",
                         what, (long long)t->strides[0], (long long)t->strides[1], (long long)t->strides[2],
                         (long long)t->strides[3], k->key, (long long)(t->dims[1] * t->dims[2] * t->dims[3]),
                         (long long)(t->dims[2] * t->dims[3]), (long long)t->dims[3]);
    return CONVGEN_OK;
}

/* A dense f32 halide_buffer_t over `data` with the arg's shape (Halide dims are innermost first). */
static void describe(halide_buffer_t *b, halide_dimension_t dim[CONVGEN_MAX_DIMS], const convgen_arg_info *arg,
                     void *data) {
    memset(b, 0, sizeof *b);
    int32_t stride = 1;
    for (int d = 0; d < arg->ndim; d++) {
        int64_t extent = arg->shape[arg->ndim - 1 - d];
        dim[d] = (halide_dimension_t){0, (int32_t)extent, stride, 0};
        stride *= (int32_t)extent;
    }
    b->host = data;
    b->type.code = halide_type_float;
    b->type.bits = 32;
    b->type.lanes = 1;
    b->dimensions = arg->ndim;
    b->dim = dim;
}

/* Detaches what was wrapped and frees the device copies Halide made. */
static void release_buffers(const convgen_kernel *k, halide_buffer_t *bufs, const int *wrapped, int n) {
    for (int a = 0; a < n; a++) {
        if (wrapped[a]) k->cuda->detach_device_ptr(NULL, &bufs[a]);
        else if (bufs[a].device != 0 && k->device_free != NULL) k->device_free(NULL, &bufs[a]);
    }
}

static convgen_status run(const convgen_kernel *kernel, const convgen_params *params, const convgen_tensor *input,
                          convgen_tensor *output) {
    convgen_status st = check_kernel(kernel, WHO);
    if (st != CONVGEN_OK) return st;
    if (params == NULL || input == NULL || output == NULL)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": %s is NULL (kernel %s)",
                         params == NULL ? "params" : input == NULL ? "input" : "output", kernel->key);
    if (!convgen_kernel_supported(kernel))
        return set_error(CONVGEN_ERROR_UNSUPPORTED_CPU, WHO ": this CPU cannot run kernel %s (target %s)", kernel->key,
                         kernel->target);
    if (params->kernel != kernel && strcmp(params->key, kernel->key) != 0)
        return set_error(CONVGEN_ERROR_PARAMS_MISMATCH, WHO ": params were prepared for kernel %s, not %s", params->key,
                         kernel->key);
    if (params->num_args != kernel->num_args) /* same key, different tables: would be a generator bug */
        return set_error(CONVGEN_ERROR_PARAMS_MISMATCH, WHO ": params have %d args, kernel %s takes %d",
                         params->num_args, kernel->key, kernel->num_args);
    const int cuda = is_cuda_target(kernel->target);
    const int resident = cuda && kernel->cuda != NULL; /* params on the device, CUDA tensors, graphs */
    const int recording = cuda_recording();
    if (recording && !cuda)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         WHO ": kernel %s (target %s) runs on the CPU; only CUDA kernels can be recorded into a graph",
                         kernel->key, kernel->target);
    if (recording && !resident)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s cannot be recorded into a graph: " OLD_TABLE,
                         kernel->key);
    int last = kernel->num_args - 1;
    if ((st = check_activation(kernel, "input", input, &kernel->args[0], cuda)) != CONVGEN_OK) return st;
    if ((st = check_activation(kernel, "output", output, &kernel->args[last], cuda)) != CONVGEN_OK) return st;

    install_error_handler(kernel->set_error_handler);
    if (resident) {
        if ((st = cuda_prepare(kernel, WHO)) != CONVGEN_OK) return st;
        if ((st = cuda_upload_params(params, WHO)) != CONVGEN_OK) return st;
    } else if (cuda) {
        cuda_load_driver(); /* Halide's runtime finds it through the process (see cuda.c) */
    }

    halide_buffer_t bufs[CONVGEN_MAX_ARGS];
    halide_dimension_t dims[CONVGEN_MAX_ARGS][CONVGEN_MAX_DIMS];
    void *argv[CONVGEN_MAX_ARGS];
    int wrapped[CONVGEN_MAX_ARGS] = {0};
    g_halide_message[0] = '\0';
    int rc = 0, n = 0; /* n: buffers described so far */
    for (int a = 0; a <= last && rc == 0; a++, n++) {
        const convgen_tensor *t = a == 0 ? input : a == last ? output : NULL;
        uint64_t device = t ? (t->device == CONVGEN_DEVICE_CUDA ? (uint64_t)(uintptr_t)t->data : 0)
                            : resident ? params->device[a] : 0;
        describe(&bufs[a], dims[a], &kernel->args[a], device ? NULL : t ? t->data : params->data[a]);
        argv[a] = &bufs[a];
        if (device != 0) {
            rc = kernel->cuda->wrap_device_ptr(NULL, &bufs[a], device);
            wrapped[a] = rc == 0;
        } else if (cuda && a != last) {
            bufs[a].flags = halide_buffer_flag_host_dirty; /* Halide copies it to the device */
        }
    }
    if (rc == 0 && recording) {
        if ((st = cuda_record_run(kernel, argv, &rc)) != CONVGEN_OK) {
            release_buffers(kernel, bufs, wrapped, n);
            return st;
        }
    } else if (rc == 0) {
        rc = kernel->argv_fn(argv);
    }
    /* A GPU pipeline leaves a host output's result on the device. */
    if (rc == 0 && bufs[last].device != 0 && !wrapped[last]) {
        rc = kernel->copy_to_host ? kernel->copy_to_host(NULL, &bufs[last]) : -1;
        if (rc != 0 && kernel->copy_to_host == NULL)
            snprintf(g_halide_message, sizeof g_halide_message,
                     "it left its output on the device and its registry entry has no halide_copy_to_host "
                     "(a registry from an older convgen: regenerate it)");
        if (rc == 0 && resident && (st = cuda_finish_host_copy(WHO)) != CONVGEN_OK) {
            release_buffers(kernel, bufs, wrapped, n);
            return st;
        }
    }
    release_buffers(kernel, bufs, wrapped, n);
    if (rc != 0) {
        const char *msg = g_halide_message[0] ? g_halide_message : "(no message on this thread)";
        if (is_no_device(rc, cuda, msg))
            return set_error(CONVGEN_ERROR_NO_DEVICE,
                             WHO ": kernel %s (target %s) needs a GPU: no CUDA driver or CUDA device was found "
                             "(Halide error %d: %s)",
                             kernel->key, kernel->target, rc, msg);
        return set_error(CONVGEN_ERROR_KERNEL, WHO ": kernel %s failed (Halide error %d)%s: %s%s", kernel->key, rc,
                         recording ? " while being recorded into a graph" : "", msg,
                         recording && strstr(msg, "cuMemAlloc") != NULL
                             ? " (it allocates a device buffer for an intermediate at every run, which a graph cannot "
                               "replay: run it with convgen_run)"
                             : "");
    }
    return CONVGEN_OK;
}

convgen_status convgen_run(const convgen_kernel *kernel, const convgen_params *params, const convgen_tensor *input,
                           convgen_tensor *output) {
    convgen_status st = run(kernel, params, input, output);
    if (st != CONVGEN_OK) cuda_recording_failed(st); /* a recording missing a run must not be launched */
    return st;
}
