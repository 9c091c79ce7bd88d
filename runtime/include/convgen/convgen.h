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
 */
#ifndef CONVGEN_CONVGEN_H
#define CONVGEN_CONVGEN_H

#include <stddef.h>
#include <stdint.h>

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
    CONVGEN_ERROR_KERNEL = 8,           /* the Halide pipeline reported an error */
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
    CONVGEN_LAYOUT_NCHW = 0,
    CONVGEN_LAYOUT_NHWC = 1,
    CONVGEN_LAYOUT_OIHW = 2,
    CONVGEN_LAYOUT_HWIO = 3,
    CONVGEN_LAYOUT_X = 4,
} convgen_layout;

typedef enum convgen_device { CONVGEN_DEVICE_HOST = 0, CONVGEN_DEVICE_CUDA = 1 } convgen_device;

#define CONVGEN_MAX_DIMS 4

/* A tensor the caller owns. dims and strides are outermost first, in `layout` order; strides
 * are in elements, and all-zero strides mean dense (row-major) storage. */
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

/* The layer a kernel was generated for (values of generator/layer_spec.h's enums). */
typedef enum convgen_kind {
    CONVGEN_KIND_CONV = 0,
    CONVGEN_KIND_POINTWISE = 1,
    CONVGEN_KIND_DEPTHWISE = 2,
    CONVGEN_KIND_DWSEP = 3,
} convgen_kind;
typedef enum convgen_act { CONVGEN_ACT_NONE = 0, CONVGEN_ACT_RELU = 1, CONVGEN_ACT_RELU6 = 2 } convgen_act;

typedef struct convgen_layer {
    convgen_kind kind;
    int n, c, h, w, cout, kh, kw, sh, sw, pad_t, pad_l, pad_b, pad_r, dh, dw, groups, multiplier;
    int bias; /* 1: the layer has conv bias parameters */
    convgen_act act;
    convgen_layout layout; /* NCHW or NHWC */
    int algo;              /* conv: 0 direct, 1 Winograd (weight arg layout "WINO<m>x3") */
} convgen_layer;

/* One kernel argument, in call order; the output is last. shape is in `layout` order. */
typedef struct convgen_arg_info {
    const char *name;   /* "input", "weight", "bias", "dw_weight", "dw_bias", "pw_weight", "pw_bias", "output" */
    const char *layout; /* "NCHW", "NHWC", "HWIO", "IO", "HWC", "C", "WINO2x3" (Winograd U [a][a][c][cout]) */
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
} convgen_kernel;

/* ---- registry ---- */
/* Adds `count` kernels (the table must outlive the program). The generated registry calls this
 * from a static initializer and also exports convgen_register_<bundle>() for linkers that drop
 * static initializers. Registering the same table twice is a no-op. */
convgen_status convgen_register_kernels(const convgen_kernel *kernels, int count);
int convgen_kernel_count(void);
const convgen_kernel *convgen_kernel_at(int index);
/* NULL (and convgen_last_error set) when no kernel has that key. */
const convgen_kernel *convgen_find_kernel(const char *key);
/* The kernel for this layer whose target this CPU runs best (AVX-512, then AVX2, then baseline). */
const convgen_kernel *convgen_find_kernel_for_layer(const convgen_layer *layer);
/* 1 if this machine can run the kernel's target, else 0. */
int convgen_kernel_supported(const convgen_kernel *kernel);

/* ---- parameters ---- */
typedef struct convgen_params convgen_params;
/* From framework-layout weights to the packed layout the kernel takes, BatchNorm folded (dwsep,
 * with epsilon bn_eps). Done once; the result is immutable and may be shared across threads. */
convgen_status convgen_prepare_params(const convgen_kernel *kernel, const convgen_named_tensor *tensors,
                                      int count, float bn_eps, convgen_params **out);
void convgen_params_free(convgen_params *params);

/* ---- running ---- */
/* Checks input and output against the kernel's fixed shape, layout and dtype, then runs it.
 * GPU (CUDA) kernels take host tensors too: each call copies the input and parameters to the
 * device, runs, copies the output back and frees the device copies. Without a CUDA driver or
 * device the call returns CONVGEN_ERROR_NO_DEVICE (the driver is looked up as libcuda.so, then
 * libcuda.so.1). Device tensors (CONVGEN_DEVICE_CUDA) are not supported yet
 * (CONVGEN_ERROR_INVALID_ARGUMENT). */
convgen_status convgen_run(const convgen_kernel *kernel, const convgen_params *params,
                           const convgen_tensor *input, convgen_tensor *output);

#ifdef __cplusplus
}
#endif
#endif /* CONVGEN_CONVGEN_H */
