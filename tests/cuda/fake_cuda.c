/* A fake CUDA driver for the runtime tests: see fake_cuda.h. Only the calls Halide's CUDA runtime
 * (its load_libcuda list: `strings` of a generated halide_runtime object) and runtime/src/cuda.c
 * make, with the signatures of cuda.h. One mutex serializes everything.
 */
#include "fake_cuda.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef uint64_t CUdeviceptr;

enum {
    OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_CONTEXT = 201, INVALID_HANDLE = 400,
    ILLEGAL_STATE = 401, NOT_FOUND = 500, NOT_SUPPORTED = 801, CAPTURE_UNSUPPORTED = 900,
    CAPTURE_INVALIDATED = 901, CAPTURE_IMPLICIT = 906,
};

typedef struct ctx { int primary; } ctx;
typedef struct function { int nparams; int size[32]; struct function *next; } function;
typedef struct module { char *ptx; function *functions; /* every lookup's, freed with the module */ } module;
typedef struct stream { int capturing, invalid; long kernels; pthread_t thread; } stream;
typedef struct graph { long kernels; } graph;
typedef struct alloc { uint8_t *base; size_t size; struct alloc *next; } alloc;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static fake_cuda_stats g_stats;
static ctx g_primary = {1};
static alloc *g_allocs;
static char g_fail_fn[64];
static int g_fail_code;
static _Thread_local ctx *t_ctx[16];
static _Thread_local int t_depth;
static _Thread_local stream *t_capturing; /* the stream this thread captures on, if any */

#define API __attribute__((visibility("default")))
#define ENTER(name)                                              \
    pthread_mutex_lock(&g_lock);                                 \
    if (g_fail_fn[0] && strcmp(g_fail_fn, name) == 0) {          \
        g_fail_fn[0] = '\0';                                     \
        int injected_ = g_fail_code;                             \
        pthread_mutex_unlock(&g_lock);                           \
        return injected_;                                        \
    }
#define RETURN(r)                   \
    do {                            \
        CUresult r_ = (r);          \
        pthread_mutex_unlock(&g_lock); \
        return r_;                  \
    } while (0)

API fake_cuda_stats *fake_cuda_get_stats(void) { return &g_stats; }
API void fake_cuda_fail_next(const char *function, int result) {
    pthread_mutex_lock(&g_lock);
    strncpy(g_fail_fn, function, sizeof g_fail_fn - 1);
    g_fail_code = result;
    pthread_mutex_unlock(&g_lock);
}

static int has_context(void) {
    if (t_depth > 0 && t_ctx[t_depth - 1] != NULL) return 1;
    g_stats.no_context_errors++;
    return 0;
}
/* An unsafe call by a thread that is capturing: the capture is invalidated. */
static int capture_forbids(void) {
    if (t_capturing == NULL) return 0;
    t_capturing->invalid = 1;
    g_stats.captures_invalidated++;
    return 1;
}
/* [p, p + n) inside one allocation. */
static int valid_range(CUdeviceptr p, size_t n) {
    for (alloc *a = g_allocs; a; a = a->next)
        if (p >= (CUdeviceptr)(uintptr_t)a->base && p + n <= (CUdeviceptr)(uintptr_t)(a->base + a->size)) return 1;
    return 0;
}

