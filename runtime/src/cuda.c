/* The CUDA side of the runtime: the driver, one context, Halide's context and stream hooks,
 * parameters resident on the device, and CUDA graphs of recorded runs.
 *
 * Entry points: convgen_params_upload, convgen_cuda_set_stream, convgen_cuda_synchronize,
 * convgen_graph_begin/end/launch/size/free, and the cuda_*() functions of internal.h.
 *
 * Driver: dlopen'd as libcuda.so.1 (the driver's own name), else libcuda.so, with RTLD_GLOBAL:
 * Halide's CUDA runtime looks its symbols up in the process first, so it then uses the same
 * library whatever name it would have tried. Every entry point is found with dlsym; nothing links
 * against CUDA. The graph entry points are optional (a driver without them fails graph calls only).
 *
 * Context: the primary context of device 0, retained once at the first run (the context the CUDA
 * runtime API uses, so device pointers from cudaMalloc/PyTorch are valid in it). Each driver call
 * made here pushes it and pops it again, leaving the caller's current context alone.
 *
 * Hooks: a CUDA kernel's registry entry carries its Halide runtime's halide_set_cuda_* setters
 * (kernel->cuda). At the first run of a kernel from a runtime we install, once per runtime,
 * acquire_context (our context), release_context (nothing to do) and get_stream (the capture stream
 * while a run is being recorded, else this thread's stream). Halide then runs on them: no context of
 * its own, no per-call context creation.
 *
 * Graphs: each recorded run is captured on its own (cuStreamBeginCapture, thread-local mode) into a
 * small graph that becomes a child node of the recording's graph, after the previous one. Between
 * two captures this thread may allocate and load modules again, so the parameters are uploaded
 * before each capture and, the first time a kernel is recorded, it runs once for real on the
 * caller's stream (Halide loads its module then, not during the capture). Captures happen on a
 * stream of this thread's that is used for nothing else and never destroyed (a pthread key frees it
 * when the thread ends). That matters for pipelines that allocate a device buffer for an
 * intermediate at every run: Halide's allocation cache is keyed by stream, so on this stream it
 * never holds anything, every allocation in a captured run goes to the driver, and the driver
 * refuses allocations during a capture: the recording fails with that message instead of baking a
 * buffer that Halide considers free (and may hand out again) into the graph.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <HalideRuntime.h>

#include "internal.h"

/* The few driver types we touch, as the driver's ABI has them. */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext, *CUstream, *CUgraph, *CUgraphExec, *CUgraphNode;
typedef uint64_t CUdeviceptr;
enum { CU_OUT_OF_MEMORY = 2, CU_STREAM_NON_BLOCKING = 1, CU_CAPTURE_THREAD_LOCAL = 1 };

static struct {
    CUresult (*Init)(unsigned flags);
    CUresult (*DeviceGetCount)(int *count);
    CUresult (*DeviceGet)(CUdevice *device, int ordinal);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
    CUresult (*CtxPushCurrent)(CUcontext context);
    CUresult (*CtxPopCurrent)(CUcontext *context);
    CUresult (*CtxSynchronize)(void);
    CUresult (*MemAlloc)(CUdeviceptr *ptr, size_t bytes);
    CUresult (*MemFree)(CUdeviceptr ptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr dst, const void *src, size_t bytes);
    CUresult (*StreamSynchronize)(CUstream stream);
    CUresult (*GetErrorName)(CUresult error, const char **name);
    /* graphs */
    CUresult (*StreamCreate)(CUstream *stream, unsigned flags);
    CUresult (*StreamDestroy)(CUstream stream);
    CUresult (*StreamBeginCapture)(CUstream stream, int mode);
    CUresult (*StreamEndCapture)(CUstream stream, CUgraph *graph);
    CUresult (*GraphCreate)(CUgraph *graph, unsigned flags);
    CUresult (*GraphAddChildGraphNode)(CUgraphNode *node, CUgraph graph, const CUgraphNode *deps, size_t ndeps,
                                       CUgraph child);
    CUresult (*GraphInstantiate)(CUgraphExec *exec, CUgraph graph, unsigned long long flags);
    CUresult (*GraphLaunch)(CUgraphExec exec, CUstream stream);
    CUresult (*GraphExecDestroy)(CUgraphExec exec);
    CUresult (*GraphDestroy)(CUgraph graph);
} cu;

