/* convgen runtime: the C ABI that runs kernels emitted by `convgen generate`.
 *
 * A program links the generated kernels (their objects, one Halide runtime per architecture and
 * the generated registry source convgen_registry.c) and this library, then:
 *
 *   const convgen_kernel *k = convgen_find_kernel("conv_f32_n1c3h8w8_o4_k3s1p1d1_none_nchw__x86_avx2");
 *   convgen_params *p;
 *   convgen_prepare_params(k, named_weights, count, 1e-5f, &p);  // once: pack, fold BN
 *   convgen_run(k, p, &input, &output);                          // many times, any thread
 *   convgen_params_free(p);
 *
 * Every call returns a convgen_status; on failure convgen_last_error() holds a one-line message
 * naming the bad value (thread-local, valid until the next failing call on that thread).
 * Nothing here aborts on caller input, and a kernel never writes outside the output tensor.
 *
 * What the runtime cannot check, because C pointers carry no size: that each tensor's buffer
 * really holds what its dims and strides describe (dense: the product of dims elements; strided:
 * up to the last element the strides reach), that host data is float-aligned and stays valid
 * and unmodified during the call, that a CUDA `data` is a live device allocation of that size,
 * and that the output does not overlap the input or the parameters. Everything else is checked:
 * parameter strides must be >= 0 (all zero: dense) and the view they describe must exist in the
 * address space (its offsets fit in 64 bits, it does not wrap past the end of memory), else
 * CONVGEN_ERROR_LAYOUT; activations must be dense.
 */
#ifndef CONVGEN_CONVGEN_H
#define CONVGEN_CONVGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layer_enums.h" /* beside this header */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum convgen_status {
    CONVGEN_OK = 0,
    CONVGEN_ERROR_INVALID_ARGUMENT = 1, /* null pointer, bad enum value, missing parameter */
    CONVGEN_ERROR_NOT_FOUND = 2,        /* no registered kernel with that key / layer */
    CONVGEN_ERROR_SHAPE = 3,            /* tensor dims differ from the kernel's fixed shape */
    CONVGEN_ERROR_DTYPE = 4,            /* tensor dtype differs from the kernel's */
    CONVGEN_ERROR_LAYOUT = 5,           /* tensor layout or strides the kernel cannot take */
    CONVGEN_ERROR_PARAMS_MISMATCH = 6,  /* params prepared for another kernel */
    CONVGEN_ERROR_OUT_OF_MEMORY = 7,
    CONVGEN_ERROR_KERNEL = 8,           /* the Halide pipeline or the CUDA driver reported an error */
    CONVGEN_ERROR_NO_DEVICE = 9,        /* no CUDA driver or device */
    CONVGEN_ERROR_UNSUPPORTED_CPU = 10, /* the kernel's ISA is not available on this CPU */
} convgen_status;

/* A static English name for a status ("CONVGEN_ERROR_SHAPE", ...). */
const char *convgen_status_string(convgen_status status);
/* The message of the last failing call on this thread ("" if none). */
const char *convgen_last_error(void);

typedef enum convgen_dtype { CONVGEN_F32 = 0 } convgen_dtype;

/* Layouts name dims outermost first. Activations: NCHW, NHWC. Framework weights: OIHW
 * (PyTorch; depthwise (C*m,1,kh,kw)), HWIO (TensorFlow; depthwise (kh,kw,C,m)). Vectors: X. */
typedef enum convgen_layout {
#define CONVGEN_X(c, cpp, name) CONVGEN_LAYOUT_##c,
    CONVGEN_ACTIVATION_LAYOUT_LIST(CONVGEN_X) /* NCHW = 0, NHWC = 1 (layer_enums.h) */
#undef CONVGEN_X
    CONVGEN_LAYOUT_OIHW = 2,
    CONVGEN_LAYOUT_HWIO = 3,
    CONVGEN_LAYOUT_X = 4,
} convgen_layout;

typedef enum convgen_device { CONVGEN_DEVICE_HOST = 0, CONVGEN_DEVICE_CUDA = 1 } convgen_device;

#define CONVGEN_MAX_DIMS 4

/* A tensor the caller owns. dims and strides are outermost first, in `layout` order; strides
 * are in elements, and all-zero strides mean dense (row-major) storage. A CUDA tensor
 * (device CONVGEN_DEVICE_CUDA) holds a CUdeviceptr in `data` ((void *)(uintptr_t)ptr), allocated
 * in the primary context of CUDA device 0 (cudaMalloc, PyTorch and cuMemAlloc in that context all
 * qualify); only CUDA kernels take CUDA tensors. */
