/* Can this machine run a kernel's Halide target, and how good is that target?
 *
 * Entry points: convgen_kernel_supported and the internal target_rank().
 *
 * convgen keeps no CPU-feature table: the generated registry gives each kernel its Halide
 * target's feature bitmask and halide_can_use_target_features of the kernel's own Halide runtime,
 * which checks the mask against this CPU (cpuid on x86, hwcaps on AArch64) with Halide's own list,
 * the check Halide's multi-target dispatch makes. Its answer means "not known to be unsafe":
 * features it does not probe (GPU APIs, no_asserts, ISAs that runtime does not know) pass.
 *
 * Before asking it, the target string "arch-bits-os[-feature]*" (e.g.
 * "x86-64-linux-avx512_skylake") must name the arch and bits this library was compiled for: a
 * kernel for another architecture could not have been linked in anyway, and the test is cheap.
 * A kernel without the bitmask or the check (a hand-made table, or one generated before convgen
 * emitted them) cannot be checked: it is supported only when its target names no feature beyond
 * arch-bits-os but CUDA's (cuda, cuda_capability_*), which ask nothing of the CPU. Refusing a
 * kernel is a clear error, SIGILL is not.
 *
 * Ranking, for convgen_find_kernel_for_layer: a CUDA kernel (Halide's cuda feature) is the best
 * choice where a CUDA device is present and no choice where none is; other GPU APIs are no
 * choice; CPU kernels rank by Halide's natural vector width for their target (AVX-512 over AVX2
 * over SSE4.1), then by how many feature bits the target has (more features: more specialised,
 * e.g. arm_dot_prod over plain NEON). The width comes from the generator because Halide's
 * feature bits alone do not order ISAs: avx512_skylake is one bit, avx2-fma two.
 */
#include <string.h>

#include <HalideRuntime.h>

#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define HOST_ARCH "x86"
#elif defined(__aarch64__) || defined(__arm__)
#define HOST_ARCH "arm"
#else
#define HOST_ARCH "unknown"
#endif
#define HOST_BITS (sizeof(void *) == 8 ? "64" : "32")

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

/* Whether the kernel carries its target's feature bitmask and its runtime's check of it. */
static int has_feature_check(const convgen_kernel *k) {
    return k->features != NULL && k->feature_words > 0 && k->can_use_target_features != NULL;
}

/* 1 when the kernel's feature bitmask has halide_target_feature_t f. */
static int has_feature(const convgen_kernel *k, int f) {
    return f / 64 < k->feature_words && ((k->features[f / 64] >> (f % 64)) & 1) != 0;
}

int convgen_kernel_supported(const convgen_kernel *kernel) {
    if (kernel == NULL || kernel->target == NULL) return 0;
    const char *s = kernel->target;
    if (strcmp(s, "host") == 0) return 1; /* compiled for the build machine, i.e. this one */
    char arch[MAX_TOKEN], bits[MAX_TOKEN], os[MAX_TOKEN], feature[MAX_TOKEN];
    if (!next_token(&s, arch) || !next_token(&s, bits) || !next_token(&s, os)) return 0;
    if (strcmp(arch, HOST_ARCH) != 0 || strcmp(bits, HOST_BITS) != 0) return 0;
    if (has_feature_check(kernel))
        return kernel->can_use_target_features(kernel->feature_words, kernel->features) != 0;
    while (next_token(&s, feature))
        if (strcmp(feature, "cuda") != 0 && strncmp(feature, "cuda_capability_", 16) != 0) return 0;
    return 1;
}

int64_t target_rank(const convgen_kernel *kernel) {
    static const int other_gpu[] = {halide_target_feature_opencl, halide_target_feature_metal,
                                    halide_target_feature_vulkan, halide_target_feature_webgpu,
                                    halide_target_feature_d3d12compute};
    int cuda, gpu = 0;
    int64_t count = 0;
    if (kernel->features != NULL) {
        cuda = has_feature(kernel, halide_target_feature_cuda);
        for (size_t i = 0; i < sizeof other_gpu / sizeof other_gpu[0]; i++) gpu |= has_feature(kernel, other_gpu[i]);
        for (int w = 0; w < kernel->feature_words; w++)
            for (uint64_t bits = kernel->features[w]; bits != 0; bits &= bits - 1) count++;
    } else {
        cuda = is_cuda_target(kernel->target); /* the only features such a kernel can be supported with */
    }
    /* A CUDA kernel is the best choice where a GPU is present, and no choice where none is. */
    if (cuda) return cuda_device_present() ? INT64_MAX : -1;
    if (gpu) return -1;
    /* Width first: the count (at most 64 * CONVGEN_MAX_FEATURE_WORDS) never outweighs a wider vector. */
    return ((int64_t)kernel->natural_vector_bits << 31) + count + 1;
}
