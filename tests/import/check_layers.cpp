// check_layers GEN_DIR TENSOR_DIR: runs every layer of a `convgen generate --model` folder on the
// model's own data and compares it with the model's own intermediate tensors.
//
// GEN_DIR holds the kernels (manifest.json, the bundle), layers.json and params/<layer>.npz as
// `convgen generate --model` writes them; TENSOR_DIR holds <layer>.in.npy (the tensor the
// layer's first conv reads) and <layer>.out.npy (what the model computes after the last node the
// layer fused), written by the test script from PyTorch forward hooks. Each layer runs through
// the runtime (convgen_prepare_params folds nothing but the identity BN of dwsep: the importer
// folded the model's) and must match the model's tensor within the reference's tolerance scaled
// by the tensor's magnitude. Prints a line per layer; exit 1 if any fails, 2 on bad input.
#include "generator/driver/compile.h"
#include "generator/driver/loader.h"
#include "generator/driver/targets.h"
#include "generator/harness/runtime_bridge.h"
#include "generator/spec/npy.h"
#include "generator/spec/reference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

using namespace convgen;

namespace {

// The file stem `convgen generate --model` gives a layer (commands.cpp file_stem).
std::string file_stem(const std::string &name) {
    std::string s;
    for (char ch : name) s += std::isalnum((unsigned char)ch) || ch == '.' || ch == '-' ? ch : '_';
    const size_t b = s.find_first_not_of('_');
    return b == std::string::npos ? "layer" : s.substr(b);
}

int run(const std::string &gen, const std::string &tensors) {
    const ResolvedTarget target = resolve_target("host");
    LoadedBundle bundle(gen);
    int failed = 0, passed = 0;
    for (const LayerSpec &layer : parse_layer_file(gen + "/layers.json")) {
        const LayerSpec spec = specialize(layer, target).spec;
        const std::string key = kernel_key(spec, target.key), stem = file_stem(spec.name);
        const convgen_kernel *k = bundle.find(key);
        if (!k) throw SpecError("kernel " + key + " of layer " + spec.name + " is missing from " + gen);
        NamedTensors params = read_npz(gen + "/params/" + stem + ".npz");
        Tensor in = read_npy(tensors + "/" + stem + ".in.npy"), want = read_npy(tensors + "/" + stem + ".out.npy");
        const auto args = kernel_args(spec);
        if (in.shape != args.front().shape || want.shape != args.back().shape)
            throw SpecError(spec.name + ": tensors " + shape_str(in.shape) + " -> " + shape_str(want.shape) +
                            " but the layer takes " + shape_str(args.front().shape) + " -> " + shape_str(args.back().shape));
        std::vector<convgen_named_tensor> named = named_tensors(params);
        convgen_params *p = nullptr;
        if (convgen_prepare_params(k, named.data(), int(named.size()), spec.eps, &p) != CONVGEN_OK)
            throw SpecError(spec.name + ": " + convgen_last_error());
        Tensor out{want.shape, std::vector<float>(want.data.size(), 0.f)};
        convgen_tensor ti = host_tensor(in.data.data(), in.shape, layout_of(spec));
        convgen_tensor to = host_tensor(out.data.data(), out.shape, layout_of(spec));
        const convgen_status st = convgen_run(k, p, &ti, &to);
        convgen_params_free(p);
        if (st != CONVGEN_OK) throw SpecError(spec.name + ": " + convgen_last_error());

        // The reference's bound is for O(1) data; the model's tensors are scaled by its weights.
        double scale = 1;
        for (float v : want.data) scale = std::max(scale, double(std::fabs(v)));
        const Comparison c = compare(out.data, std::vector<double>(want.data.begin(), want.data.end()),
                                     tolerance(spec) * scale);
        (c.ok ? passed : failed)++;
        std::printf("%-9s %-50s %-16s max_err %.2e tol %.2e  %s\n", to_string(spec.kind), spec.name.c_str(),
                    shape_str(want.shape).c_str(), c.max_abs_err, c.tol, c.ok ? "PASS" : "FAIL");
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed || !passed ? 1 : 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: check_layers GEN_DIR TENSOR_DIR\n");
        return 2;
    }
    try {
        return run(argv[1], argv[2]);
    } catch (const SpecError &e) {
        std::fprintf(stderr, "check_layers: error: %s\n", e.what());
        return 2;
    }
}
