/* convgen's aarch64 runner: the main of the static program that `convgen run` links for an ARM
 * kernel (with the kernel's bundle, its generated registry and the aarch64 runtime) and runs under
 * qemu-aarch64 (qemu_runner.cpp, which also describes the spec file it reads). Built at build time
 * by the aarch64 sub-build (cmake/aarch64/CMakeLists.txt) into libconvgen_arm_runner.a.
 * Exit status: 0 success, 2 a convgen call failed (its message on stderr), 1 anything else. */
#include <convgen/convgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PARAMS = 32 };

static int read_tensor(FILE *spec, char *file, convgen_tensor *t) {
    memset(t, 0, sizeof *t);
    if (fscanf(spec, "%1023s %d", file, &t->ndim) != 2 || t->ndim < 0 || t->ndim > CONVGEN_MAX_DIMS) return 0;
    long long count = 1;
    for (int i = 0; i < t->ndim; i++) {
        long long d;
        if (fscanf(spec, "%lld", &d) != 1) return 0;
        t->dims[i] = d;
        count *= d;
    }
    t->dtype = CONVGEN_F32;
    t->layout = t->ndim == 4 ? CONVGEN_LAYOUT_OIHW : CONVGEN_LAYOUT_X;
    t->data = calloc((size_t)(count > 0 ? count : 1), sizeof(float));
    return t->data != NULL;
}

static int load(const char *file, convgen_tensor *t, int write) {
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++) count *= (size_t)t->dims[i];
    FILE *f = fopen(file, write ? "wb" : "rb");
    if (!f) return 0;
    size_t done = write ? fwrite(t->data, sizeof(float), count, f) : fread(t->data, sizeof(float), count, f);
    return (fclose(f) == 0) & (done == count);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s SPEC\n", argv[0]); return 1; }
    FILE *spec = fopen(argv[1], "r");
    if (!spec) { perror(argv[1]); return 1; }
    char word[64], key[1024], file[1024], out_file[1024] = "";
    char names[MAX_PARAMS][256];
    float eps = 1e-5f;
    convgen_tensor input, output;
    convgen_named_tensor params[MAX_PARAMS];
    int nparams = 0, ok = 1;
    while (ok && fscanf(spec, "%63s", word) == 1) {
        if (!strcmp(word, "key")) ok = fscanf(spec, "%1023s", key) == 1;
        else if (!strcmp(word, "eps")) ok = fscanf(spec, "%f", &eps) == 1;
        else if (!strcmp(word, "input")) ok = read_tensor(spec, file, &input) && load(file, &input, 0);
        else if (!strcmp(word, "output")) ok = read_tensor(spec, out_file, &output);
        else if (!strcmp(word, "param") && nparams < MAX_PARAMS) {
            ok = fscanf(spec, "%255s", names[nparams]) == 1 && read_tensor(spec, file, &params[nparams].tensor) &&
                 load(file, &params[nparams].tensor, 0);
            params[nparams].name = names[nparams];
            nparams++;
        } else ok = 0;
    }
    fclose(spec);
    if (!ok || !out_file[0]) { fprintf(stderr, "runner: bad spec or data file near '%s'\n", word); return 1; }

    const convgen_kernel *k = convgen_find_kernel(key);
    convgen_params *p = NULL;
    convgen_status st = k ? convgen_prepare_params(k, params, nparams, eps, &p) : CONVGEN_ERROR_NOT_FOUND;
    if (st == CONVGEN_OK) {
        input.layout = output.layout = k->layer.layout;
        st = convgen_run(k, p, &input, &output);
        convgen_params_free(p);
    }
    if (st != CONVGEN_OK) { fprintf(stderr, "%s\n", convgen_last_error()); return 2; }
    if (!load(out_file, &output, 1)) { perror(out_file); return 1; }
    return 0;
}
