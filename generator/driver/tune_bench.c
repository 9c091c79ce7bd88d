/* convgen's exported tuning benchmark: the standalone program that `convgen tune --export DIR`
 * writes beside the candidate kernels of a target this machine cannot time (ARM, another CPU),
 * to be built and run there (DIR/Makefile). Usage: tune_bench PLAN RESULTS [THREADS [ROUNDS]].
 *
 * PLAN (export.cpp writes it) lists, per layer, its data files and candidate kernels:
 *   layer <index> <layer> <name>       then, for that layer:
 *   eps <eps> | tol <max abs error> | input FILE NDIM DIMS... | param NAME FILE NDIM DIMS... |
 *   output FILE NDIM DIMS... (the double reference's output as float32) | cand <key> <choice>
 * the first cand of a layer being its default schedule. Every candidate is run once and its
 * output checked against the reference within tol; those that pass are timed in interleaved
 * rounds (one call to warm up, then calls timed one by one for >= 20 ms; a round's value is their
 * median). RESULTS gets the plan's lines, then "cpu", "threads" and per candidate
 *   result <key> ok <us per round...>   or   result <key> failed <why>
 * which `convgen tune --import RESULTS` turns into tuning records.
 * Exit status: 0 done (failed candidates included), 1 a bad plan, data or results file. */
#define _POSIX_C_SOURCE 200809L
#include <convgen/convgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int halide_set_num_threads(int n); /* Halide's runtime, in the kernel bundle */

enum { MAX_PARAMS = 8, MAX_CANDS = 256, LINE = 4096 };

typedef struct {
    char key[512], choice[1024];
} cand;

typedef struct {
    float eps;
    double tol;
    convgen_tensor input, output, expected;
    convgen_named_tensor params[MAX_PARAMS];
    char names[MAX_PARAMS][64];
    int nparams, ncands;
    cand cands[MAX_CANDS];
} layer;

static int parse_tensor(char **save, convgen_tensor *t, int is_param) {
    char *file = strtok_r(NULL, " \n", save), *tok = strtok_r(NULL, " \n", save);
    memset(t, 0, sizeof *t);
    if (!file || !tok) return 0;
    t->ndim = atoi(tok);
    if (t->ndim < 0 || t->ndim > CONVGEN_MAX_DIMS) return 0;
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++) {
        tok = strtok_r(NULL, " \n", save);
        if (!tok || atoll(tok) <= 0) return 0;
        t->dims[i] = atoll(tok);
        count *= (size_t)t->dims[i];
    }
    t->dtype = CONVGEN_F32;
    t->layout = is_param && t->ndim == 4 ? CONVGEN_LAYOUT_OIHW : CONVGEN_LAYOUT_X;
    t->data = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    if (!t->data) return 0;
    FILE *f = fopen(file, "rb");
    size_t got = f ? fread(t->data, sizeof(float), count, f) : 0;
    if (f) fclose(f);
    if (got != count) fprintf(stderr, "tune_bench: cannot read %zu floats from %s\n", count, file);
    return got == count;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One round: a warm-up call, then calls timed one by one for >= 20 ms (at least 3); the median. */
static double time_round(const convgen_kernel *k, const convgen_params *p, layer *l) {
    static double us[100000];
    int n = 0;
    convgen_run(k, p, &l->input, &l->output);
    const double start = now_us();
    while (n < 100000) {
        const double t0 = now_us();
        convgen_run(k, p, &l->input, &l->output);
        const double t1 = now_us();
        us[n++] = t1 - t0;
        if (n >= 3 && t1 - start >= 20e3) break;
    }
    qsort(us, (size_t)n, sizeof us[0], cmp_double);
    return us[n / 2];
}

static void free_layer(layer *l) {
    free(l->input.data);
    free(l->output.data);
    free(l->expected.data);
    for (int i = 0; i < l->nparams; i++) free(l->params[i].tensor.data);
    memset(l, 0, sizeof *l);
}

/* Checks and times the candidates of one layer; writes their result lines. */
static void bench_layer(layer *l, FILE *out, int rounds) {
    const convgen_kernel *k[MAX_CANDS];
    convgen_params *p[MAX_CANDS];
    int ok[MAX_CANDS];
    double *times = calloc((size_t)(l->ncands * rounds), sizeof(double));
    if (!times) { fprintf(stderr, "tune_bench: out of memory\n"); exit(1); }
    l->output = l->expected;
    size_t count = 1;
    for (int d = 0; d < l->expected.ndim; d++) count *= (size_t)l->expected.dims[d];
    l->output.data = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    if (!l->output.data) { fprintf(stderr, "tune_bench: out of memory\n"); exit(1); }
    for (int c = 0; c < l->ncands; c++) {
        char why[256] = "";
        p[c] = NULL;
        k[c] = convgen_find_kernel(l->cands[c].key);
        if (!k[c]) snprintf(why, sizeof why, "not in this program");
        else if (!convgen_kernel_supported(k[c])) snprintf(why, sizeof why, "this CPU cannot run its target");
        else if (convgen_prepare_params(k[c], l->params, l->nparams, l->eps, &p[c]) != CONVGEN_OK)
            snprintf(why, sizeof why, "%s", convgen_last_error());
        if (!why[0]) {
            l->input.layout = l->output.layout = k[c]->layer.layout;
            if (convgen_run(k[c], p[c], &l->input, &l->output) != CONVGEN_OK) snprintf(why, sizeof why, "%s", convgen_last_error());
        }
        if (!why[0]) {
            double err = 0;
            const float *o = l->output.data, *e = l->expected.data;
            for (size_t i = 0; i < count; i++) {
                const double d = fabs((double)o[i] - (double)e[i]);
                if (!(d <= err)) err = d; /* NaN counts as the worst error */
            }
            if (!(err <= l->tol)) snprintf(why, sizeof why, "wrong result (max error %.3g > %.3g)", err, l->tol);
        }
        ok[c] = !why[0];
        if (!ok[c]) fprintf(out, "result %s failed %s\n", l->cands[c].key, why);
    }
    for (int r = 0; r < rounds; r++)
        for (int c = 0; c < l->ncands; c++)
            if (ok[c]) times[c * rounds + r] = time_round(k[c], p[c], l);
    for (int c = 0; c < l->ncands; c++) {
        if (ok[c]) {
            fprintf(out, "result %s ok", l->cands[c].key);
            for (int r = 0; r < rounds; r++) fprintf(out, " %.4f", times[c * rounds + r]);
            fprintf(out, "\n");
        }
        convgen_params_free(p[c]);
    }
    free(times);
}

