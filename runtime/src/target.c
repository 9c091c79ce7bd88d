/* Can this machine run a kernel's Halide target, and how good is that target?
 *
 * Entry points: convgen_kernel_supported and the internal target_rank().
 *
 * A Halide target string is "arch-bits-os[-feature]*", e.g. "x86-64-linux-avx512_skylake" or
 * "x86-64-linux-cuda-cuda_capability_80". The arch and bits must be the ones this library was
 * compiled for (a kernel for another architecture could not have been linked in anyway). Each
 * feature that names an instruction set must be present on this CPU; features that do not
 * (no_runtime, no_asserts, cuda, cuda_capability_*, large_buffers, ...) never restrict the CPU.
 * ISA features we know but cannot check here (avx10_1, x86_apx, armv8.x levels, ...) count as
 * unsupported: refusing a kernel is a clear error, SIGILL is not.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

enum { MAX_TOKEN = 48 };

/* Splits off the next '-'-separated token of *s into buf; returns 0 at the end. */
static int next_token(const char **s, char buf[MAX_TOKEN]) {
    if (**s == '\0') return 0;
    size_t n = strcspn(*s, "-");
    size_t copy = n < MAX_TOKEN - 1 ? n : MAX_TOKEN - 1;
    memcpy(buf, *s, copy);
    buf[copy] = '\0';
    *s += n;
    if (**s == '-') (*s)++;
    return 1;
}

#if defined(__x86_64__) || defined(__i386__)
/* x86 capabilities as bits, so that a Halide feature maps to a mask of requirements. */
enum {
    X_SSE41 = 1 << 0, X_AVX = 1 << 1, X_AVX2 = 1 << 2, X_FMA = 1 << 3, X_FMA4 = 1 << 4,
    X_F16C = 1 << 5, X_AVXVNNI = 1 << 6, X_512F = 1 << 7, X_512CD = 1 << 8, X_512ER = 1 << 9,
    X_512PF = 1 << 10, X_512VL = 1 << 11, X_512BW = 1 << 12, X_512DQ = 1 << 13,
    X_512IFMA = 1 << 14, X_512VBMI = 1 << 15, X_512VNNI = 1 << 16, X_512BF16 = 1 << 17,
    X_512VBMI2 = 1 << 18, X_512BITALG = 1 << 19, X_512POPCNT = 1 << 20,
    X_UNCHECKABLE = 1 << 30, /* never set: features gcc 12 cannot test */
};

static unsigned host_x86_features(void) {
    /* __builtin_cpu_supports needs literal names, hence the list. */
    unsigned f = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.1")) f |= X_SSE41;
    if (__builtin_cpu_supports("avx")) f |= X_AVX;
    if (__builtin_cpu_supports("avx2")) f |= X_AVX2;
    if (__builtin_cpu_supports("fma")) f |= X_FMA;
    if (__builtin_cpu_supports("fma4")) f |= X_FMA4;
    if (__builtin_cpu_supports("f16c")) f |= X_F16C;
    if (__builtin_cpu_supports("avxvnni")) f |= X_AVXVNNI;
    if (__builtin_cpu_supports("avx512f")) f |= X_512F;
    if (__builtin_cpu_supports("avx512cd")) f |= X_512CD;
    if (__builtin_cpu_supports("avx512er")) f |= X_512ER;
    if (__builtin_cpu_supports("avx512pf")) f |= X_512PF;
    if (__builtin_cpu_supports("avx512vl")) f |= X_512VL;
    if (__builtin_cpu_supports("avx512bw")) f |= X_512BW;
    if (__builtin_cpu_supports("avx512dq")) f |= X_512DQ;
    if (__builtin_cpu_supports("avx512ifma")) f |= X_512IFMA;
    if (__builtin_cpu_supports("avx512vbmi")) f |= X_512VBMI;
    if (__builtin_cpu_supports("avx512vnni")) f |= X_512VNNI;
    if (__builtin_cpu_supports("avx512bf16")) f |= X_512BF16;
    if (__builtin_cpu_supports("avx512vbmi2")) f |= X_512VBMI2;
    if (__builtin_cpu_supports("avx512bitalg")) f |= X_512BITALG;
    if (__builtin_cpu_supports("avx512vpopcntdq")) f |= X_512POPCNT;
    return f;
}

