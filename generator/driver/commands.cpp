// The convgen subcommands: info, generate, run, check, targets (see README.md, "Command line").
// Bad input throws SpecError; main.cpp prints its one line and exits with status 2.
#include "generator/driver/commands.h"

#include "generator/driver/compile.h"
#include "convgen/convgen.h"
#include "generator/spec/layer_spec.h"
#include "generator/driver/loader.h"
#include "generator/driver/manifest.h"
#include "generator/spec/npy.h"
#include "generator/harness/prepared_call.h"
#include "generator/driver/qemu_runner.h"
#include "generator/spec/reference.h"
#include "generator/harness/runtime_bridge.h"
#include "generator/driver/targets.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace convgen {

namespace {

std::vector<LayerSpec> load_layers(const LayerSource &src) {
    if (src.layer.empty() == src.layers_file.empty()) throw SpecError("give exactly one of --layer or --layers");
    std::vector<LayerSpec> layers = src.layer.empty() ? parse_layer_file(src.layers_file)
                                                      : std::vector<LayerSpec>{parse_layer(src.layer)};
    for (LayerSpec &s : layers) s = with_overrides(s, src.sets);
    return layers;
}

std::string dims_str(const std::vector<int64_t> &shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); i++) s += (i ? "x" : "") + std::to_string(shape[i]);
    return s;
}

nlohmann::json info_json(const LayerSpec &s) {
    const Counts c = count(s);
    const auto args = kernel_args(s);
    return {{"name", s.name},
            {"spec", to_text(s)},
            {"input", {{"shape", args.front().shape}, {"layout", args.front().layout}}},
            {"output", {{"shape", args.back().shape}, {"layout", args.back().layout}}},
            {"params", c.params},
            {"params_with_bias", c.params_with_bias},
            {"macs", c.macs},
            {"flops", c.flops},
            {"bytes", c.bytes},
            {"intensity", c.intensity}};
}

void check_status(convgen_status st, const std::string &what) {
    if (st != CONVGEN_OK) throw SpecError(what + ": " + convgen_last_error());
}

// Generates (or reuses) the kernels of `layers` for one target in `dir` and loads them.
std::unique_ptr<LoadedBundle> build_and_load(const std::vector<LayerSpec> &layers, const ResolvedTarget &target,
                                             const std::string &dir, bool verbose) {
    GenerateOptions g;
    g.out_dir = dir;
    g.bundle = "convgen_kernels";
    g.verbose = verbose;
    generate(layers, {target}, g);
    return std::make_unique<LoadedBundle>(dir);
}

std::string default_cache_dir() {
    if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/convgen";
    if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/convgen";
    return "/tmp/convgen-cache";
}

}  // namespace

int cmd_info(const InfoOptions &o) {
    const std::vector<LayerSpec> layers = load_layers(o.src);
    if (o.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const LayerSpec &s : layers) out.push_back(info_json(s));
        std::cout << (o.src.layer.empty() ? out : out[0]).dump(2) << "\n";
        return 0;
    }
    for (const LayerSpec &s : layers) {
        const Counts c = count(s);
        const auto args = kernel_args(s);
        if (!s.name.empty()) std::cout << "name:      " << s.name << "\n";
        std::cout << "layer:     " << to_text(s) << "\n"
                  << "input:     " << dims_str(args.front().shape) << " (" << args.front().layout << ")\n"
                  << "output:    " << dims_str(args.back().shape) << " (" << args.back().layout << ")\n"
                  << "params:    " << c.params << " (with bias " << c.params_with_bias << ")\n"
                  << "MACs:      " << c.macs << "\n"
                  << "FLOPs:     " << c.flops << "\n"
                  << "bytes:     " << c.bytes << " (minimal: input, weights, biases, output)\n";
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", c.intensity);
        std::cout << "intensity: " << buf << " FLOP/byte\n\n";
    }
    return 0;
}

int cmd_generate(const GenerateCliOptions &o) {
    const std::vector<LayerSpec> layers = load_layers(o.src);
    const std::vector<ResolvedTarget> targets = resolve_targets(o.targets);
    GenerateOptions g;
    g.out_dir = o.out_dir;
    g.bundle = o.bundle;
    g.assembly = o.assembly;
    g.stmt = o.stmt;
    g.verbose = o.verbose;
    g.jobs = o.jobs;
    if (g.jobs < 1) throw SpecError("--jobs: " + std::to_string(g.jobs) + " must be >= 1");
    bool identifier = !g.bundle.empty() && !std::isdigit((unsigned char)g.bundle[0]);
    for (char ch : g.bundle) identifier &= std::isalnum((unsigned char)ch) || ch == '_';
    if (!identifier) throw SpecError("--bundle: '" + g.bundle + "' must be a C identifier (letters, digits, _)");
    const GenerateResult r = generate(layers, targets, g);
    int reused = 0;
    for (const auto &k : r.kernels) reused += k.reused;
    std::cout << "generated " << r.kernels.size() << " kernel(s) (" << reused << " reused) for " << targets.size()
              << " target(s) into " << o.out_dir << " (manifest.json, lib" << g.bundle << ".a, convgen_registry.c)\n";
    return 0;
}