/* 2: required; 1: graphs; 0: nice to have. */
static const struct { const char *name; void **slot; int need; } k_symbols[] = {
    {"cuInit", (void **)&cu.Init, 2},
    {"cuDeviceGetCount", (void **)&cu.DeviceGetCount, 2},
    {"cuDeviceGet", (void **)&cu.DeviceGet, 2},
    {"cuDevicePrimaryCtxRetain", (void **)&cu.DevicePrimaryCtxRetain, 2},
    {"cuCtxPushCurrent_v2", (void **)&cu.CtxPushCurrent, 2},
    {"cuCtxPopCurrent_v2", (void **)&cu.CtxPopCurrent, 2},
    {"cuCtxSynchronize", (void **)&cu.CtxSynchronize, 2},
    {"cuMemAlloc_v2", (void **)&cu.MemAlloc, 2},
    {"cuMemFree_v2", (void **)&cu.MemFree, 2},
    {"cuMemcpyHtoD_v2", (void **)&cu.MemcpyHtoD, 2},
    {"cuStreamSynchronize", (void **)&cu.StreamSynchronize, 2},
    {"cuGetErrorName", (void **)&cu.GetErrorName, 0},
    {"cuStreamCreate", (void **)&cu.StreamCreate, 1},
    {"cuStreamDestroy_v2", (void **)&cu.StreamDestroy, 1},
    {"cuStreamBeginCapture_v2", (void **)&cu.StreamBeginCapture, 1},
    {"cuStreamEndCapture", (void **)&cu.StreamEndCapture, 1},
    {"cuGraphCreate", (void **)&cu.GraphCreate, 1},
    {"cuGraphAddChildGraphNode", (void **)&cu.GraphAddChildGraphNode, 1},
    {"cuGraphInstantiateWithFlags", (void **)&cu.GraphInstantiate, 1},
    {"cuGraphLaunch", (void **)&cu.GraphLaunch, 1},
    {"cuGraphExecDestroy", (void **)&cu.GraphExecDestroy, 1},
    {"cuGraphDestroy", (void **)&cu.GraphDestroy, 1},
};

/* "CUDA_ERROR_OUT_OF_MEMORY (2)" in a per-thread buffer; the driver names it, else (a stub
 * library, say) the few that say what is wrong with the machine are named here. */
static const char *err_name(CUresult r) {
    static _Thread_local char buf[96];
    const char *name = NULL;
    if (cu.GetErrorName == NULL || cu.GetErrorName(r, &name) != 0 || name == NULL)
        name = r == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : r == 3 ? "CUDA_ERROR_NOT_INITIALIZED" : r == 34 ? "CUDA_ERROR_STUB_LIBRARY"
             : r == 35 ? "CUDA_ERROR_INSUFFICIENT_DRIVER" : r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA error";
    snprintf(buf, sizeof buf, "%s (%d)", name, r);
    return buf;
}

int is_cuda_target(const char *target) {
    for (const char *p = strstr(target, "-cuda"); p != NULL; p = strstr(p + 1, "-cuda"))
        if (p[5] == '\0' || p[5] == '-') return 1;
    return 0;
}

/* ---- stage 1: the driver (no context) ---- */
static pthread_once_t g_driver_once = PTHREAD_ONCE_INIT;
static convgen_status g_driver_status = CONVGEN_ERROR_NO_DEVICE;
static char g_driver_error[512] = "the CUDA driver was not loaded";
static int g_graphs_ok; /* every graph entry point found */

static void load_driver(void) {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    char first[200] = "";
    if (lib == NULL) {
        snprintf(first, sizeof first, "%s", dlerror());
        lib = dlopen("libcuda.so", RTLD_NOW | RTLD_GLOBAL);
    }
    if (lib == NULL) {
        snprintf(g_driver_error, sizeof g_driver_error, "no CUDA driver was found (%s; %s)", first, dlerror());
        return;
    }
    g_graphs_ok = 1;
    for (size_t i = 0; i < sizeof k_symbols / sizeof k_symbols[0]; i++) {
        *k_symbols[i].slot = dlsym(lib, k_symbols[i].name);
        if (*k_symbols[i].slot == NULL && k_symbols[i].need == 1) g_graphs_ok = 0;
        if (*k_symbols[i].slot == NULL && k_symbols[i].need == 2) {
            snprintf(g_driver_error, sizeof g_driver_error, "the CUDA driver has no %s (too old?)", k_symbols[i].name);
            return;
        }
    }
    CUresult r = cu.Init(0);
    int count = 0;
    if (r != 0) snprintf(g_driver_error, sizeof g_driver_error, "no CUDA device was found: cuInit failed: %s", err_name(r));
    else if ((r = cu.DeviceGetCount(&count)) != 0)
        snprintf(g_driver_error, sizeof g_driver_error, "no CUDA device was found: cuDeviceGetCount failed: %s",
                 err_name(r));
    else if (count <= 0) snprintf(g_driver_error, sizeof g_driver_error, "no CUDA device was found (the driver reports 0)");
    else g_driver_status = CONVGEN_OK;
}

