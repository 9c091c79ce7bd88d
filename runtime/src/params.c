/* Weight preparation: framework tensors in, the packed buffers a kernel reads out.
 *
 * Entry points: convgen_prepare_params, convgen_params_free (the device copy of CUDA kernels'
 * parameters is cuda.c's).
 *
 * Every kind is one or two "stages" (a convolution with a weight, an optional bias and, for
 * dwsep, a BatchNorm). A stage reads its weight logically as w(o, i, y, x) whatever the framework
 * layout, folds scale s[o] and bias b[o] into it, and writes it densely as [kh][kw][i][o]: the
 * packed layouts HWIO (conv), IO (pointwise: kh = kw = 1) and HWC (depthwise: i = 1, o = c*m)
 * are all that one loop, as is the blocked pointwise layout "Oi<B>o" ([o/B][i][B]: the kernel's
 * register tile reads B output channels as one contiguous stream) that a kernel may name in its
 * weight arg; a Winograd conv (weight arg layout "WINO2x3") gets U = G g G^T instead
 * (pack_winograd). BatchNorm (inference) is folded in double precision:
 *   s = gamma / sqrt(running_var + eps),  w' = w * s,  b' = (conv_bias or 0 - running_mean) * s + beta.
 *
 * Inputs are checked one by one (name, device, dtype, rank, layout, shape) before anything is
 * allocated; strides are honored as given (all-zero means dense), so views need no copy. The
 * packed shapes are then compared with the kernel's args table: a difference there is a
 * generator/runtime disagreement, reported as CONVGEN_ERROR_PARAMS_MISMATCH.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define WHO "convgen_prepare_params"
#define MAX_SPECS 12 /* dwsep: 2 x (weight, bias, 4 BatchNorm vectors) */

typedef struct stage {
    const char *weight, *bias, *bn; /* state_dict names; bias and bn NULL when the layer has none */
    int dw_mult;                    /* > 0: a depthwise weight, whose HWIO form is (kh, kw, o/m, m) */
    int64_t o, i, kh, kw;           /* the logical weight w(o, i, y, x) */
    const char *packed_w, *packed_layout, *packed_b; /* kernel arg names and layout; packed_b may be NULL */
    const double *wino_g;           /* Winograd: the kernel's weight transform G ((m + 2) x 3) */
} stage;

typedef struct spec {
    char name[32];
    int ndim;                 /* 4: a weight (OIHW or HWIO); 1: a vector (X) */
    int64_t oihw[4], hwio[4]; /* expected weight shapes */
    int64_t len;              /* expected vector length */
    int dw_mult;
    const convgen_tensor *given; /* the caller's tensor, once matched */
} spec;

typedef struct packed {
    const char *name, *layout;
    int ndim;
    int64_t shape[4];
} packed;

/* m of a "WINO<m>x3" layout this runtime packs, else 0. */
static int winograd_tile(const char *layout) {
    return strcmp(layout, "WINO2x3") == 0 ? 2 : strcmp(layout, "WINO4x3") == 0 ? 4 : 0;
}

/* B of a blocked pointwise layout "Oi<B>o", else 0. */
static int64_t weight_block(const char *layout) {
    char *end;
    if (strncmp(layout, "Oi", 2) != 0) return 0;
    long b = strtol(layout + 2, &end, 10);
    return b > 0 && end != layout + 2 && strcmp(end, "o") == 0 ? b : 0;
}

/* The layout of the kernel's parameter arg `name`, or NULL when it has none (match_args()
 * reports that). */
static const char *arg_layout(const convgen_kernel *k, const char *name) {
    for (int a = 1; a < k->num_args - 1; a++)
        if (strcmp(k->args[a].name, name) == 0) return k->args[a].layout;
    return NULL;
}

/* The kernel's layout for its pointwise weight arg `name`: "IO" or a blocked "Oi<B>o" whose B
 * divides the stage's output channels; NULL with the error set for anything else. */
