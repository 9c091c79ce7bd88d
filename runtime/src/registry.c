/* The kernel registry: every kernel the program linked, looked up by key or by layer.
 *
 * Entry points: convgen_register_kernels, convgen_kernel_count, convgen_kernel_at,
 * convgen_find_kernel, convgen_find_kernel_for_layer, and the internal check_kernel().
 *
 * Tables are registered from static initializers of generated registry sources (possibly
 * several bundles, possibly the same one twice), so the registry is a growable array of kernel
 * pointers plus the list of tables already seen, both behind one mutex. Tables are never copied:
 * they must outlive the program, and pointers handed out stay valid. When two tables hold the
 * same key, lookups by key return the first one registered.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static const convgen_kernel **g_kernels; /* every registered kernel, in registration order */
static int g_count, g_capacity;
static const convgen_kernel **g_tables; /* the first element of each table registered */
static int g_table_count, g_table_capacity;

/* Grows *array (of pointers) to hold at least `need` entries; 0 on out of memory. */
static int reserve(const convgen_kernel ***array, int *capacity, int need) {
    if (need <= *capacity) return 1;
    int cap = *capacity ? *capacity * 2 : 64;
    while (cap < need) cap *= 2;
    const convgen_kernel **grown = realloc(*array, (size_t)cap * sizeof **array);
    if (grown == NULL) return 0;
    *array = grown;
    *capacity = cap;
    return 1;
}

convgen_status check_kernel(const convgen_kernel *k, const char *who) {
    if (k == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "%s: kernel is NULL", who);
    if (k->key == NULL) return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "%s: kernel has a NULL key", who);
    if (k->target == NULL || k->argv_fn == NULL || k->args == NULL)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "%s: kernel %s has a NULL %s", who, k->key,
                         k->target == NULL ? "target" : k->argv_fn == NULL ? "argv_fn" : "args table");
    if (k->num_args < 2 || k->num_args > CONVGEN_MAX_ARGS)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "%s: kernel %s has %d args, expected 2 to %d", who,
                         k->key, k->num_args, CONVGEN_MAX_ARGS);
    if (k->feature_words < 0 || k->feature_words > CONVGEN_MAX_FEATURE_WORDS ||
        (k->features != NULL) != (k->feature_words > 0) || k->natural_vector_bits < 0)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         "%s: kernel %s has %d feature words at %p (expected 0 and NULL, or 1 to %d words) and "
                         "natural_vector_bits %d (expected >= 0)",
                         who, k->key, k->feature_words, (const void *)k->features, CONVGEN_MAX_FEATURE_WORDS,
                         k->natural_vector_bits);
    for (int i = 0; i < k->num_args; i++) {
        const convgen_arg_info *a = &k->args[i];
        if (a->name == NULL || a->layout == NULL || a->ndim < 1 || a->ndim > CONVGEN_MAX_DIMS)
            return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                             "%s: kernel %s arg %d has a NULL name or layout, or ndim %d", who, k->key, i, a->ndim);
    }
    const convgen_arg_info *in = &k->args[0], *out = &k->args[k->num_args - 1];
    if (strcmp(in->name, "input") != 0 || strcmp(out->name, "output") != 0 || in->ndim != 4 || out->ndim != 4)
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT,
                         "%s: kernel %s args must start with a 4-D \"input\" and end with a 4-D \"output\", "
                         "got \"%s\" (ndim %d) ... \"%s\" (ndim %d)",
                         who, k->key, in->name, in->ndim, out->name, out->ndim);
    return CONVGEN_OK;
}

convgen_status convgen_register_kernels(const convgen_kernel *kernels, int count) {
    if (count < 0 || (kernels == NULL && count > 0))
        return set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "convgen_register_kernels: table %p with count %d",
                         (const void *)kernels, count);
    if (count == 0) return CONVGEN_OK;
    for (int i = 0; i < count; i++) {
        convgen_status st = check_kernel(&kernels[i], "convgen_register_kernels");
        if (st != CONVGEN_OK) return st; /* all or nothing: a half-registered table helps nobody */
    }
    convgen_status st = CONVGEN_OK;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_table_count; i++)
        if (g_tables[i] == kernels) goto done; /* the same table again: a no-op */
    if (!reserve(&g_tables, &g_table_capacity, g_table_count + 1) ||
        !reserve(&g_kernels, &g_capacity, g_count + count)) {
        st = set_error(CONVGEN_ERROR_OUT_OF_MEMORY, "convgen_register_kernels: no memory for %d more kernels",
                       count);
        goto done;
    }
    g_tables[g_table_count++] = kernels;
    for (int i = 0; i < count; i++) g_kernels[g_count++] = &kernels[i];