void cuda_load_driver(void) { pthread_once(&g_driver_once, load_driver); }

int cuda_device_present(void) {
    cuda_load_driver();
    return g_driver_status == CONVGEN_OK;
}

/* ---- stage 2: the context ---- */
static pthread_once_t g_context_once = PTHREAD_ONCE_INIT;
static convgen_status g_context_status = CONVGEN_ERROR_NO_DEVICE;
static char g_context_error[512] = "";
static CUcontext g_context;
static atomic_int g_context_ready;

static void make_context(void) {
    cuda_load_driver();
    if (g_driver_status != CONVGEN_OK) {
        snprintf(g_context_error, sizeof g_context_error, "%s", g_driver_error);
        return;
    }
    CUdevice dev = 0;
    CUresult r = cu.DeviceGet(&dev, 0);
    if (r == 0) r = cu.DevicePrimaryCtxRetain(&g_context, dev);
    if (r != 0) {
        snprintf(g_context_error, sizeof g_context_error, "no usable CUDA device: the primary context of device 0: %s",
                 err_name(r));
        return;
    }
    g_context_status = CONVGEN_OK;
    atomic_store(&g_context_ready, 1);
}

/* CONVGEN_OK with the context made, else the status with "<who>: <reason>" set. */
static convgen_status context_ready(const char *who) {
    pthread_once(&g_context_once, make_context);
    if (g_context_status != CONVGEN_OK) return set_error(g_context_status, "%s: %s", who, g_context_error);
    return CONVGEN_OK;
}

/* Driver calls made here run with our context current; push/pop keep the caller's. */
static CUresult push(void) { return cu.CtxPushCurrent(g_context); }
static void pop(void) {
    CUcontext old;
    cu.CtxPopCurrent(&old);
}
/* cuStreamSynchronize with our context current. */
static CUresult sync_stream(CUstream stream) {
    CUresult r = push();
    if (r != 0) return r;
    r = cu.StreamSynchronize(stream);
    pop();
    return r;
}

/* ---- Halide hooks ---- */
static _Thread_local CUstream t_stream;  /* convgen_cuda_set_stream */
static _Thread_local CUstream t_capture; /* non-NULL while a recorded run is being captured */

static int hook_acquire_context(void *user_context, void **context, bool create) {
    (void)user_context;
    if (!create && !atomic_load(&g_context_ready)) {
        *context = NULL;
        return halide_error_code_success;
    }
    if (context_ready("CUDA") != CONVGEN_OK) return halide_error_code_generic_error;
    *context = g_context;
    return halide_error_code_success;
}
static int hook_release_context(void *user_context) {
    (void)user_context;
    return halide_error_code_success;
}
static int hook_get_stream(void *user_context, void *context, void **stream) {
    (void)user_context, (void)context;
    *stream = t_capture != NULL ? t_capture : t_stream;
    return halide_error_code_success;
}

enum { MAX_RUNTIMES = 8 }; /* one Halide runtime per architecture */
static const convgen_cuda_runtime *g_hooked[MAX_RUNTIMES];
static atomic_int g_hooked_count;
static pthread_mutex_t g_hook_lock = PTHREAD_MUTEX_INITIALIZER;

/* A runtime is known by its setters' address (every table of one bundle shares that runtime). */
static int hooked(const convgen_cuda_runtime *rt) {
    int n = atomic_load(&g_hooked_count);
    for (int i = 0; i < n; i++)
        if (g_hooked[i]->set_get_stream == rt->set_get_stream) return 1;
    return 0;
}