static const char *pointwise_layout(const convgen_kernel *k, const char *name, int64_t o) {
    const char *layout = arg_layout(k, name);
    if (layout == NULL || !strcmp(layout, "IO")) return "IO";
    if (weight_block(layout) > 0 && o % weight_block(layout) == 0) return layout;
    set_error(CONVGEN_ERROR_PARAMS_MISMATCH,
              WHO ": kernel %s argument \"%s\" has layout %s, not IO or Oi<B>o with B dividing %lld "
              "(generator/runtime disagreement: a generator bug)",
              k->key, name, layout, (long long)o);
    return NULL;
}

/* The stages of the kernel's layer; returns their count, or 0 with the error set and its status
 * in *err. */
static int layer_stages(const convgen_kernel *k, stage st[2], convgen_status *err) {
    *err = CONVGEN_ERROR_INVALID_ARGUMENT;
    const convgen_layer *l = &k->layer;
    const char *b = l->bias ? "bias" : NULL;
    if (l->c <= 0 || l->cout <= 0 || l->kh <= 0 || l->kw <= 0) {
        set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s has layer c %d cout %d kernel %dx%d", k->key,
                  l->c, l->cout, l->kh, l->kw);
        return 0;
    }
    switch (l->kind) {
    case CONVGEN_KIND_CONV:
        if (l->groups <= 0 || l->c % l->groups != 0) {
            set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s has groups %d for %d channels", k->key,
                      l->groups, l->c);
            return 0;
        }
        st[0] = (stage){"weight", b, NULL, 0, l->cout, l->c / l->groups, l->kh, l->kw, "weight", "HWIO", b};
        /* A Winograd kernel says so in its weight arg's layout ("WINO2x3"): pack U = G g G^T with
         * the G it carries (the generator's, generator/algorithms/winograd.cpp). */
        const char *wl = arg_layout(k, "weight");
        if (wl && winograd_tile(wl) > 0) {
            if (k->weight_transform == NULL) {
                set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s has a %s weight but no weight transform",
                          k->key, wl);
                return 0;
            }
            st[0].packed_layout = wl, st[0].wino_g = k->weight_transform;
        }
        if (strcmp(st[0].packed_layout, "HWIO") != 0 && (l->kh != 3 || l->kw != 3 || l->groups != 1)) {
            set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s has a %s weight for kernel %dx%d groups %d",
                      k->key, st[0].packed_layout, l->kh, l->kw, l->groups);
            return 0;
        }
        return 1;
    case CONVGEN_KIND_POINTWISE:
        st[0] = (stage){"weight", b, NULL, 0, l->cout, l->c, 1, 1, "weight", "IO", b};
        if ((st[0].packed_layout = pointwise_layout(k, "weight", l->cout)) != NULL) return 1;
        *err = CONVGEN_ERROR_PARAMS_MISMATCH;
        return 0;
    case CONVGEN_KIND_DEPTHWISE:
        if (l->multiplier <= 0) {
            set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s has multiplier %d", k->key, l->multiplier);
            return 0;
        }
        st[0] = (stage){"weight", b, NULL, l->multiplier, (int64_t)l->c * l->multiplier, 1, l->kh, l->kw,
                        "weight", "HWC", b};
        return 1;
    case CONVGEN_KIND_DWSEP:
        st[0] = (stage){"dw.weight", l->bias ? "dw.bias" : NULL, "bn1", 1, l->c, 1, l->kh, l->kw,
                        "dw_weight", "HWC", "dw_bias"};
        st[1] = (stage){"pw.weight", l->bias ? "pw.bias" : NULL, "bn2", 0, l->cout, l->c, 1, 1,
                        "pw_weight", "IO", "pw_bias"};
        if ((st[1].packed_layout = pointwise_layout(k, "pw_weight", l->cout)) != NULL) return 2;
        *err = CONVGEN_ERROR_PARAMS_MISMATCH;
        return 0;
    }
    set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": kernel %s has layer kind %d", k->key, (int)l->kind);
    return 0;
}

