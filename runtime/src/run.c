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
 * GPU kernels: Halide copies host inputs to the device itself; afterwards we copy the output back
 * and free every device copy (kernel->copy_to_host / device_free), and map "no CUDA driver or
 * device" failures to CONVGEN_ERROR_NO_DEVICE.
 */
#include <dlfcn.h>
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
/* Halide's CUDA runtime dlopens "libcuda.so" only, which many driver installs lack (they ship
 * libcuda.so.1; the unversioned name comes with development packages). Before looking, it asks
 * the process (dlsym(RTLD_DEFAULT)) for the driver's symbols, so loading the driver here with
 * RTLD_GLOBAL under either name makes both work without overriding halide_cuda_get_symbol. */
static pthread_once_t g_cuda_once = PTHREAD_ONCE_INIT;
static void load_cuda_driver(void) {
    if (dlopen("libcuda.so", RTLD_NOW | RTLD_GLOBAL) == NULL) dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
}

static int is_cuda_target(const char *target) {
    const char *p = strstr(target, "-cuda");
    return p != NULL && (p[5] == '\0' || p[5] == '-');
}

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
static convgen_status check_activation(const convgen_kernel *k, const char *what, const convgen_tensor *t,
                                       const convgen_arg_info *arg) {
    if (t->device != CONVGEN_DEVICE_HOST)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": %s has device %s (%d); only host tensors are supported",
                         what, t->device == CONVGEN_DEVICE_CUDA ? "CUDA" : "unknown", (int)t->device);
    if (t->data == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": %s data is NULL", what);
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

convgen_status convgen_run(const convgen_kernel *kernel, const convgen_params *params, const convgen_tensor *input,
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
    int last = kernel->num_args - 1;
    if ((st = check_activation(kernel, "input", input, &kernel->args[0])) != CONVGEN_OK) return st;
    if ((st = check_activation(kernel, "output", output, &kernel->args[last])) != CONVGEN_OK) return st;

    halide_buffer_t bufs[CONVGEN_MAX_ARGS];
    halide_dimension_t dims[CONVGEN_MAX_ARGS][CONVGEN_MAX_DIMS];
    void *argv[CONVGEN_MAX_ARGS];
    for (int a = 0; a <= last; a++) {
        void *data = a == 0 ? input->data : a == last ? output->data : params->data[a];
        describe(&bufs[a], dims[a], &kernel->args[a], data);
        argv[a] = &bufs[a];
    }

    install_error_handler(kernel->set_error_handler);
    const int cuda = is_cuda_target(kernel->target);
    if (cuda) pthread_once(&g_cuda_once, load_cuda_driver);
    g_halide_message[0] = '\0';
    int rc = kernel->argv_fn(argv);
    /* A GPU pipeline leaves its result on the device (and copies of its inputs there). */
    if (rc == 0 && bufs[last].device != 0) {
        rc = kernel->copy_to_host ? kernel->copy_to_host(NULL, &bufs[last]) : -1;
        if (rc != 0 && kernel->copy_to_host == NULL)
            snprintf(g_halide_message, sizeof g_halide_message,
                     "it left its output on the device and its registry entry has no halide_copy_to_host "
                     "(a registry from an older convgen: regenerate it)");
    }
    for (int a = 0; a <= last; a++)
        if (bufs[a].device != 0 && kernel->device_free != NULL) kernel->device_free(NULL, &bufs[a]);
    if (rc != 0) {
        const char *msg = g_halide_message[0] ? g_halide_message : "(no message on this thread)";
        if (is_no_device(rc, cuda, msg))
            return set_error(CONVGEN_ERROR_NO_DEVICE,
                             WHO ": kernel %s (target %s) needs a GPU: no CUDA driver or CUDA device was found "
                             "(Halide error %d: %s)",
                             kernel->key, kernel->target, rc, msg);
        return set_error(CONVGEN_ERROR_KERNEL, WHO ": kernel %s failed (Halide error %d): %s", kernel->key, rc, msg);
    }
    return CONVGEN_OK;
}