static void cpu_line(FILE *out) {
    char line[LINE], vendor[256] = "unknown", name[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *v = colon + 1 + strspn(colon + 1, " \t");
        v[strcspn(v, "\n")] = 0;
        if (!strncmp(line, "vendor_id", 9) || !strncmp(line, "CPU implementer", 15)) snprintf(vendor, sizeof vendor, "%s", v);
        else if (!strncmp(line, "model name", 10) || !strncmp(line, "CPU part", 8)) snprintf(name, sizeof name, "%s", v);
    }
    if (f) fclose(f);
    fprintf(out, "cpu %s|%s\n", vendor, name);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) { fprintf(stderr, "usage: %s PLAN RESULTS [THREADS [ROUNDS]]\n", argv[0]); return 1; }
    const int threads = argc > 3 ? atoi(argv[3]) : 2, rounds = argc > 4 ? atoi(argv[4]) : 15;
    if (threads < 1 || rounds < 1 || rounds > 1000) { fprintf(stderr, "tune_bench: bad THREADS or ROUNDS\n"); return 1; }
    FILE *plan = fopen(argv[1], "r");
    if (!plan) { perror(argv[1]); return 1; }
    char tmp[LINE];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
    FILE *out = fopen(tmp, "w");
    if (!out) { perror(tmp); return 1; }
    halide_set_num_threads(threads);
    static layer l;
    int have_layer = 0, lineno = 0, ok = 1;
    char line[LINE];
    while (ok && fgets(line, sizeof line, plan)) {
        lineno++;
        fputs(line, out);
        char copy[LINE], *save = NULL;
        snprintf(copy, sizeof copy, "%s", line);
        const char *word = strtok_r(copy, " \n", &save);
        if (!word) continue;
        if (!strcmp(word, "layer") || !strcmp(word, "end")) {
            if (have_layer) {
                bench_layer(&l, out, rounds);
                free_layer(&l);
            }
            have_layer = !strcmp(word, "layer");
        } else if (!have_layer) {
            continue; /* the plan's header lines */
        } else if (!strcmp(word, "eps")) {
            const char *v = strtok_r(NULL, " \n", &save);
            ok = v != NULL, l.eps = v ? strtof(v, NULL) : 0;
        } else if (!strcmp(word, "tol")) {
            const char *v = strtok_r(NULL, " \n", &save);
            ok = v != NULL, l.tol = v ? strtod(v, NULL) : 0;
        } else if (!strcmp(word, "input")) {
            ok = parse_tensor(&save, &l.input, 0);
        } else if (!strcmp(word, "output")) {
            ok = parse_tensor(&save, &l.expected, 0);
        } else if (!strcmp(word, "param") && l.nparams < MAX_PARAMS) {
            const char *name = strtok_r(NULL, " \n", &save);
            ok = name && strlen(name) < sizeof l.names[0];
            if (ok) {
                strcpy(l.names[l.nparams], name);
                l.params[l.nparams].name = l.names[l.nparams];
                ok = parse_tensor(&save, &l.params[l.nparams].tensor, 1);
                l.nparams++;
            }
        } else if (!strcmp(word, "cand") && l.ncands < MAX_CANDS) {
            const char *key = strtok_r(NULL, " \n", &save), *choice = strtok_r(NULL, " \n", &save);
            ok = key && choice && strlen(key) < sizeof l.cands[0].key && strlen(choice) < sizeof l.cands[0].choice;
            if (ok) {
                strcpy(l.cands[l.ncands].key, key);
                strcpy(l.cands[l.ncands].choice, choice);
                l.ncands++;
            }
        } else {
            ok = 0;
        }
        if (!strcmp(word, "end")) {
            cpu_line(out);
            fprintf(out, "threads %d\n", threads);
            break;
        }
    }
    fclose(plan);
    if (!ok) { fprintf(stderr, "tune_bench: %s:%d: bad line\n", argv[1], lineno); fclose(out); remove(tmp); return 1; }
    if (fclose(out) != 0 || rename(tmp, argv[2]) != 0) { perror(argv[2]); return 1; }
    return 0;
}