convgen_status cuda_prepare(const convgen_kernel *k, const char *who) {
    const convgen_cuda_runtime *rt = k->cuda;
    if (context_ready(who) != CONVGEN_OK)
        return set_error(g_context_status, "%s: kernel %s (target %s) needs a GPU: %s", who, k->key, k->target,
                         g_context_error);
    if (rt->wrap_device_ptr == NULL || rt->detach_device_ptr == NULL || rt->set_acquire_context == NULL ||
        rt->set_release_context == NULL || rt->set_get_stream == NULL)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "%s: kernel %s has an incomplete convgen_cuda_runtime (NULL entry)",
                         who, k->key);
    if (hooked(rt)) return CONVGEN_OK;
    pthread_mutex_lock(&g_hook_lock);
    if (!hooked(rt)) {
        rt->set_acquire_context(hook_acquire_context);
        rt->set_release_context(hook_release_context);
        rt->set_get_stream(hook_get_stream);
        int n = atomic_load(&g_hooked_count);
        if (n < MAX_RUNTIMES) { /* when full we reinstall each run: harmless */
            g_hooked[n] = rt;
            atomic_store(&g_hooked_count, n + 1);
        }
    }
    pthread_mutex_unlock(&g_hook_lock);
    return CONVGEN_OK;
}

convgen_status cuda_finish_host_copy(const char *who) {
    if (t_stream == NULL) return CONVGEN_OK; /* Halide copied synchronously (legacy stream) */
    CUresult r = sync_stream(t_stream);
    if (r != 0) return set_error(CONVGEN_ERROR_KERNEL, "%s: waiting for the output copy: %s", who, err_name(r));
    return CONVGEN_OK;
}

/* ---- resident parameters ---- */
static size_t arg_bytes(const convgen_arg_info *a) {
    size_t n = sizeof(float);
    for (int d = 0; d < a->ndim; d++) n *= (size_t)a->shape[d];
    return n;
}

static void free_device(convgen_params *p) {
    for (int a = 0; a < p->num_args; a++)
        if (p->device[a] != 0) cu.MemFree(p->device[a]), p->device[a] = 0;
}

convgen_status cuda_upload_params(const convgen_params *cp, const char *who) {
    convgen_params *p = (convgen_params *)cp; /* the device copy is the one thing that changes */
    if (atomic_load_explicit(&p->on_device, memory_order_acquire)) return CONVGEN_OK;
    convgen_status st = context_ready(who);
    if (st != CONVGEN_OK) return st;
    pthread_mutex_lock(&p->device_lock);
    char what[160] = "";
    CUresult r = 0;
    if (!atomic_load(&p->on_device) && (r = push()) == 0) {
        for (int a = 1; r == 0 && a < p->num_args - 1; a++) {
            size_t bytes = arg_bytes(&p->kernel->args[a]);
            snprintf(what, sizeof what, "copying parameter \"%s\" (%zu bytes)", p->kernel->args[a].name, bytes);
            if ((r = cu.MemAlloc(&p->device[a], bytes)) != 0) p->device[a] = 0;
            else r = cu.MemcpyHtoD(p->device[a], p->data[a], bytes);
        }
        /* The copies ran on the legacy stream: make them visible to work on any other stream. */
        if (r == 0) {
            snprintf(what, sizeof what, "synchronizing after copying the parameters");
            r = cu.CtxSynchronize();
        }
        if (r != 0) free_device(p);
        pop();
        if (r == 0) atomic_store_explicit(&p->on_device, 1, memory_order_release);
    }
    pthread_mutex_unlock(&p->device_lock);
    if (r != 0)
        return set_error(r == CU_OUT_OF_MEMORY ? CONVGEN_ERROR_OUT_OF_MEMORY : CONVGEN_ERROR_KERNEL,
                         "%s: kernel %s: %s to the device: %s", who, p->key, what[0] ? what : "cuCtxPushCurrent",
                         err_name(r));
    return CONVGEN_OK;
}

void cuda_free_params(convgen_params *p) {
    if (!atomic_load(&p->on_device)) return;
    if (push() == 0) {
        free_device(p);
        pop();
    }
    atomic_store(&p->on_device, 0);
}

convgen_status convgen_params_upload(const convgen_params *params) {
    if (params == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "convgen_params_upload: params is NULL");
    const convgen_kernel *k = params->kernel;
    if (!is_cuda_target(k->target))
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         "convgen_params_upload: params are for kernel %s (target %s), a CPU kernel: nothing to upload",
                         params->key, k->target);
    if (k->cuda == NULL)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         "convgen_params_upload: kernel %s has no CUDA runtime functions in its registry entry (a "
                         "registry from an older convgen: regenerate it); it copies its parameters at every run",
                         params->key);
    return cuda_upload_params(params, "convgen_params_upload");
}

/* ---- streams ---- */
convgen_status convgen_cuda_set_stream(void *stream) {
    t_stream = stream;
    return CONVGEN_OK;
}