int cmd_run(const RunOptions &o) {
    const ResolvedTarget target = resolve_target(o.target);
    const LayerSpec spec = specialize(parse_layer(o.layer), target);
    // Read the user's data before compiling, so bad files fail fast.
    Tensor input = read_npy(o.input);
    // A PyTorch state_dict also holds BatchNorm's int64 step counters: bookkeeping, not parameters.
    // Only the layer's parameters, each no larger than the layer needs, are read (npy.h).
    NpzExpect expect;
    expect.skip = [](const std::string &name) {
        const std::string suffix = "num_batches_tracked";
        return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (const auto &[name, shape] : expected_params(spec)) expect.numel[name] = Tensor{shape, {}}.numel();
    NamedTensors params = read_npz(o.params, expect);

    const std::string key = kernel_key(spec, target.key);
    const std::string dir = (o.cache_dir.empty() ? default_cache_dir() : o.cache_dir) + "/" + key;
    if (needs_emulator(target.target)) {  // ARM kernels on this x86 machine (qemu_runner.h)
        write_npy(o.output, run_under_qemu(spec, target, dir, input, params));
        std::cerr << "ran " << key << ": " << o.input << " -> " << o.output << " ("
                  << dims_str(kernel_args(spec).back().shape) << ")\n";
        return 0;
    }
    auto bundle = build_and_load({spec}, target, dir, false);
    const convgen_kernel *k = bundle->find(key);
    if (!k) throw SpecError("run: kernel " + key + " missing from " + dir);
    if (!convgen_kernel_supported(k)) throw SpecError("run: this CPU cannot run target " + target.string);

    std::vector<convgen_named_tensor> named = named_tensors(params);
    convgen_params *prepared = nullptr;
    check_status(convgen_prepare_params(k, named.data(), int(named.size()), spec.eps, &prepared), o.params);
    const auto args = kernel_args(spec);
    Tensor out{args.back().shape, {}};
    int64_t elems = 1;
    for (int64_t d : out.shape) elems *= d;
    out.data.assign(size_t(elems), 0.f);
    const convgen_layout layout = layout_of(spec);
    convgen_tensor in_t = host_tensor(input.data.data(), input.shape, layout);
    convgen_tensor out_t = host_tensor(out.data.data(), out.shape, layout);
    convgen_status st = convgen_run(k, prepared, &in_t, &out_t);
    convgen_params_free(prepared);
    check_status(st, o.input);
    write_npy(o.output, out);
    std::cerr << "ran " << key << ": " << o.input << " -> " << o.output << " (" << dims_str(out.shape) << ")\n";
    return 0;
}

int cmd_check(const CheckOptions &o) {
    const ResolvedTarget target = resolve_target(o.target);
    std::vector<LayerSpec> layers = load_layers(o.src);
    for (LayerSpec &s : layers) s = specialize(s, target);
    auto bundle = build_and_load(layers, target, o.work_dir, o.verbose);

    std::printf("convgen check: %zu layer(s), target %s (%s), Halide %s\n", layers.size(), target.key.c_str(),
                target.string.c_str(), halide_version().c_str());
    std::printf("%-6s %-9s %-16s %-16s %9s %10s %9s %10s %10s  %s\n", "layer", "kind", "input", "output", "MFLOP",
                "median_us", "GFLOP/s", "max_err", "tol", "result");
    int failed = 0, passed = 0;
    for (const LayerSpec &spec : layers) {
        const std::string key = kernel_key(spec, target.key);
        const convgen_kernel *k = bundle->find(key);
        const auto args = kernel_args(spec);
        const Counts c = count(spec);
        std::string result;
        double median_us = 0;
        Comparison cmp{};
        if (!k || !convgen_kernel_supported(k)) {
            result = "[SKIP] CPU lacks " + target.string;
        } else {
            PreparedCall call(k, spec, o.seed, key);
            std::vector<double> times;
            for (int i = 0; i < std::max(1, o.iterations); i++) {
                auto t0 = std::chrono::steady_clock::now();
                convgen_status st = call.run(k);
                times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
                check_status(st, key);
            }
            std::sort(times.begin(), times.end());
            median_us = times[times.size() / 2];
            cmp = compare(call.output, reference_forward(spec, call.input, call.params), tolerance(spec));
            result = cmp.ok ? "PASS" : "FAIL";
        }
        (result == "FAIL" ? failed : passed) += result == "PASS" || result == "FAIL";
        std::printf("%-6s %-9s %-16s %-16s %9.2f %10.1f %9.1f %10.2e %10.2e  %s\n",
                    spec.name.empty() ? "-" : spec.name.c_str(), to_string(spec.kind), dims_str(args.front().shape).c_str(),
                    dims_str(args.back().shape).c_str(), c.flops / 1e6, median_us,
                    median_us > 0 ? c.flops / median_us / 1e3 : 0.0, cmp.max_abs_err, cmp.tol, result.c_str());
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

int cmd_targets() {
    std::printf("%-14s %-34s %s\n", "key", "Halide target", "description");
    for (const TargetRow &row : target_table()) std::printf("%-14s %-34s %s\n", row.key, row.halide, row.description);
    std::printf("host resolves to: %s\n", resolve_target("host").key.c_str());
    return 0;
}

}  // namespace convgen