typedef struct convgen_tensor {
    void *data;
    convgen_dtype dtype;
    int ndim;
    int64_t dims[CONVGEN_MAX_DIMS];
    int64_t strides[CONVGEN_MAX_DIMS];
    convgen_layout layout;
    convgen_device device;
} convgen_tensor;

/* A framework parameter by its PyTorch state_dict name: "weight", "bias"; for dwsep
 * "dw.weight", "dw.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
 * "pw.weight", "pw.bias", "bn2.*". */
typedef struct convgen_named_tensor {
    const char *name;
    convgen_tensor tensor;
} convgen_named_tensor;

/* The layer a kernel was generated for. Kinds and activations come from convgen/layer_enums.h
 * (CONVGEN_KIND_CONV = 0, POINTWISE, DEPTHWISE, DWSEP; CONVGEN_ACT_NONE = 0, RELU, RELU6), as do
 * generator/spec/layer_spec.h's enums, so the values agree by construction. */
typedef enum convgen_kind {
#define CONVGEN_X(c, cpp, name) CONVGEN_KIND_##c,
    CONVGEN_KIND_LIST(CONVGEN_X)
#undef CONVGEN_X
} convgen_kind;
typedef enum convgen_act {
#define CONVGEN_X(c, cpp, name) CONVGEN_ACT_##c,
    CONVGEN_ACT_LIST(CONVGEN_X)
#undef CONVGEN_X
} convgen_act;
/* dwsep's depthwise-stage activation when it differs from `act` (the pointwise stage's; layer
 * grammar act=relu6:none). SAME (0, what a zero-initialized layer has) means `act` for both;
 * otherwise the CONVGEN_ACT_ value + 1. */
typedef enum convgen_dw_act {
    CONVGEN_DW_ACT_SAME = 0,
#define CONVGEN_X(c, cpp, name) CONVGEN_DW_ACT_##c,
    CONVGEN_ACT_LIST(CONVGEN_X)
#undef CONVGEN_X
} convgen_dw_act;

typedef struct convgen_layer {
    convgen_kind kind;
    int n, c, h, w, cout, kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, dh, dw, groups, multiplier;
    int bias; /* 1: the layer has conv bias parameters */
    convgen_act act;       /* after the output stage (dwsep: the pointwise stage) */
    convgen_layout layout; /* NCHW or NHWC */
    int algo;              /* conv: 0 direct, 1 Winograd (weight arg layout "WINO<m>x3") */
    convgen_dw_act dw_act; /* dwsep: the depthwise stage's, when not `act` */
} convgen_layer;

/* One kernel argument, in call order; the output is last. shape is in `layout` order. */
typedef struct convgen_arg_info {
    const char *name;   /* "input", "weight", "bias", "dw_weight", "dw_bias", "pw_weight", "pw_bias", "output" */
    const char *layout; /* "NCHW", "NHWC", "HWIO", "IO", "HWC", "C", "WINO<m>x3" (Winograd U [a][a][c][cout]),
                           "Oi<B>o" (pointwise weight blocked by output channel, [cout/B][c][B]) */
    int ndim;
    int64_t shape[CONVGEN_MAX_DIMS];
} convgen_arg_info;

typedef void (*convgen_halide_error_handler)(void *user_context, const char *message);
typedef convgen_halide_error_handler (*convgen_set_error_handler_fn)(convgen_halide_error_handler);
/* halide_copy_to_host / halide_device_free of a Halide runtime; `buffer` is a halide_buffer_t *. */
typedef int (*convgen_halide_buffer_fn)(void *user_context, void *buffer);