/* Halide's x86 features, each with everything it implies (Halide's complete_x86_target). */
#define X_AVX2_SET (X_AVX | X_AVX2 | X_FMA | X_F16C | X_SSE41)
#define X_512_BASE (X_AVX2_SET | X_512F | X_512CD)
#define X_SKYLAKE (X_512_BASE | X_512VL | X_512BW | X_512DQ)
#define X_CANNONLAKE (X_SKYLAKE | X_512IFMA | X_512VBMI)
#define X_ZEN4 (X_CANNONLAKE | X_512VNNI | X_512BF16 | X_512VBMI2 | X_512BITALG | X_512POPCNT)
static const struct { const char *name; unsigned needs; } k_isa[] = {
    {"sse41", X_SSE41}, {"avx", X_AVX | X_SSE41}, {"avx2", X_AVX2_SET}, {"fma", X_FMA},
    {"fma4", X_FMA4}, {"f16c", X_F16C}, {"avxvnni", X_AVX2_SET | X_AVXVNNI},
    {"avx512", X_512_BASE}, {"avx512_knl", X_512_BASE | X_512ER | X_512PF},
    {"avx512_skylake", X_SKYLAKE}, {"avx512_cannonlake", X_CANNONLAKE}, {"avx512_zen4", X_ZEN4},
    {"avx512_zen5", X_ZEN4 | X_AVXVNNI}, {"avx512_sapphirerapids", X_ZEN4 | X_AVXVNNI},
    {"avx10_1", X_UNCHECKABLE}, {"x86_apx", X_UNCHECKABLE},
};

static unsigned g_host;
static pthread_once_t g_host_once = PTHREAD_ONCE_INIT;
static void init_host(void) { g_host = host_x86_features(); }

/* 1: supported or not an ISA feature; 0: an ISA feature this CPU lacks. */
static int feature_ok(const char *feature) {
    for (size_t i = 0; i < sizeof k_isa / sizeof k_isa[0]; i++) {
        if (strcmp(feature, k_isa[i].name) != 0) continue;
        pthread_once(&g_host_once, init_host);
        return (g_host & k_isa[i].needs) == k_isa[i].needs;
    }
    return 1;
}
#define HOST_ARCH "x86"

#elif defined(__aarch64__) || defined(__arm__)
static int feature_ok(const char *feature) {
#if defined(__aarch64__) && defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    if (strcmp(feature, "arm_dot_prod") == 0) return (hw & (1UL << 20)) != 0; /* HWCAP_ASIMDDP */
    if (strcmp(feature, "arm_fp16") == 0) return (hw & (1UL << 10)) != 0;     /* HWCAP_ASIMDHP */
    if (strcmp(feature, "sve") == 0) return (hw & (1UL << 22)) != 0;          /* HWCAP_SVE */
    if (strcmp(feature, "sve2") == 0) return (hw2 & (1UL << 1)) != 0;         /* HWCAP2_SVE2 */
#endif
    if (strcmp(feature, "armv8a") == 0) return 1;
    /* armv8.1a+ levels, armv7s, and the above off Linux: known ISA, not checkable here. */
    return !(strncmp(feature, "armv", 4) == 0 || strcmp(feature, "arm_dot_prod") == 0 ||
             strcmp(feature, "arm_fp16") == 0 || strncmp(feature, "sve", 3) == 0);
}
#define HOST_ARCH "arm"

#else
static int feature_ok(const char *feature) { (void)feature; return 1; }
#define HOST_ARCH "unknown"
#endif

#define HOST_BITS (sizeof(void *) == 8 ? "64" : "32")

int convgen_kernel_supported(const convgen_kernel *kernel) {
    if (kernel == NULL || kernel->target == NULL) return 0;
    const char *s = kernel->target;
    if (strcmp(s, "host") == 0) return 1; /* compiled for the build machine, i.e. this one */
    char arch[MAX_TOKEN], bits[MAX_TOKEN], os[MAX_TOKEN], feature[MAX_TOKEN];
    if (!next_token(&s, arch) || !next_token(&s, bits) || !next_token(&s, os)) return 0;
    if (strcmp(arch, HOST_ARCH) != 0 || strcmp(bits, HOST_BITS) != 0) return 0;
    while (next_token(&s, feature))
        if (!feature_ok(feature)) return 0;
    return 1;
}

int target_rank(const char *target) {
    static const char *const gpu[] = {"opencl", "metal", "vulkan", "webgpu", "d3d12compute"};
    const char *s = target;
    char feature[MAX_TOKEN];
    int rank = 1;
    for (int i = 0; i < 3 && next_token(&s, feature); i++) {} /* skip arch-bits-os */
    while (next_token(&s, feature)) {
        /* A CUDA kernel is the best choice where a GPU is present, and no choice where none is. */
        if (strcmp(feature, "cuda") == 0) return cuda_device_present() ? 4 : -1;
        for (size_t i = 0; i < sizeof gpu / sizeof gpu[0]; i++)
            if (strcmp(feature, gpu[i]) == 0) return -1;
        if (strncmp(feature, "avx512", 6) == 0 || strcmp(feature, "avx10_1") == 0) rank = 3;
        else if (strcmp(feature, "avx2") == 0 && rank < 2) rank = 2;
    }
    return rank;
}
