// Numerical test of the ARM (AArch64 NEON) kernels, cross-compiled with aarch64-linux-gnu-g++ and
// run under qemu-aarch64 by ctest (tests/arm/CMakeLists.txt). Every kernel of tests/arm/layers.json
// (both layouts) goes through the real path a user takes (generated registry ->
// convgen_prepare_params from PyTorch-layout weights -> convgen_run) and is compared with the
// double-precision reference of generator/reference.h. No GoogleTest here (no aarch64 build of
// it): one line per kernel, PASS or FAIL, and exit status 1 if any failed.
#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"
#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"

#include <cstdio>
#include <string>
#include <vector>

namespace {

using namespace convgen;

// "" when the kernel matches the reference, else why not.
std::string check(const convgen_kernel *k) {
    if (!convgen_kernel_supported(k)) return std::string("unsupported target ") + k->target;
    const LayerSpec s = spec_of(k->layer);
    const std::string key = k->key;
    if (kernel_key(s, key.substr(key.find("__") + 2)) != key) return "registry layer does not give its key";
    Tensor input = random_input(s, 7);
    NamedTensors params = random_params(s, 11);
    std::vector<convgen_named_tensor> named = named_tensors(params);
    convgen_params *p = nullptr;
    if (convgen_prepare_params(k, named.data(), int(named.size()), s.eps, &p) != CONVGEN_OK)
        return std::string("prepare_params: ") + convgen_last_error();
    const std::vector<int64_t> out_shape = output_shape(s);
    int64_t elems = 1;
    for (int64_t d : out_shape) elems *= d;
    std::vector<float> out(size_t(elems), 12345.f);  // a skipped output element fails the comparison
    convgen_tensor in_t = host_tensor(input.data.data(), input.shape, k->layer.layout);
    convgen_tensor out_t = host_tensor(out.data(), out_shape, k->layer.layout);
    const convgen_status st = convgen_run(k, p, &in_t, &out_t);
    convgen_params_free(p);
    if (st != CONVGEN_OK) return std::string("run: ") + convgen_last_error();
    const Comparison c = compare(out, reference_forward(s, input, params), tolerance(s));
    if (c.ok) return "";
    return "max |error| " + std::to_string(c.max_abs_err) + " at flat index " + std::to_string(c.worst_index) +
           " exceeds tolerance " + std::to_string(c.tol);
}

}  // namespace

int main() {
    const int count = convgen_kernel_count();
    if (count == 0) {
        std::fprintf(stderr, "test_arm: no kernels registered (generated registries not linked?)\n");
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < count; i++) {
        const convgen_kernel *k = convgen_kernel_at(i);
        const std::string why = check(k);
        std::printf("%s %s%s%s\n", why.empty() ? "PASS" : "FAIL", k->key, why.empty() ? "" : ": ", why.c_str());
        failed += !why.empty();
    }
    std::printf("%d passed, %d failed (aarch64 under emulation)\n", count - failed, failed);
    return failed ? 1 : 0;
}