/* ---- init, devices, contexts ---- */
API CUresult cuInit(unsigned flags) {
    ENTER("cuInit");
    (void)flags;
    g_stats.inits++;
    const char *e = getenv("FAKE_CUDA_INIT_ERROR");
    RETURN(e ? atoi(e) : OK);
}
API CUresult cuDeviceGetCount(int *count) {
    ENTER("cuDeviceGetCount");
    const char *e = getenv("FAKE_CUDA_DEVICES");
    *count = e ? atoi(e) : 1;
    RETURN(OK);
}
API CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    ENTER("cuDeviceGet");
    *d = ordinal;
    RETURN(OK);
}
API CUresult cuDeviceGetAttribute(int *v, int attribute, CUdevice d) {
    ENTER("cuDeviceGetAttribute");
    (void)d;
    switch (attribute) {
    case 1: *v = 1024; break;  /* max threads per block */
    case 10: *v = 32; break;   /* warp size */
    case 16: *v = 132; break;  /* multiprocessors */
    case 75: *v = 9; break;    /* compute capability */
    case 76: *v = 0; break;
    default: *v = 1;
    }
    RETURN(OK);
}
API CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
    ENTER("cuDeviceGetName");
    (void)d;
    strncpy(name, "fake CUDA device", (size_t)len);
    if (len > 0) name[len - 1] = '\0';
    RETURN(OK);
}
API CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d) {
    ENTER("cuDeviceTotalMem_v2");
    (void)d;
    *bytes = (size_t)80 << 30;
    RETURN(OK);
}
API CUresult cuDevicePrimaryCtxRetain(void **c, CUdevice d) {
    ENTER("cuDevicePrimaryCtxRetain");
    (void)d;
    g_stats.primary_retains++;
    *c = &g_primary;
    RETURN(OK);
}
API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
    ENTER("cuDevicePrimaryCtxRelease_v2");
    (void)d;
    RETURN(OK);
}
API CUresult cuCtxCreate_v2(void **c, unsigned flags, CUdevice d) {
    ENTER("cuCtxCreate_v2");
    (void)flags, (void)d;
    ctx *x = calloc(1, sizeof *x);
    g_stats.contexts_created++;
    if (t_depth < 16) t_ctx[t_depth++] = x;
    *c = x;
    RETURN(OK);
}
API CUresult cuCtxDestroy_v2(void *c) {
    ENTER("cuCtxDestroy_v2");
    if (c != &g_primary) free(c);
    RETURN(OK);
}
API CUresult cuCtxPushCurrent_v2(void *c) {
    ENTER("cuCtxPushCurrent_v2");
    if (c == NULL || t_depth >= 16) RETURN(INVALID_VALUE);
    t_ctx[t_depth++] = c;
    RETURN(OK);
}
API CUresult cuCtxPopCurrent_v2(void **c) {
    ENTER("cuCtxPopCurrent_v2");
    if (t_depth == 0) RETURN(INVALID_CONTEXT);
    ctx *x = t_ctx[--t_depth];
    if (c) *c = x;
    RETURN(OK);
}
API CUresult cuCtxGetCurrent(void **c) {
    ENTER("cuCtxGetCurrent");
    *c = t_depth ? t_ctx[t_depth - 1] : NULL;
    RETURN(OK);
}
API CUresult cuCtxGetDevice(CUdevice *d) {
    ENTER("cuCtxGetDevice");
    *d = 0;
    RETURN(has_context() ? OK : INVALID_CONTEXT);
}
API CUresult cuCtxGetApiVersion(void *c, unsigned *v) {
    ENTER("cuCtxGetApiVersion");
    (void)c;
    *v = 12000;
    RETURN(OK);
}
API CUresult cuCtxSynchronize(void) {
    ENTER("cuCtxSynchronize");
    if (!has_context()) RETURN(INVALID_CONTEXT);
    if (capture_forbids()) RETURN(CAPTURE_UNSUPPORTED);
    g_stats.ctx_syncs++;
    RETURN(OK);
}
API CUresult cuProfilerStop(void) { return OK; }
API CUresult cuGetErrorName(CUresult e, const char **name) {
    switch (e) {
    case OK: *name = "CUDA_SUCCESS"; return OK;
    case INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return OK;
    case OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
    case INVALID_CONTEXT: *name = "CUDA_ERROR_INVALID_CONTEXT"; return OK;
    case NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return OK;
    case 700: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return OK;
    case 719: *name = "CUDA_ERROR_LAUNCH_FAILED"; return OK;
    case CAPTURE_UNSUPPORTED: *name = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"; return OK;
    case CAPTURE_INVALIDATED: *name = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"; return OK;
    case CAPTURE_IMPLICIT: *name = "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT"; return OK;
    }
    *name = NULL;
    return INVALID_VALUE;
}