/* A kernel as the generated registry (or a loader) describes it. */
typedef struct convgen_kernel {
    const char *key;    /* kernel key: also the C symbol of the Halide pipeline */
    const char *target; /* the Halide target string it was compiled for */
    convgen_layer layer;
    int num_args;
    const convgen_arg_info *args;
    int (*argv_fn)(void **args);                  /* Halide's <key>_argv */
    convgen_set_error_handler_fn set_error_handler; /* halide_set_error_handler of its runtime */
    /* GPU kernels (optional, NULL in older tables): halide_copy_to_host and halide_device_free of
     * its runtime. convgen_run copies a GPU kernel's output back to the host tensor with the first
     * and frees the device copies Halide made of every argument with the second. */
    convgen_halide_buffer_fn copy_to_host;
    convgen_halide_buffer_fn device_free;
    /* CUDA kernels (optional, NULL for CPU kernels and in older tables): the CUDA functions of its
     * runtime. Without them a CUDA kernel still runs on host tensors the old way (every call copies
     * input and parameters), but takes no CUDA tensors and cannot be recorded into a graph. */
    const struct convgen_cuda_runtime *cuda;
    /* Winograd kernels (weight arg layout "WINO<m>x3"): the weight transform G of F(m, 3), m + 2
     * rows of 3, row-major, as the generator's algorithm defines it; convgen_prepare_params packs
     * U = G g G^T with it. NULL for other kernels. */
    const double *weight_transform;
    /* What the kernel's Halide target asks of the machine (optional, 0 and NULL in older tables).
     * features: the target's Halide feature bitmask, feature_words 64-bit words, bit f set when the
     * target has halide_target_feature_t f (HalideRuntime.h); can_use_target_features:
     * halide_can_use_target_features of the kernel's own Halide runtime, which checks such a mask
     * against this CPU (cpuid, hwcaps). natural_vector_bits: Halide's natural vector width for f32
     * on the target (Target::natural_vector_size(Float(32)) * 32), e.g. 512 for AVX-512.
     * convgen_kernel_supported asks can_use_target_features; convgen_find_kernel_for_layer
     * prefers the widest vectors, then the most features. */
    int feature_words;
    const uint64_t *features;
    int (*can_use_target_features)(int count, const uint64_t *features);
    int natural_vector_bits;
} convgen_kernel;

/* Halide's CUDA hooks (HalideRuntimeCuda.h; a CUcontext and a CUstream are void * here). */
typedef int (*convgen_cuda_acquire_context_fn)(void *user_context, void **context, bool create);
typedef int (*convgen_cuda_release_context_fn)(void *user_context);
typedef int (*convgen_cuda_get_stream_fn)(void *user_context, void *context, void **stream);

/* What the runtime needs from a Halide runtime compiled with CUDA; the generated registry fills it
 * with halide_cuda_wrap_device_ptr, halide_cuda_detach_device_ptr and halide_set_cuda_*. convgen
 * wraps CUDA tensors and resident parameters into halide_buffer_t with the first two (no copies),
 * and installs its own context and stream hooks with the setters at the first CUDA run. */
typedef struct convgen_cuda_runtime {
    int (*wrap_device_ptr)(void *user_context, void *buffer, uint64_t device_ptr);
    int (*detach_device_ptr)(void *user_context, void *buffer);
    convgen_cuda_acquire_context_fn (*set_acquire_context)(convgen_cuda_acquire_context_fn handler);
    convgen_cuda_release_context_fn (*set_release_context)(convgen_cuda_release_context_fn handler);
    convgen_cuda_get_stream_fn (*set_get_stream)(convgen_cuda_get_stream_fn handler);
} convgen_cuda_runtime;

/* ---- registry ---- */
/* Adds `count` kernels (the table must outlive the program). The generated registry calls this
 * from a static initializer and also exports convgen_register_<bundle>() for linkers that drop
 * static initializers. Registering the same table twice is a no-op. */
convgen_status convgen_register_kernels(const convgen_kernel *kernels, int count);
int convgen_kernel_count(void);
const convgen_kernel *convgen_kernel_at(int index);
/* NULL (and convgen_last_error set) when no kernel has that key. */
const convgen_kernel *convgen_find_kernel(const char *key);
/* The kernel for this layer whose target this machine runs best: a CUDA kernel where a CUDA device
 * is present, else the supported CPU kernel with the widest vectors (AVX-512, then AVX2, then
 * baseline), then the most target features; ties go to the first registered. */
const convgen_kernel *convgen_find_kernel_for_layer(const convgen_layer *layer);
/* 1 if this machine can run the kernel's target, else 0: the target's architecture must be this
 * library's, and its features must pass the check of the kernel's Halide runtime
 * (can_use_target_features). A kernel without that check (an older or hand-made table) is
 * supported only when its target names no feature but CUDA's. */
int convgen_kernel_supported(const convgen_kernel *kernel);

/* ---- parameters ---- */
typedef struct convgen_params convgen_params;
/* From framework-layout weights to the packed layout the kernel takes, BatchNorm folded (dwsep,
 * with epsilon bn_eps, which must then be finite and > 0; other kinds ignore it). Done once; the
 * result is immutable and may be shared across threads. Weights are host tensors; their strides
 * may describe any view with strides >= 0 (see the top of this file for what is checked). */
convgen_status convgen_prepare_params(const convgen_kernel *kernel, const convgen_named_tensor *tensors,
                                      int count, float bn_eps, convgen_params **out);