convgen_status convgen_cuda_synchronize(void) {
    convgen_status st = context_ready("convgen_cuda_synchronize");
    if (st != CONVGEN_OK) return st;
    CUresult r = sync_stream(t_stream);
    if (r != 0)
        return set_error(CONVGEN_ERROR_KERNEL, "convgen_cuda_synchronize: cuStreamSynchronize failed: %s", err_name(r));
    return CONVGEN_OK;
}

/* ---- graphs ---- */
struct convgen_graph {
    CUgraphExec exec;
    int runs;
};

/* This thread's capture stream (see the top of the file), made by its first convgen_graph_begin. */
static _Thread_local CUstream t_capture_stream;
static pthread_key_t g_stream_key;
static pthread_once_t g_stream_key_once = PTHREAD_ONCE_INIT;
static void destroy_capture_stream(void *stream) {
    if (push() == 0) {
        cu.StreamDestroy(stream);
        pop();
    }
}
static void make_stream_key(void) { pthread_key_create(&g_stream_key, destroy_capture_stream); }

/* This thread's recording. */
static _Thread_local struct {
    int active, runs;
    CUgraph graph;
    CUgraphNode last;
    convgen_status failed;
    char error[1024];
} t_rec;

/* Kernels (by argv_fn) that ran once as a recording's warm-up: their module is loaded. */
static int (**g_warm)(void **);
static int g_warm_count, g_warm_capacity;
static pthread_mutex_t g_warm_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_warm(int (*fn)(void **)) {
    pthread_mutex_lock(&g_warm_lock);
    int found = 0;
    for (int i = 0; i < g_warm_count && !found; i++) found = g_warm[i] == fn;
    pthread_mutex_unlock(&g_warm_lock);
    return found;
}
static void set_warm(int (*fn)(void **)) {
    pthread_mutex_lock(&g_warm_lock);
    if (g_warm_count == g_warm_capacity) {
        int cap = g_warm_capacity ? 2 * g_warm_capacity : 16;
        int (**grown)(void **) = realloc(g_warm, (size_t)cap * sizeof *grown);
        if (grown != NULL) g_warm = grown, g_warm_capacity = cap;
    }
    if (g_warm_count < g_warm_capacity) g_warm[g_warm_count++] = fn; /* else: warm up again next time */
    pthread_mutex_unlock(&g_warm_lock);
}

int cuda_recording(void) { return t_rec.active; }

void cuda_recording_failed(convgen_status status) {
    if (!t_rec.active || t_rec.failed != CONVGEN_OK) return; /* keep the first failure */
    t_rec.failed = status;
    snprintf(t_rec.error, sizeof t_rec.error, "%s", convgen_last_error());
}

convgen_status convgen_graph_begin(void) {
#define WHO "convgen_graph_begin"
    if (t_rec.active)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": this thread is already recording (call convgen_graph_end)");
    convgen_status st = context_ready(WHO);
    if (st != CONVGEN_OK) return st;
    if (!g_graphs_ok)
        return set_error(CONVGEN_ERROR_NO_DEVICE,
                         WHO ": the CUDA driver lacks the graph functions (cuStreamBeginCapture_v2, "
                         "cuGraphInstantiateWithFlags, ...: CUDA 11.4 or newer)");
    CUgraph graph = NULL;
    CUresult r = push();
    if (r == 0) {
        if (t_capture_stream == NULL && (r = cu.StreamCreate(&t_capture_stream, CU_STREAM_NON_BLOCKING)) == 0) {
            pthread_once(&g_stream_key_once, make_stream_key);
            pthread_setspecific(g_stream_key, t_capture_stream);
        }
        if (r == 0) r = cu.GraphCreate(&graph, 0);
        pop();
    }
    if (r != 0) return set_error(CONVGEN_ERROR_KERNEL, WHO ": creating the capture stream and graph: %s", err_name(r));
    memset(&t_rec, 0, sizeof t_rec);
    t_rec.active = 1, t_rec.graph = graph;
    return CONVGEN_OK;
#undef WHO
}