/* ---- modules: the PTX is kept, so that a function's parameter sizes are known ---- */
static CUresult load_module(void **m, const void *image) {
    if (!has_context()) return INVALID_CONTEXT;
    if (capture_forbids()) return CAPTURE_UNSUPPORTED;
    if (image == NULL || strstr((const char *)image, ".entry") == NULL) return INVALID_VALUE; /* not PTX */
    module *x = calloc(1, sizeof *x);
    x->ptx = strdup((const char *)image);
    g_stats.module_loads++;
    *m = x;
    return OK;
}
API CUresult cuModuleLoadData(void **m, const void *image) {
    ENTER("cuModuleLoadData");
    RETURN(load_module(m, image));
}
API CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned n, void *options, void **values) {
    ENTER("cuModuleLoadDataEx");
    (void)n, (void)options, (void)values;
    RETURN(load_module(m, image));
}
API CUresult cuModuleUnload(void *m) {
    ENTER("cuModuleUnload");
    if (m) {
        for (function *f = ((module *)m)->functions, *next; f != NULL; f = next) next = f->next, free(f);
        free(((module *)m)->ptx), free(m);
    }
    RETURN(OK);
}
/* ".entry NAME(" then ".param .u64 ..." / ".param .f32 ..." up to ")". Functions live as long as
 * their module, as in the driver (Halide looks one up at every launch: a few bytes each). */
API CUresult cuModuleGetFunction(void **f, void *m, const char *name) {
    ENTER("cuModuleGetFunction");
    const char *ptx = ((module *)m)->ptx, *p = ptx;
    size_t len = strlen(name);
    while ((p = strstr(p, ".entry ")) != NULL) {
        p += 7;
        while (*p == ' ') p++;
        if (strncmp(p, name, len) == 0 && (p[len] == '(' || p[len] == ' ' || p[len] == '\n')) break;
    }
    if (p == NULL) RETURN(NOT_FOUND);
    function *fn = calloc(1, sizeof *fn);
    const char *end = strchr(p, ')');
    for (const char *q = strstr(p, ".param"); q != NULL && q < end && fn->nparams < 32; q = strstr(q + 6, ".param")) {
        const char *t = q + 6;
        while (*t == ' ' || *t == '\t') t++;
        fn->size[fn->nparams++] = t[2] == '6' && t[3] == '4' ? 8 : t[2] == '1' && t[3] == '6' ? 2 : t[2] == '8' ? 1 : 4;
    }
    fn->next = ((module *)m)->functions;
    ((module *)m)->functions = fn;
    *f = fn;
    RETURN(OK);
}
API CUresult cuModuleGetGlobal_v2(CUdeviceptr *p, size_t *bytes, void *m, const char *name) {
    (void)p, (void)bytes, (void)m, (void)name;
    return NOT_FOUND;
}