static const char *const k_bn_fields[4] = {"weight", "bias", "running_mean", "running_var"};

static spec *add_vector(spec *specs, int *n, const char *name, const char *field, int64_t len) {
    spec *s = &specs[(*n)++];
    memset(s, 0, sizeof *s);
    if (field) snprintf(s->name, sizeof s->name, "%s.%s", name, field);
    else snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = 1;
    s->len = len;
    return s;
}

/* The framework parameters the stages take, in a fixed order. */
static int stage_specs(const stage *st, int nst, spec specs[MAX_SPECS]) {
    int n = 0;
    for (int j = 0; j < nst; j++) {
        const stage *g = &st[j];
        spec *w = add_vector(specs, &n, g->weight, NULL, 0);
        w->ndim = 4;
        w->dw_mult = g->dw_mult;
        int64_t oihw[4] = {g->o, g->i, g->kh, g->kw};
        int64_t hwio[4] = {g->kh, g->kw, g->i, g->o};
        if (g->dw_mult > 0) hwio[2] = g->o / g->dw_mult, hwio[3] = g->dw_mult;
        memcpy(w->oihw, oihw, sizeof oihw);
        memcpy(w->hwio, hwio, sizeof hwio);
        if (g->bias) add_vector(specs, &n, g->bias, NULL, g->o);
        if (g->bn)
            for (int f = 0; f < 4; f++) add_vector(specs, &n, g->bn, k_bn_fields[f], g->o);
    }
    return n;
}

static spec *find_spec(spec *specs, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(specs[i].name, name) == 0) return &specs[i];
    return NULL;
}

/* "(4, 3, 3, 3)"; at most 4 dims of at most 20 characters, so 96 bytes always suffice. */
static const char *shape_str(char buf[96], int ndim, const int64_t *d) {
    size_t len = (size_t)snprintf(buf, 96, "(");
    for (int i = 0; i < ndim && i < CONVGEN_MAX_DIMS; i++)
        len += (size_t)snprintf(buf + len, 96 - len, i ? ", %lld" : "%lld", (long long)d[i]);
    snprintf(buf + len, 96 - len, ")");
    return buf;
}

/* Strides are all zero (dense), or each >= 0 and the view they describe, from data to its last
 * element, a byte range that exists in the address space: the packing loops then compute every
 * offset in int64 without overflow. Whether the caller's buffer really is that large the runtime
 * cannot know (convgen.h). Called after the dims matched the kernel's (all >= 1). */
static convgen_status check_strides(const char *n, const convgen_tensor *t) {
    int zero = 1;
    for (int d = 0; d < t->ndim; d++) zero &= t->strides[d] == 0;
    if (zero) return CONVGEN_OK;
    uint64_t last = 0; /* element offset of the view's last element */
    for (int d = 0; d < t->ndim; d++) {
        uint64_t term;
        if (t->strides[d] < 0)
            return set_error(CONVGEN_ERROR_LAYOUT, WHO ": \"%s\" stride %d is %lld; strides must be >= 0 (all zero: dense)",
                             n, d, (long long)t->strides[d]);
        if (__builtin_mul_overflow((uint64_t)(t->dims[d] - 1), (uint64_t)t->strides[d], &term) ||
            __builtin_add_overflow(last, term, &last))
            return set_error(CONVGEN_ERROR_LAYOUT, WHO ": \"%s\" stride %d is %lld: the view's offsets overflow 64 bits",
                             n, d, (long long)t->strides[d]);
    }
    uint64_t end; /* one past the last byte */
    if (__builtin_mul_overflow(last + 1, (uint64_t)sizeof(float), &end) || end > (uint64_t)PTRDIFF_MAX ||
        end > UINTPTR_MAX - (uintptr_t)t->data) {
        char buf[96];
        return set_error(CONVGEN_ERROR_LAYOUT, WHO ": \"%s\" strides %s reach element %llu, past the end of the address space",
                         n, shape_str(buf, t->ndim, t->strides), (unsigned long long)last);
    }
    return CONVGEN_OK;
}