convgen_status cuda_record_run(const convgen_kernel *k, void **argv, int *rc) {
#define WHO "convgen_run"
    *rc = 0;
    CUresult r = 0;
    if (!is_warm(k->argv_fn)) {
        /* Run once outside any capture (Halide loads the module), on the caller's stream. */
        uint64_t flags[CONVGEN_MAX_ARGS];
        for (int a = 0; a < k->num_args; a++) flags[a] = ((halide_buffer_t *)argv[a])->flags;
        *rc = k->argv_fn(argv);
        for (int a = 0; a < k->num_args; a++) ((halide_buffer_t *)argv[a])->flags = flags[a];
        if (*rc != 0) return CONVGEN_OK; /* the caller reports the pipeline's error */
        if ((r = sync_stream(t_stream)) != 0)
            return set_error(CONVGEN_ERROR_KERNEL, WHO ": kernel %s: its warm-up run before recording failed: %s", k->key,
                             err_name(r));
        set_warm(k->argv_fn);
    }
    if ((r = push()) != 0) return set_error(CONVGEN_ERROR_KERNEL, WHO ": cuCtxPushCurrent failed: %s", err_name(r));
    if ((r = cu.StreamBeginCapture(t_capture_stream, CU_CAPTURE_THREAD_LOCAL)) != 0) {
        pop();
        return set_error(CONVGEN_ERROR_KERNEL, WHO ": kernel %s: cuStreamBeginCapture failed: %s", k->key, err_name(r));
    }
    t_capture = t_capture_stream;
    *rc = k->argv_fn(argv);
    t_capture = NULL;
    CUgraph child = NULL;
    r = cu.StreamEndCapture(t_capture_stream, &child);
    CUgraphNode node = NULL;
    if (*rc == 0 && r == 0 && child != NULL)
        r = cu.GraphAddChildGraphNode(&node, t_rec.graph, t_rec.last ? &t_rec.last : NULL, t_rec.last ? 1 : 0, child);
    if (child != NULL) cu.GraphDestroy(child); /* the node holds its own copy */
    pop();
    if (*rc != 0) return CONVGEN_OK;
    if (r != 0 || child == NULL)
        return set_error(CONVGEN_ERROR_KERNEL,
                         WHO ": kernel %s could not be recorded: %s (a pipeline that allocates device memory or "
                         "synchronizes during a run cannot be captured)",
                         k->key, r != 0 ? err_name(r) : "the capture produced no graph");
    t_rec.last = node;
    t_rec.runs++;
    return CONVGEN_OK;
#undef WHO
}

convgen_status convgen_graph_end(convgen_graph **out) {
#define WHO "convgen_graph_end"
    if (out == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": out is NULL");
    *out = NULL;
    if (!t_rec.active)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": this thread is not recording (call convgen_graph_begin)");
    t_rec.active = 0; /* the recording ends here whatever happens below */
    convgen_status st = CONVGEN_OK;
    CUgraphExec exec = NULL;
    CUresult r = push();
    if (r != 0) st = set_error(CONVGEN_ERROR_KERNEL, WHO ": cuCtxPushCurrent failed: %s", err_name(r));
    else {
        if (t_rec.failed != CONVGEN_OK) st = set_error(t_rec.failed, WHO ": the recording failed: %s", t_rec.error);
        else if (t_rec.runs == 0) st = set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": nothing was recorded");
        else if ((r = cu.GraphInstantiate(&exec, t_rec.graph, 0)) != 0)
            st = set_error(CONVGEN_ERROR_KERNEL, WHO ": cuGraphInstantiate failed: %s", err_name(r));
        else if ((*out = malloc(sizeof **out)) == NULL) {
            cu.GraphExecDestroy(exec);
            st = set_error(CONVGEN_ERROR_OUT_OF_MEMORY, WHO ": out of memory");
        } else {
            (*out)->exec = exec;
            (*out)->runs = t_rec.runs;
        }
        cu.GraphDestroy(t_rec.graph);
        pop();
    }
    memset(&t_rec, 0, sizeof t_rec);
    return st;
#undef WHO
}

convgen_status convgen_graph_launch(const convgen_graph *graph) {
    if (graph == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "convgen_graph_launch: graph is NULL");
    CUresult r = push();
    if (r == 0) {
        r = cu.GraphLaunch(graph->exec, t_stream);
        pop();
    }
    if (r != 0) return set_error(CONVGEN_ERROR_KERNEL, "convgen_graph_launch: cuGraphLaunch failed: %s", err_name(r));
    return CONVGEN_OK;
}

int convgen_graph_size(const convgen_graph *graph) { return graph ? graph->runs : 0; }

void convgen_graph_free(convgen_graph *graph) {
    if (graph == NULL) return;
    if (push() == 0) {
        cu.GraphExecDestroy(graph->exec);
        pop();
    }
    free(graph);
}