/* ---- memory ---- */
API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    ENTER("cuMemAlloc_v2");
    if (!has_context()) RETURN(INVALID_CONTEXT);
    if (capture_forbids()) RETURN(CAPTURE_UNSUPPORTED);
    alloc *a = malloc(sizeof *a);
    a->base = calloc(1, bytes ? bytes : 1), a->size = bytes, a->next = g_allocs;
    g_allocs = a;
    g_stats.allocs++, g_stats.live_allocs++;
    *p = (CUdeviceptr)(uintptr_t)a->base;
    RETURN(OK);
}
API CUresult cuMemFree_v2(CUdeviceptr p) {
    ENTER("cuMemFree_v2");
    if (!has_context()) RETURN(INVALID_CONTEXT);
    if (capture_forbids()) RETURN(CAPTURE_UNSUPPORTED);
    for (alloc **a = &g_allocs; *a; a = &(*a)->next)
        if ((CUdeviceptr)(uintptr_t)(*a)->base == p) {
            alloc *dead = *a;
            *a = dead->next;
            free(dead->base), free(dead);
            g_stats.frees++, g_stats.live_allocs--;
            RETURN(OK);
        }
    RETURN(INVALID_VALUE);
}
/* A copy; `s` is NULL for the synchronous calls. */
static CUresult copy(void *dst, const void *src, size_t n, CUdeviceptr dev, stream *s, long *count, long *bytes) {
    if (!has_context()) return INVALID_CONTEXT;
    if (!valid_range(dev, n)) return INVALID_VALUE;
    if (s != NULL && s->capturing) {
        g_stats.captured_copies++;
        return OK;
    }
    if (capture_forbids()) return CAPTURE_UNSUPPORTED; /* synchronous, or on another stream */
    memcpy(dst, src, n);
    if (count) (*count)++, *bytes += (long)n;
    return OK;
}
API CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *h, size_t n) {
    ENTER("cuMemcpyHtoD_v2");
    RETURN(copy((void *)(uintptr_t)d, h, n, d, NULL, &g_stats.htod_copies, &g_stats.htod_bytes));
}
API CUresult cuMemcpyDtoH_v2(void *h, CUdeviceptr d, size_t n) {
    ENTER("cuMemcpyDtoH_v2");
    RETURN(copy(h, (const void *)(uintptr_t)d, n, d, NULL, &g_stats.dtoh_copies, &g_stats.dtoh_bytes));
}
API CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) {
    ENTER("cuMemcpyDtoD_v2");
    g_stats.dtod_copies++;
    RETURN(valid_range(s, n) ? copy((void *)(uintptr_t)d, (const void *)(uintptr_t)s, n, d, NULL, NULL, NULL)
                             : INVALID_VALUE);
}
API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, void *s) {
    ENTER("cuMemcpyHtoDAsync_v2");
    RETURN(copy((void *)(uintptr_t)d, h, n, d, s, &g_stats.htod_copies, &g_stats.htod_bytes));
}
API CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, void *s) {
    ENTER("cuMemcpyDtoHAsync_v2");
    RETURN(copy(h, (const void *)(uintptr_t)d, n, d, s, &g_stats.dtoh_copies, &g_stats.dtoh_bytes));
}
API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void *st) {
    ENTER("cuMemcpyDtoDAsync_v2");
    g_stats.dtod_copies++;
    RETURN(valid_range(s, n) ? copy((void *)(uintptr_t)d, (const void *)(uintptr_t)s, n, d, st, NULL, NULL)
                             : INVALID_VALUE);
}
API CUresult cuMemcpy3D_v2(const void *desc) {
    ENTER("cuMemcpy3D_v2");
    (void)desc;
    g_stats.unsupported_calls++;
    RETURN(NOT_SUPPORTED);
}
API CUresult cuPointerGetAttribute(void *v, int attribute, CUdeviceptr p) {
    ENTER("cuPointerGetAttribute");
    (void)v, (void)attribute, (void)p;
    g_stats.unsupported_calls++;
    RETURN(NOT_SUPPORTED);
}

/* ---- launches ---- */
API CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                            unsigned shared, void *s, void **params, void **extra) {
    ENTER("cuLaunchKernel");
    (void)shared, (void)extra;
    if (!has_context()) RETURN(INVALID_CONTEXT);
    function *fn = f;
    if (fn == NULL || gx * gy * gz == 0 || bx * by * bz == 0 || bx * by * bz > 1024) RETURN(INVALID_VALUE);
    stream *st = s;
    if (st == NULL && capture_forbids()) RETURN(CAPTURE_IMPLICIT); /* the legacy stream, while capturing */
    g_stats.last_launch_u64_count = 0;
    for (int i = 0; i < fn->nparams; i++) {
        if (params == NULL || params[i] == NULL) RETURN(INVALID_VALUE);
        if (fn->size[i] == 8 && g_stats.last_launch_u64_count < 16)
            memcpy(&g_stats.last_launch_u64[g_stats.last_launch_u64_count++], params[i], 8);
    }
    if (st != NULL && st->capturing) st->kernels++, g_stats.captured_launches++;
    else g_stats.launches++;
    RETURN(OK);
}