/* Checks one caller tensor against the parameter it names. */
static convgen_status check_tensor(const convgen_kernel *k, const spec *s, const convgen_tensor *t) {
    const char *n = s->name;
    if (t->device == CONVGEN_DEVICE_CUDA)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": \"%s\" is a CUDA tensor; parameters must be on the host",
                         n);
    if (t->device != CONVGEN_DEVICE_HOST)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": \"%s\" has device %d", n, (int)t->device);
    if (t->dtype != CONVGEN_F32)
        return set_error(CONVGEN_ERROR_DTYPE, WHO ": \"%s\" has dtype %d, kernel %s expects f32 (%d)", n,
                         (int)t->dtype, k->key, (int)CONVGEN_F32);
    if (t->data == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": \"%s\" has NULL data", n);
    if (t->ndim != s->ndim)
        return set_error(CONVGEN_ERROR_SHAPE, WHO ": \"%s\" has ndim %d, kernel %s expects %d", n, t->ndim, k->key,
                         s->ndim);
    const int64_t *want = &s->len;
    if (s->ndim == 4) {
        if (t->layout != CONVGEN_LAYOUT_OIHW && t->layout != CONVGEN_LAYOUT_HWIO)
            return set_error(CONVGEN_ERROR_LAYOUT, WHO ": \"%s\" has layout %s (%d); a 4-D weight must be OIHW or HWIO",
                             n, layout_name(t->layout), (int)t->layout);
        want = t->layout == CONVGEN_LAYOUT_OIHW ? s->oihw : s->hwio;
    } else if (t->layout != CONVGEN_LAYOUT_X) {
        return set_error(CONVGEN_ERROR_LAYOUT, WHO ": \"%s\" has layout %s (%d); a vector must be X", n,
                         layout_name(t->layout), (int)t->layout);
    }
    for (int d = 0; d < s->ndim; d++) {
        if (t->dims[d] != want[d]) {
            char buf[96];
            return set_error(CONVGEN_ERROR_SHAPE, WHO ": \"%s\" dim %d is %lld, kernel %s expects %lld (layout %s, shape %s)",
                             n, d, (long long)t->dims[d], k->key, (long long)want[d], layout_name(t->layout),
                             shape_str(buf, s->ndim, want));
        }
    }
    return check_strides(n, t);
}

/* Element strides of a tensor: as given, or dense row-major when all are zero. */
static void strides_of(const convgen_tensor *t, int64_t st[4]) {
    int dense = 1;
    for (int d = 0; d < t->ndim; d++) dense &= t->strides[d] == 0;
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        st[d] = dense ? s : t->strides[d];
        s *= t->dims[d];
    }
}

static double vec_at(const convgen_tensor *t, int64_t i) {
    int64_t st[4];
    strides_of(t, st);
    return ((const float *)t->data)[i * st[0]];
}

/* Packs out[y][x][i][o] = w(o, i, y, x) * scale[o] for the stage's weight, or for a blocked
 * pointwise layout (kh = kw = 1) out[o / B][i][o % B]. */
static void pack_weight(const stage *g, const convgen_tensor *t, const double *scale, float *out) {
    int64_t st[4];
    strides_of(t, st);
    const float *w = t->data;
    int oihw = t->layout == CONVGEN_LAYOUT_OIHW;
    const int64_t block = weight_block(g->packed_layout);
    for (int64_t y = 0; y < g->kh; y++)
        for (int64_t x = 0; x < g->kw; x++)
            for (int64_t i = 0; i < g->i; i++)
                for (int64_t o = 0; o < g->o; o++) {
                    int64_t off = oihw ? o * st[0] + i * st[1] + y * st[2] + x * st[3]
                                  : g->dw_mult > 0
                                      ? y * st[0] + x * st[1] + (o / g->dw_mult) * st[2] + (o % g->dw_mult) * st[3]
                                      : y * st[0] + x * st[1] + i * st[2] + o * st[3];
                    const float v = (float)((double)w[off] * scale[o]);
                    if (block > 0) out[(o / block * g->i + i) * block + o % block] = v;
                    else *out++ = v;
                }
}

