/* mobilenet_block: runs a small MobileNet block with kernels convgen generated at build time,
 * and checks every layer against a float64 reference.
 *
 * The block (mobilenet_block.json), float32 activations in NHWC:
 *   stem  conv  3->16, 3x3, stride 2, pad 1, bias, ReLU              1x32x32x3  -> 1x16x16x16
 *   dws1  dwsep 16->32: depthwise 3x3 stride 1, BN, ReLU, 1x1, BN, ReLU   -> 1x16x16x32
 *   dws2  dwsep 32->64: depthwise 3x3 stride 2, BN, ReLU, 1x1, BN, ReLU   -> 1x8x8x64
 *
 * Usage: mobilenet_block expected.bin
 *   expected.bin: the three layer outputs of reference.py, float64, NHWC, one after another.
 *   Exit status 0 when every layer matches (the max error is printed), 1 otherwise.
 *
 * Inputs and weights are not read from files: this program and reference.py make every tensor
 * with the same formula (value() below), whose values are exact in float32.
 *
 * Per layer, the three steps of the convgen API (include/convgen/convgen.h):
 *   1. find the kernel: convgen_find_kernel_for_layer() picks, among the registered kernels of
 *      that layer, the best target this CPU runs (convgen_find_kernel(key) finds one by key);
 *   2. convgen_prepare_params(): from PyTorch-style tensors (OIHW weights, BatchNorm as
 *      weight/bias/running_mean/running_var) to the kernel's packed layout, BN folded; once;
 *   3. convgen_run() on the previous layer's output.
 * No registration call is needed: the generated registry registers its kernels at start-up.
 */
#include <convgen/convgen.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BN_EPS 1e-5f
#define TOLERANCE 1e-4 /* on |got - expected| / (1 + |expected|) */

/* ---- the block ---- */

/* A 3x3, pad 1, ReLU, NHWC layer of the block: conv (with bias) or dwsep (with biases and BN). */
#define LAYER(KIND, C, H, W, COUT, STRIDE)                                                          \
    {.kind = KIND, .n = 1, .c = C, .h = H, .w = W, .cout = COUT, .kh = 3, .kw = 3, .sh = STRIDE,    \
     .sw = STRIDE, .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1, .dh = 1, .dw = 1, .groups = 1,   \
     .multiplier = 1, .bias = 1, .act = CONVGEN_ACT_RELU, .layout = CONVGEN_LAYOUT_NHWC}

enum { NUM_LAYERS = 3 };
static const char *const layer_names[NUM_LAYERS] = {"stem", "dws1", "dws2"};
static const convgen_layer block[NUM_LAYERS] = {
    LAYER(CONVGEN_KIND_CONV, 3, 32, 32, 16, 2),
    LAYER(CONVGEN_KIND_DWSEP, 16, 16, 16, 32, 1),
    LAYER(CONVGEN_KIND_DWSEP, 32, 16, 16, 64, 2),
};

static int out_h(const convgen_layer *l) { return (l->h + l->pad_t + l->pad_b - (l->dh * (l->kh - 1) + 1)) / l->sh + 1; }
static int out_w(const convgen_layer *l) { return (l->w + l->pad_l + l->pad_r - (l->dw * (l->kw - 1) + 1)) / l->sw + 1; }

/* ---- deterministic data (reference.py has the same formula) ---- */

/* Element i of tensor number `id`: a multiple of 1/32 in [-0.25, 0.25], plus `offset` (1 for BN
 * scales and variances, which keeps those in [0.75, 1.25]). */
static float value(int id, long i, float offset) {
    return offset + (float)((i * 7 + id * 13) % 17 - 8) / 32.0f;
}

