// Numerical test of every generated kernel linked into this program (tests/numeric/layers.json,
// both layouts, AVX2 and AVX-512): one GoogleTest per kernel key, through the real path a user
// takes (generated registry -> convgen_prepare_params from PyTorch-layout weights -> convgen_run),
// against the double-precision reference of generator/reference.h.
// A kernel whose ISA this CPU lacks is reported as [SKIP] (GTEST_SKIP), never as a pass; ctest
// lists each gtest as numeric.<kind>.<key> and shows such a kernel as skipped.
// CONVGEN_TEST_CPU_LACKS=<word> treats kernels whose target string contains <word> as
// unsupported, so skip_check.sh can prove the skip reporting on a CPU that has every ISA.
#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/spec/npy.h"
#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace convgen;

class KernelTest : public testing::Test {
public:
    explicit KernelTest(const convgen_kernel *k) : k_(k) {}
    void TestBody() override {
        if (!convgen_kernel_supported(k_)) GTEST_SKIP() << "[SKIP] this CPU cannot run " << k_->target;
        const char *lacks = std::getenv("CONVGEN_TEST_CPU_LACKS");
        if (lacks && *lacks && std::strstr(k_->target, lacks))
            GTEST_SKIP() << "[SKIP] CONVGEN_TEST_CPU_LACKS=" << lacks << " hides " << k_->target;
        const LayerSpec s = spec_of(k_->layer);  // eps: the default 1e-5 (lit tests cover eps=)
        ASSERT_EQ(kernel_key(s, std::string(k_->key).substr(std::string(k_->key).find("__") + 2)), k_->key);

        Tensor input = random_input(s, 7);
        NamedTensors params = random_params(s, 11);
        std::vector<convgen_named_tensor> named = named_tensors(params);
        convgen_params *p = nullptr;
        ASSERT_EQ(convgen_prepare_params(k_, named.data(), int(named.size()), s.eps, &p), CONVGEN_OK)
            << convgen_last_error();

        const std::vector<int64_t> out_shape = output_shape(s);
        int64_t elems = 1;
        for (int64_t d : out_shape) elems *= d;
        // Sentinel values: a kernel that skips an output element fails the comparison.
        std::vector<float> out(size_t(elems), 12345.f);
        const convgen_layout layout = k_->layer.layout;
        convgen_tensor in_t = host_tensor(input.data.data(), input.shape, layout);
        convgen_tensor out_t = host_tensor(out.data(), out_shape, layout);
        convgen_status st = convgen_run(k_, p, &in_t, &out_t);
        convgen_params_free(p);
        ASSERT_EQ(st, CONVGEN_OK) << convgen_last_error();

        Comparison c = compare(out, reference_forward(s, input, params), tolerance(s));
        EXPECT_TRUE(c.ok) << k_->key << ": max |error| " << c.max_abs_err << " at flat index " << c.worst_index
                          << " exceeds tolerance " << c.tol;
    }

private:
    const convgen_kernel *k_;
};

}  // namespace

int main(int argc, char **argv) {
    testing::InitGoogleTest(&argc, argv);
    if (convgen_kernel_count() == 0) {
        std::fprintf(stderr, "test_numeric: no kernels registered (generated registries not linked?)\n");
        return 1;
    }
    for (int i = 0; i < convgen_kernel_count(); i++) {
        const convgen_kernel *k = convgen_kernel_at(i);
        const std::string key = k->key;
        const std::string kind = key.substr(0, key.find('_'));
        testing::RegisterTest(kind.c_str(), key.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                              [k]() -> testing::Test * { return new KernelTest(k); });
    }
    return RUN_ALL_TESTS();
}