done:
    pthread_mutex_unlock(&g_lock);
    return st;
}

int convgen_kernel_count(void) {
    pthread_mutex_lock(&g_lock);
    int n = g_count;
    pthread_mutex_unlock(&g_lock);
    return n;
}

const convgen_kernel *convgen_kernel_at(int index) {
    pthread_mutex_lock(&g_lock);
    const convgen_kernel *k = index >= 0 && index < g_count ? g_kernels[index] : NULL;
    int n = g_count;
    pthread_mutex_unlock(&g_lock);
    if (k == NULL)
        set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "convgen_kernel_at: index %d is outside [0, %d)", index, n);
    return k;
}

const convgen_kernel *convgen_find_kernel(const char *key) {
    if (key == NULL) {
        set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "convgen_find_kernel: key is NULL");
        return NULL;
    }
    const convgen_kernel *found = NULL;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_count && found == NULL; i++)
        if (strcmp(g_kernels[i]->key, key) == 0) found = g_kernels[i];
    int n = g_count;
    pthread_mutex_unlock(&g_lock);
    if (found == NULL)
        set_error(CONVGEN_ERROR_NOT_FOUND, "convgen_find_kernel: no kernel with key \"%s\" among %d registered",
                  key, n);
    return found;
}

/* dwsep's depthwise-stage activation, as a convgen_act (dw_act SAME means act). */
static int dw_stage_act(const convgen_layer *l) {
    return l->dw_act == CONVGEN_DW_ACT_SAME ? (int)l->act : (int)l->dw_act - CONVGEN_DW_ACT_NONE;
}

/* Field by field: struct padding must not decide equality. */
static int same_layer(const convgen_layer *a, const convgen_layer *b) {
    return a->kind == b->kind && a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w &&
           a->cout == b->cout && a->kh == b->kh && a->kw == b->kw && a->sh == b->sh && a->sw == b->sw &&
           a->pad_t == b->pad_t && a->pad_l == b->pad_l && a->pad_b == b->pad_b && a->pad_r == b->pad_r &&
           a->dh == b->dh && a->dw == b->dw && a->groups == b->groups && a->multiplier == b->multiplier &&
           a->bias == b->bias && a->act == b->act && dw_stage_act(a) == dw_stage_act(b) && a->layout == b->layout;
}

const convgen_kernel *convgen_find_kernel_for_layer(const convgen_layer *layer) {
    if (layer == NULL) {
        set_error(CONVGEN_ERROR_INVALID_ARGUMENT, "convgen_find_kernel_for_layer: layer is NULL");
        return NULL;
    }
    const convgen_kernel *best = NULL, *unsupported = NULL;
    int64_t best_rank = -1;
    int matches = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_count; i++) {
        const convgen_kernel *k = g_kernels[i];
        if (!same_layer(&k->layer, layer)) continue;
        matches++;
        if (!convgen_kernel_supported(k)) {
            unsupported = k;
            continue;
        }
        int64_t rank = target_rank(k);
        if (rank < 0) {
            unsupported = k;
            continue;
        }
        if (rank > best_rank) best = k, best_rank = rank; /* ties: the first registered wins */
    }
    pthread_mutex_unlock(&g_lock);
    if (best == NULL) {
        const convgen_layer *l = layer;
        set_error(CONVGEN_ERROR_NOT_FOUND,
                  "convgen_find_kernel_for_layer: no kernel this CPU runs for layer kind %d n%dc%dh%dw%d o%d "
                  "k%dx%d s%dx%d p%d,%d,%d,%d d%dx%d g%d m%d bias %d act %d %s (%d registered kernels match "
                  "the layer%s%s)",
                  (int)l->kind, l->n, l->c, l->h, l->w, l->cout, l->kh, l->kw, l->sh, l->sw, l->pad_t, l->pad_l,
                  l->pad_b, l->pad_r, l->dh, l->dw, l->groups, l->multiplier, l->bias, (int)l->act,
                  layout_name(l->layout), matches, unsupported ? "; unsupported target e.g. " : "",
                  unsupported ? unsupported->target : "");
    }
    return best;
}