static float *make_tensor(int id, long count, float offset) {
    float *t = malloc((size_t)count * sizeof(float));
    if (t == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    for (long i = 0; i < count; i++) t[i] = value(id, i, offset);
    return t;
}

/* A dense host f32 tensor (all-zero strides mean dense). */
static convgen_tensor tensor(float *data, int ndim, const int64_t dims[], convgen_layout layout) {
    convgen_tensor t = {.data = data, .dtype = CONVGEN_F32, .ndim = ndim, .layout = layout,
                        .device = CONVGEN_DEVICE_HOST};
    for (int d = 0; d < ndim; d++) t.dims[d] = dims[d];
    return t;
}

/* ---- parameters: PyTorch names and shapes ---- */

typedef struct param_def {
    const char *name;
    int ndim;       /* 4: weight (OIHW), 1: vector */
    int64_t dims[4];
    float offset;   /* see value() */
} param_def;

/* The parameters of layer l, in a fixed order (their tensor ids are 10 * (l + 1) + index). */
static int layer_params(const convgen_layer *l, param_def p[12]) {
    const int64_t c = l->c, co = l->cout;
    if (l->kind == CONVGEN_KIND_CONV) {
        p[0] = (param_def){"weight", 4, {co, c, l->kh, l->kw}, 0};
        p[1] = (param_def){"bias", 1, {co}, 0};
        return 2;
    }
    /* dwsep: depthwise conv + BN, then pointwise conv + BN (nn.Conv2d / nn.BatchNorm2d names) */
    static const char *const names[12] = {
        "dw.weight", "dw.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
        "pw.weight", "pw.bias", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"};
    for (int s = 0; s < 2; s++) {
        int64_t ch = s == 0 ? c : co;
        param_def *q = &p[6 * s];
        q[0] = s == 0 ? (param_def){names[0], 4, {c, 1, l->kh, l->kw}, 0} : (param_def){names[6], 4, {co, c, 1, 1}, 0};
        for (int j = 1; j < 6; j++)
            q[j] = (param_def){names[6 * s + j], 1, {ch}, (j == 2 || j == 5) ? 1.0f : 0.0f};
    }
    return 12;
}

static void fail(const char *what, convgen_status status) {
    fprintf(stderr, "%s: %s: %s\n", what, convgen_status_string(status), convgen_last_error());
    exit(1);
}

/* Finds the kernel of layer l and prepares its parameters. */
static const convgen_kernel *prepare_layer(int l, convgen_params **params) {
    const convgen_kernel *k = convgen_find_kernel_for_layer(&block[l]);
    if (k == NULL) fail(layer_names[l], CONVGEN_ERROR_NOT_FOUND);

    param_def defs[12];
    convgen_named_tensor named[12];
    int count = layer_params(&block[l], defs);
    for (int j = 0; j < count; j++) {
        long n = 1;
        for (int d = 0; d < defs[j].ndim; d++) n *= (long)defs[j].dims[d];
        float *data = make_tensor(10 * (l + 1) + j, n, defs[j].offset);
        named[j] = (convgen_named_tensor){defs[j].name, tensor(data, defs[j].ndim, defs[j].dims,
                                                                defs[j].ndim == 4 ? CONVGEN_LAYOUT_OIHW : CONVGEN_LAYOUT_X)};
    }
    convgen_status st = convgen_prepare_params(k, named, count, BN_EPS, params);
    for (int j = 0; j < count; j++) free(named[j].tensor.data); /* the params hold packed copies */
    if (st != CONVGEN_OK) fail("convgen_prepare_params", st);
    return k;
}

/* Reads the whole of expected.bin (float64 values). */
static double *read_expected(const char *path, long count) {
    double *e = malloc((size_t)count * sizeof(double));
    FILE *f = fopen(path, "rb");
    if (e == NULL || f == NULL || fread(e, sizeof(double), (size_t)count, f) != (size_t)count || fgetc(f) != EOF) {
        fprintf(stderr, "%s: cannot read %ld float64 values (run reference.py to write it)\n", path, count);
        exit(1);
    }
    fclose(f);
    return e;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s expected.bin\n", argv[0]);
        return 1;
    }
    long sizes[NUM_LAYERS], total = 0;
    for (int l = 0; l < NUM_LAYERS; l++) total += sizes[l] = (long)out_h(&block[l]) * out_w(&block[l]) * block[l].cout;
    double *expected = read_expected(argv[1], total);

    const convgen_layer *first = &block[0];
    int64_t in_dims[4] = {1, first->h, first->w, first->c};
    float *activation = make_tensor(1, (long)first->h * first->w * first->c, 0); /* the input: id 1 */
    convgen_tensor input = tensor(activation, 4, in_dims, CONVGEN_LAYOUT_NHWC);
    double worst = 0;
    long offset = 0; /* of this layer's output in expected */

    for (int l = 0; l < NUM_LAYERS; l++) {
        convgen_params *params;
        const convgen_kernel *k = prepare_layer(l, &params);

        int64_t out_dims[4] = {1, out_h(&block[l]), out_w(&block[l]), block[l].cout};
        float *out = malloc((size_t)sizes[l] * sizeof(float));
        convgen_tensor output = tensor(out, 4, out_dims, CONVGEN_LAYOUT_NHWC);
        convgen_status st = convgen_run(k, params, &input, &output);
        if (st != CONVGEN_OK) fail("convgen_run", st);
        convgen_params_free(params);

        const double *ref = expected + offset;
        double err = 0;
        for (long i = 0; i < sizes[l]; i++) {
            double e = fabs(out[i] - ref[i]) / (1 + fabs(ref[i]));
            if (!(e <= err)) err = e; /* also keeps a NaN */
        }
        printf("%-5s %-60s max error %.2e %s\n", layer_names[l], k->key, err, err <= TOLERANCE ? "ok" : "FAIL");
        if (!(err <= worst)) worst = err;
        offset += sizes[l];

        free(activation); /* this layer's output is the next one's input */
        activation = out;
        input = output;
    }
    free(activation);
    free(expected);
    printf("mobilenet block: max error %.2e (tolerance %.0e): %s\n", worst, TOLERANCE, worst <= TOLERANCE ? "PASS" : "FAIL");
    return worst <= TOLERANCE ? 0 : 1;
}