/* ---- streams and capture ---- */
API CUresult cuStreamCreate(void **s, unsigned flags) {
    ENTER("cuStreamCreate");
    (void)flags;
    if (!has_context()) RETURN(INVALID_CONTEXT);
    *s = calloc(1, sizeof(stream));
    g_stats.streams_live++;
    RETURN(OK);
}
API CUresult cuStreamDestroy_v2(void *s) {
    ENTER("cuStreamDestroy_v2");
    if (s == NULL || ((stream *)s)->capturing) RETURN(INVALID_HANDLE);
    free(s);
    g_stats.streams_live--;
    RETURN(OK);
}
API CUresult cuStreamSynchronize(void *s) {
    ENTER("cuStreamSynchronize");
    if (s != NULL && ((stream *)s)->capturing) {
        ((stream *)s)->invalid = 1;
        g_stats.captures_invalidated++;
        RETURN(CAPTURE_UNSUPPORTED);
    }
    if (capture_forbids()) RETURN(CAPTURE_UNSUPPORTED);
    g_stats.stream_syncs++;
    RETURN(OK);
}
API CUresult cuStreamBeginCapture_v2(void *s, int mode) {
    ENTER("cuStreamBeginCapture_v2");
    stream *st = s;
    if (st == NULL || st->capturing || t_capturing != NULL || mode != 1 /* thread-local */) RETURN(ILLEGAL_STATE);
    st->capturing = 1, st->invalid = 0, st->kernels = 0, st->thread = pthread_self();
    t_capturing = st;
    g_stats.captures_begun++;
    RETURN(OK);
}
API CUresult cuStreamEndCapture(void *s, void **g) {
    ENTER("cuStreamEndCapture");
    stream *st = s;
    *g = NULL;
    if (st == NULL || !st->capturing || !pthread_equal(st->thread, pthread_self())) RETURN(ILLEGAL_STATE);
    st->capturing = 0;
    t_capturing = NULL;
    if (st->invalid) RETURN(CAPTURE_INVALIDATED);
    graph *x = calloc(1, sizeof *x);
    x->kernels = st->kernels;
    g_stats.graphs_live++;
    *g = x;
    RETURN(OK);
}

/* ---- graphs: a graph is its kernel count ---- */
API CUresult cuGraphCreate(void **g, unsigned flags) {
    ENTER("cuGraphCreate");
    (void)flags;
    *g = calloc(1, sizeof(graph));
    g_stats.graphs_live++;
    RETURN(OK);
}
API CUresult cuGraphAddChildGraphNode(void **node, void *parent, void *const *deps, size_t ndeps, void *child) {
    ENTER("cuGraphAddChildGraphNode");
    if (parent == NULL || child == NULL || (ndeps > 0 && (deps == NULL || deps[0] == NULL))) RETURN(INVALID_VALUE);
    ((graph *)parent)->kernels += ((graph *)child)->kernels;
    static long nodes;
    *node = (void *)(uintptr_t)++nodes;
    RETURN(OK);
}
API CUresult cuGraphDestroy(void *g) {
    ENTER("cuGraphDestroy");
    free(g);
    g_stats.graphs_live--;
    RETURN(OK);
}
API CUresult cuGraphInstantiateWithFlags(void **exec, void *g, unsigned long long flags) {
    ENTER("cuGraphInstantiateWithFlags");
    (void)flags;
    if (!has_context()) RETURN(INVALID_CONTEXT);
    graph *x = malloc(sizeof *x);
    *x = *(graph *)g;
    g_stats.execs_live++;
    *exec = x;
    RETURN(OK);
}
API CUresult cuGraphLaunch(void *exec, void *s) {
    ENTER("cuGraphLaunch");
    (void)s;
    if (!has_context()) RETURN(INVALID_CONTEXT);
    g_stats.graph_launches++;
    g_stats.graph_kernels += ((graph *)exec)->kernels;
    RETURN(OK);
}
API CUresult cuGraphExecDestroy(void *exec) {
    ENTER("cuGraphExecDestroy");
    free(exec);
    g_stats.execs_live--;
    RETURN(OK);
}