/* CUDA kernels: copies the packed parameters to the device once; they stay there until
 * convgen_params_free. The first convgen_run of a CUDA kernel does this by itself (once, whichever
 * thread gets there first); call it to keep that copy out of the first run's time. CONVGEN_OK
 * when already there; CONVGEN_ERROR_INVALID_ARGUMENT for parameters of a CPU kernel. */
convgen_status convgen_params_upload(const convgen_params *params);
/* Frees the host and device copies. Call it after the last run (and graph) using them has
 * finished on the GPU (convgen_cuda_synchronize) and after freeing graphs that recorded them. */
void convgen_params_free(convgen_params *params);

/* ---- running ---- */
/* Checks input and output against the kernel's fixed shape, layout and dtype, then runs it.
 *
 * CUDA kernels take host or CUDA tensors (each of input and output independently):
 *  - CUDA tensors are handed to the kernel as they are (no copy) and the call returns as soon as
 *    the kernel is queued on this thread's stream (convgen_cuda_set_stream): the output is ready
 *    once convgen_cuda_synchronize (or a CUDA event/stream wait of yours) returns;
 *  - a host input is copied to a temporary device buffer, a host output is copied back before the
 *    call returns (synchronous);
 *  - the parameters live on the device from the first run on (convgen_params_upload).
 * A CPU kernel given a CUDA tensor, or a tensor whose device is not a convgen_device, is
 * CONVGEN_ERROR_INVALID_ARGUMENT. Without a CUDA driver or device a CUDA kernel returns
 * CONVGEN_ERROR_NO_DEVICE (the driver is looked up as libcuda.so.1, then libcuda.so). A failing
 * CUDA kernel or driver call is CONVGEN_ERROR_KERNEL with the driver's error name. */
convgen_status convgen_run(const convgen_kernel *kernel, const convgen_params *params,
                           const convgen_tensor *input, convgen_tensor *output);

/* ---- CUDA ----
 * convgen loads the CUDA driver with dlopen at the first CUDA call (nothing links against CUDA)
 * and runs every CUDA kernel in the primary context of device 0: the context the CUDA runtime
 * API and PyTorch use, so their device pointers and streams are valid here. */

/* The CUstream (void *) this thread's CUDA runs and graph launches are queued on; NULL (the
 * default) is the legacy default stream. */
convgen_status convgen_cuda_set_stream(void *stream);
/* Waits until everything queued on this thread's stream has finished; CONVGEN_ERROR_KERNEL with
 * the driver's error when a queued kernel failed. */
convgen_status convgen_cuda_synchronize(void);

/* CUDA graphs: record a sequence of convgen_run calls once, replay it with one driver call.
 *
 *   convgen_graph_begin();                 // this thread now records instead of running
 *   convgen_run(k1, p1, &x, &y);           // CUDA kernels on CUDA tensors only
 *   convgen_run(k2, p2, &y, &z);
 *   convgen_graph *g;
 *   convgen_graph_end(&g);                 // the recorded sequence, ready to launch
 *   for (...) convgen_graph_launch(g);     // queued on this thread's stream, in recorded order
 *   convgen_cuda_synchronize();
 *   convgen_graph_free(g);
 *
 * Each recorded run is captured with CUDA stream capture (thread-local mode, on a stream of this
 * thread's that convgen keeps for that) and becomes one node of the graph, after the previous one.
 * Parameters are uploaded before the capture, and the first time a kernel is recorded in this
 * process it is run once for real first, on this thread's stream (a warm-up that loads its GPU
 * module outside the capture; it writes its output once). A replay reads and writes the very
 * tensors and parameters that were recorded: they must stay allocated until the graph is freed,
 * and their contents are whatever they hold when the replay runs. Runs of CPU kernels or with host
 * tensors during a recording are errors, and so is a kernel that allocates a device buffer for an
 * intermediate at every run (its schedule keeps one in global memory; convgen_run still runs it):
 * the driver refuses allocations during a capture. Any failing call while recording fails the
 * whole recording: convgen_graph_end then returns that call's status and message and no graph.
 * Like CUDA's own graph objects, a convgen_graph must not be used by two threads at once. */
typedef struct convgen_graph convgen_graph;
convgen_status convgen_graph_begin(void);
convgen_status convgen_graph_end(convgen_graph **graph);
convgen_status convgen_graph_launch(const convgen_graph *graph);
/* How many convgen_run calls the graph replays. */
int convgen_graph_size(const convgen_graph *graph);
void convgen_graph_free(convgen_graph *graph);

#ifdef __cplusplus
}
#endif
#endif /* CONVGEN_CONVGEN_H */