/* Packs the Winograd weight U[i][j][ci][o] = sum_{y,x} G[i][y] w(o, ci, y, x) G[j][x] * scale[o]
 * (layout "WINO<m>x3", [alpha][alpha][i][o]) for a 3x3 stage, in double, rounded once to f32. */
static void pack_winograd(const stage *g, const convgen_tensor *t, const double *scale, float *out) {
    const int alpha = winograd_tile(g->packed_layout) + 2;
    const double *G = g->wino_g; /* alpha rows of 3 */
    int64_t st[4];
    strides_of(t, st);
    const float *w = t->data;
    int oihw = t->layout == CONVGEN_LAYOUT_OIHW;
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++)
            for (int64_t ci = 0; ci < g->i; ci++)
                for (int64_t o = 0; o < g->o; o++) {
                    double u = 0;
                    for (int y = 0; y < 3; y++)
                        for (int x = 0; x < 3; x++) {
                            int64_t off = oihw ? o * st[0] + ci * st[1] + y * st[2] + x * st[3]
                                               : y * st[0] + x * st[1] + ci * st[2] + o * st[3];
                            u += G[i * 3 + y] * (double)w[off] * G[j * 3 + x];
                        }
                    *out++ = (float)(u * scale[o]);
                }
}

/* Per-output-channel scale and bias of a stage: identity and the conv bias, or BatchNorm folded. */
static convgen_status fold_stage(const convgen_kernel *k, const stage *g, spec *specs, int n, double eps,
                                 double *scale, double *bias) {
    const spec *cb = g->bias ? find_spec(specs, n, g->bias) : NULL;
    const spec *bn[4] = {NULL};
    char name[32];
    for (int f = 0; g->bn && f < 4; f++) {
        snprintf(name, sizeof name, "%s.%s", g->bn, k_bn_fields[f]);
        bn[f] = find_spec(specs, n, name);
    }
    for (int64_t o = 0; o < g->o; o++) {
        double b = cb ? vec_at(cb->given, o) : 0.0;
        scale[o] = 1.0;
        bias[o] = b;
        if (!g->bn) continue;
        double gamma = vec_at(bn[0]->given, o), beta = vec_at(bn[1]->given, o);
        double mean = vec_at(bn[2]->given, o), var = vec_at(bn[3]->given, o);
        if (!(var + eps > 0.0)) /* also catches NaN */
            return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                             WHO ": \"%s\"[%lld] is %g and bn_eps %g: running_var + eps must be > 0 (kernel %s)",
                             bn[3]->name, (long long)o, var, eps, k->key);
        scale[o] = gamma / sqrt(var + eps);
        bias[o] = (b - mean) * scale[o] + beta;
    }
    return CONVGEN_OK;
}

/* Matches the kernel's args table against what the stages produce; fills which[arg] = packed index. */
static convgen_status match_args(const convgen_kernel *k, const packed *pk, int npk, int which[CONVGEN_MAX_ARGS]) {
    int used[4] = {0};
    char have[96], want[96];
    for (int a = 1; a < k->num_args - 1; a++) {
        const convgen_arg_info *arg = &k->args[a];
        int p = 0;
        while (p < npk && strcmp(pk[p].name, arg->name) != 0) p++;
        if (p == npk)
            return set_error(CONVGEN_ERROR_PARAMS_MISMATCH,
                             WHO ": kernel %s takes argument \"%s\", which the runtime does not produce for layer "
                             "kind %d bias %d (generator/runtime disagreement: a generator bug)",
                             k->key, arg->name, (int)k->layer.kind, k->layer.bias);
        if (strcmp(pk[p].layout, arg->layout) != 0 || pk[p].ndim != arg->ndim ||
            memcmp(pk[p].shape, arg->shape, (size_t)arg->ndim * sizeof(int64_t)) != 0)
            return set_error(CONVGEN_ERROR_PARAMS_MISMATCH,
                             WHO ": kernel %s argument \"%s\" is %s %s but the runtime packs %s %s "
                             "(generator/runtime disagreement: a generator bug)",
                             k->key, arg->name, arg->layout, shape_str(have, arg->ndim, arg->shape), pk[p].layout,
                             shape_str(want, pk[p].ndim, pk[p].shape));
        used[p] = 1;
        which[a] = p;
    }
    for (int p = 0; p < npk; p++)
        if (!used[p])
            return set_error(CONVGEN_ERROR_PARAMS_MISMATCH,
                             WHO ": kernel %s has no argument \"%s\" although its layer needs it (a generator bug)",
                             k->key, pk[p].name);
    return CONVGEN_OK;
}

static float *alloc_floats(int64_t count) {
    size_t bytes = ((size_t)count * sizeof(float) + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
    return aligned_alloc(64, bytes);
}

convgen_status convgen_prepare_params(const convgen_kernel *kernel, const convgen_named_tensor *tensors, int count,
                                      float bn_eps, convgen_params **out) {
    if (out == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": out is NULL");
    *out = NULL;
    convgen_status st = check_kernel(kernel, WHO);
    if (st != CONVGEN_OK) return st;
    if (count < 0 || (tensors == NULL && count > 0))
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": tensors %p with count %d", (const void *)tensors, count);

    stage stages[2];
    int nst = layer_stages(kernel, stages, &st);
    if (nst == 0) return st;
    /* sqrt(var + inf) would fold every BN scale to 0, and eps <= 0 admits var = 0. */
    if (stages[0].bn != NULL && !(isfinite(bn_eps) && bn_eps > 0.0f))
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": bn_eps is %g; it must be finite and > 0 (kernel %s)",
                         (double)bn_eps, kernel->key);
    spec specs[MAX_SPECS];
    int nspec = stage_specs(stages, nst, specs);

    for (int t = 0; t < count; t++) {
        const char *name = tensors[t].name;
        if (name == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": tensors[%d] has a NULL name", t);
        spec *s = find_spec(specs, nspec, name);
        if (s == NULL) {
            int dwsep = kernel->layer.kind == CONVGEN_KIND_DWSEP;
            if (!kernel->layer.bias &&
                (dwsep ? !strcmp(name, "dw.bias") || !strcmp(name, "pw.bias") : !strcmp(name, "bias")))
                return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                                 WHO ": parameter \"%s\" given, but kernel %s was generated without bias (bias=0)",
                                 name, kernel->key);
            char expected[MAX_SPECS * 32] = ""; /* names are < 32 characters: always fits */
            for (size_t i = 0, len = 0; i < (size_t)nspec; i++)
                len += (size_t)snprintf(expected + len, sizeof expected - len, i ? ", %s" : "%s", specs[i].name);
            return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": unknown parameter \"%s\" for kernel %s (expects %s)",
                             name, kernel->key, expected);
        }
        if (s->given != NULL)
            return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": parameter \"%s\" given twice (tensors[%d])", name, t);
        if ((st = check_tensor(kernel, s, &tensors[t].tensor)) != CONVGEN_OK) return st;
        s->given = &tensors[t].tensor;
    }
    for (int i = 0; i < nspec; i++)
        if (specs[i].given == NULL)
            return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, WHO ": missing parameter \"%s\" for kernel %s",
                             specs[i].name, kernel->key);

    /* The packed buffers, in stage order: weight then bias. */
    packed pk[4];
    int npk = 0, src_stage[4], is_bias[4];
    for (int j = 0; j < nst; j++) {
        const stage *g = &stages[j];
        packed *w = &pk[npk];
        *w = (packed){g->packed_w, g->packed_layout, 0, {0}};
        if (winograd_tile(g->packed_layout) > 0) {
            const int64_t alpha = winograd_tile(g->packed_layout) + 2;
            w->ndim = 4, w->shape[0] = alpha, w->shape[1] = alpha, w->shape[2] = g->i, w->shape[3] = g->o;
        } else if (!strcmp(g->packed_layout, "HWIO")) w->ndim = 4, w->shape[0] = g->kh, w->shape[1] = g->kw, w->shape[2] = g->i, w->shape[3] = g->o;
        else if (!strcmp(g->packed_layout, "IO")) w->ndim = 2, w->shape[0] = g->i, w->shape[1] = g->o;
        else if (weight_block(g->packed_layout) > 0) {
            const int64_t b = weight_block(g->packed_layout);
            w->ndim = 3, w->shape[0] = g->o / b, w->shape[1] = g->i, w->shape[2] = b;
        }
        else w->ndim = 3, w->shape[0] = g->kh, w->shape[1] = g->kw, w->shape[2] = g->o; /* HWC */
        src_stage[npk] = j, is_bias[npk++] = 0;
        if (g->packed_b) {
            pk[npk] = (packed){g->packed_b, "C", 1, {g->o}};
            src_stage[npk] = j, is_bias[npk++] = 1;
        }
    }
    int which[CONVGEN_MAX_ARGS];
    if ((st = match_args(kernel, pk, npk, which)) != CONVGEN_OK) return st;

    convgen_params *p = calloc(1, sizeof *p);
    float *buf[4] = {NULL};
    int64_t maxo = stages[0].o > stages[nst - 1].o ? stages[0].o : stages[nst - 1].o;
    double *scale = malloc((size_t)maxo * sizeof(double)), *bias = malloc((size_t)maxo * sizeof(double));
    int ok = p != NULL && scale != NULL && bias != NULL;
    for (int i = 0; ok && i < npk; i++) {
        int64_t n = 1;
        for (int d = 0; d < pk[i].ndim; d++) n *= pk[i].shape[d];
        ok = (buf[i] = alloc_floats(n)) != NULL;
    }
    if (!ok) {
        st = set_error(CONVGEN_ERROR_OUT_OF_MEMORY, WHO ": out of memory packing parameters for kernel %s", kernel->key);
        goto fail;
    }
    for (int j = 0; j < nst; j++) {
        if ((st = fold_stage(kernel, &stages[j], specs, nspec, (double)bn_eps, scale, bias)) != CONVGEN_OK) goto fail;
        for (int i = 0; i < npk; i++) {
            if (src_stage[i] != j) continue;
            if (is_bias[i])
                for (int64_t o = 0; o < stages[j].o; o++) buf[i][o] = (float)bias[o];
            else if (winograd_tile(stages[j].packed_layout) > 0)
                pack_winograd(&stages[j], find_spec(specs, nspec, stages[j].weight)->given, scale, buf[i]);
            else
                pack_weight(&stages[j], find_spec(specs, nspec, stages[j].weight)->given, scale, buf[i]);
        }
    }
    p->kernel = kernel;
    p->key = malloc(strlen(kernel->key) + 1);
    if (p->key == NULL) {
        st = set_error(CONVGEN_ERROR_OUT_OF_MEMORY, WHO ": out of memory");
        goto fail;
    }
    strcpy(p->key, kernel->key);
    p->num_args = kernel->num_args;
    for (int a = 1; a < kernel->num_args - 1; a++) p->data[a] = buf[which[a]];
    pthread_mutex_init(&p->device_lock, NULL);
    atomic_init(&p->on_device, 0);
    free(scale);
    free(bias);
    *out = p;
    return CONVGEN_OK;
fail:
    for (int i = 0; i < npk; i++) free(buf[i]);
    free(scale);
    free(bias);
    free(p);
    return st;
}

void convgen_params_free(convgen_params *params) {
    if (params == NULL) return;
    cuda_free_params(params);
    pthread_mutex_destroy(&params->device_lock);
    for (int a = 0; a < params->num_args; a++) free(params->data[a]);
    free(params->key);
    free(params);
}
