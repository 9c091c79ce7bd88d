// manifest.json and convgen_registry.c (see manifest.h).
#include "generator/driver/manifest.h"

#include "generator/algorithms/algorithm.h"

#include <fstream>
#include <iomanip>
#include <sstream>

#ifndef CONVGEN_VERSION
#error "CONVGEN_VERSION must be defined by the build"
#endif

namespace convgen {

std::string convgen_version() { return CONVGEN_VERSION; }

std::string halide_version() {
    return std::to_string(HALIDE_VERSION_MAJOR) + "." + std::to_string(HALIDE_VERSION_MINOR) + "." +
           std::to_string(HALIDE_VERSION_PATCH);
}

namespace {

nlohmann::json layer_json(const LayerSpec &s) {
    return {{"kind", to_string(s.kind)}, {"n", s.n}, {"c", s.c}, {"h", s.h}, {"w", s.w}, {"cout", s.cout},
            {"kh", s.kh}, {"kw", s.kw}, {"sh", s.sh}, {"sw", s.sw}, {"pad", {s.pad_t, s.pad_l, s.pad_b, s.pad_r}},
            {"dh", s.dh}, {"dw", s.dw}, {"groups", s.groups}, {"multiplier", s.multiplier}, {"bias", s.bias},
            {"act", to_string(s.act)}, {"dw_act", to_string(s.dw_stage_act())}, {"layout", to_string(s.layout)}, {"dtype", "f32"}, {"eps", s.eps},
            {"algo", s.algo == Algo::Winograd ? 1 : 0}};
}

// A Winograd kernel's weight transform G (winograd.cpp), which the runtime packs the weights
// with; empty for other kernels.
std::vector<double> weight_transform(const LayerSpec &s) {
    return s.algo == Algo::Winograd ? winograd_weight_transform(winograd_tile(s)) : std::vector<double>{};
}

// The C enumerators of convgen.h, from the same lists as the C++ enums (layer_enums.h).
#define CONVGEN_X(c, cpp, name) #c,
std::string c_enum(Kind k) {
    static const char *names[] = {CONVGEN_KIND_LIST(CONVGEN_X)};
    return std::string("CONVGEN_KIND_") + names[int(k)];
}
std::string c_enum(Act a) {
    static const char *names[] = {CONVGEN_ACT_LIST(CONVGEN_X)};
    return std::string("CONVGEN_ACT_") + names[int(a)];
}
std::string c_enum(Layout l) {
    static const char *names[] = {CONVGEN_ACTIVATION_LAYOUT_LIST(CONVGEN_X)};
    return std::string("CONVGEN_LAYOUT_") + names[int(l)];
}
// dwsep's depthwise-stage activation (convgen.h convgen_dw_act): SAME unless the layer has its own.
std::string c_dw_act(const LayerSpec &s) {
    static const char *names[] = {CONVGEN_ACT_LIST(CONVGEN_X)};
    return s.dw_act ? std::string("CONVGEN_DW_ACT_") + names[int(*s.dw_act)] : "CONVGEN_DW_ACT_SAME";
}
#undef CONVGEN_X

}  // namespace

nlohmann::json manifest_json(const GenerateResult &r, const GenerateOptions &o) {
    nlohmann::json kernels = nlohmann::json::array();
    for (const KernelRecord &k : r.kernels) {
        const Counts c = count(k.spec);
        nlohmann::json args = nlohmann::json::array();
        for (const ArgInfo &a : kernel_args(k.spec))
            args.push_back({{"name", a.name}, {"layout", a.layout}, {"shape", a.shape}, {"output", a.is_output}});
        nlohmann::json files = {{"object", object_file(k.key)}, {"header", header_file(k.key)}};
        if (o.assembly) files["assembly"] = k.key + ".s";
        if (o.stmt) files["stmt"] = k.key + ".stmt";
        kernels.push_back({{"key", k.key},
                           {"name", k.spec.name},
                           {"spec", to_text(k.spec)},
                           {"layer", layer_json(k.spec)},
                           {"target", k.target.string},
                           {"target_key", k.target.key},
                           {"symbol", k.key},
                           {"argv_symbol", k.key + "_argv"},
                           {"args", args},
                           {"files", files},
                           {"schedule", {{"source", to_string(k.schedule.source)},
                                         {"choice", to_text(k.schedule.choice)},
                                         {"facts", to_text(k.target.facts)}}},
                           {"macs", c.macs},
                           {"flops", c.flops},
                           {"bytes", c.bytes},
                           {"params", c.params},
                           {"fingerprint", k.fingerprint}});
        if (k.spec.algo == Algo::Winograd) kernels.back()["weight_transform"] = weight_transform(k.spec);
        if (!k.record.empty()) kernels.back()["schedule"]["record"] = k.record;
        if (!k.schedule.autoscheduler.empty()) kernels.back()["schedule"]["autoscheduler"] = k.schedule.autoscheduler;
    }
    nlohmann::json runtimes = nlohmann::json::array();
    for (const auto &rt : r.runtimes)
        runtimes.push_back({{"target", rt.target}, {"object", rt.object}, {"fingerprint", rt.fingerprint}});
    return {{"convgen_version", convgen_version()},
            {"halide_version", halide_version()},
            {"bundle", o.bundle},
            {"library", "lib" + o.bundle + ".a"},
            {"registry", "convgen_registry.c"},
            {"register_function", "convgen_register_" + o.bundle},
            {"runtimes", runtimes},
            {"kernels", kernels}};
}

std::vector<uint64_t> target_feature_words(const Halide::Target &t) {
    std::vector<uint64_t> words((Halide::Target::FeatureEnd + 63) / 64, 0);
    for (int f = 0; f < Halide::Target::FeatureEnd; f++)
        if (t.has_feature(Halide::Target::Feature(f))) words[f / 64] |= uint64_t(1) << (f % 64);
    return words;
}

std::string registry_source(const GenerateResult &r, const GenerateOptions &o) {
    std::ostringstream c;
    c << "/* The kernel table of bundle '" << o.bundle << "', generated by convgen " << convgen_version()
      << " (Halide " << halide_version() << "). Do not edit.\n"
      << " * Compile this file and link lib" << o.bundle << ".a and the convgen runtime. The table registers\n"
      << " * itself at load time; call convgen_register_" << o.bundle << "() where static initializers are dropped. */\n"
      << "#include <convgen/convgen.h>\n\n"
      << "extern convgen_halide_error_handler halide_set_error_handler(convgen_halide_error_handler handler);\n"
      << "/* The runtime's device functions (declared with void * for its halide_buffer_t *): convgen_run\n"
      << " * copies GPU results back and frees device copies with them; no-ops for CPU kernels. */\n"
      << "extern int halide_copy_to_host(void *user_context, void *buffer);\n"
      << "extern int halide_device_free(void *user_context, void *buffer);\n"
      << "/* The runtime's check of a feature bitmask against this CPU (cpuid, hwcaps):\n"
      << " * convgen_kernel_supported asks it about each kernel's <key>_features. */\n"
      << "extern int halide_can_use_target_features(int count, const uint64_t *features);\n\n";
    // A target's feature bitmask as halide_can_use_target_features takes it (Halide's Feature and
    // the runtime's halide_target_feature_t share their numbering), with the features' names.
    const int feature_words = int(target_feature_words(Halide::Target()).size());
    auto features = [](const Halide::Target &t) {
        const std::vector<uint64_t> words = target_feature_words(t);
        std::string names;
        for (int f = 0; f < Halide::Target::FeatureEnd; f++)
            if (t.has_feature(Halide::Target::Feature(f)))
                names += " " + Halide::Target::feature_to_name(Halide::Target::Feature(f));
        std::ostringstream text;
        text << "{" << std::hex;
        for (size_t i = 0; i < words.size(); i++) text << (i ? ", " : "") << "0x" << words[i] << "ull";
        text << "}; /*" << (names.empty() ? " none" : names) << " */";
        return text.str();
    };
    bool any_cuda = false;
    for (const KernelRecord &k : r.kernels) any_cuda |= k.target.target.has_feature(Halide::Target::CUDA);
    if (any_cuda)
        c << "/* The CUDA functions of the runtime (HalideRuntimeCuda.h, halide_buffer_t * as void *): convgen_run\n"
          << " * wraps CUDA tensors and resident parameters with them and installs its context and stream hooks. */\n"
          << "extern int halide_cuda_wrap_device_ptr(void *user_context, void *buffer, uint64_t device_ptr);\n"
          << "extern int halide_cuda_detach_device_ptr(void *user_context, void *buffer);\n"
          << "extern convgen_cuda_acquire_context_fn halide_set_cuda_acquire_context(convgen_cuda_acquire_context_fn);\n"
          << "extern convgen_cuda_release_context_fn halide_set_cuda_release_context(convgen_cuda_release_context_fn);\n"
          << "extern convgen_cuda_get_stream_fn halide_set_cuda_get_stream(convgen_cuda_get_stream_fn);\n"
          << "static const convgen_cuda_runtime cuda_runtime = {halide_cuda_wrap_device_ptr, halide_cuda_detach_device_ptr,\n"
          << "    halide_set_cuda_acquire_context, halide_set_cuda_release_context, halide_set_cuda_get_stream};\n\n";
    for (const KernelRecord &k : r.kernels) {
        c << "extern int " << k.key << "_argv(void **args);\n";
        c << "static const convgen_arg_info " << k.key << "_args[] = {\n";
        for (const ArgInfo &a : kernel_args(k.spec)) {
            c << "    {\"" << a.name << "\", \"" << a.layout << "\", " << a.shape.size() << ", {";
            for (size_t i = 0; i < a.shape.size(); i++) c << (i ? ", " : "") << a.shape[i];
            c << "}},\n";
        }
        c << "};\n";
        const std::vector<double> g = weight_transform(k.spec);
        if (!g.empty()) {
            c << "static const double " << k.key << "_weight_transform[] = {" << std::setprecision(17);
            for (size_t i = 0; i < g.size(); i++) c << (i ? ", " : "") << g[i];
            c << "};\n";
        }
        c << "static const uint64_t " << k.key << "_features[" << feature_words << "] = " << features(k.target.target)
          << "\n";
    }
    c << "\nstatic const convgen_kernel kernels[] = {\n";
    for (const KernelRecord &k : r.kernels) {
        const LayerSpec &s = k.spec;
        c << "    {\"" << k.key << "\", \"" << k.target.string << "\",\n"
          << "     {" << c_enum(s.kind) << ", " << s.n << ", " << s.c << ", " << s.h << ", " << s.w << ", " << s.cout << ", "
          << s.kh << ", " << s.kw << ", " << s.sh << ", " << s.sw << ", " << s.pad_t << ", " << s.pad_l << ", " << s.pad_b
          << ", " << s.pad_r << ", " << s.dh << ", " << s.dw << ", " << s.groups << ", " << s.multiplier << ", "
          << int(s.bias) << ", " << c_enum(s.act) << ", " << c_enum(s.layout) << ", "
          << (s.algo == Algo::Winograd ? 1 : 0) << ", " << c_dw_act(s) << "},\n"
          << "     " << kernel_args(s).size() << ", " << k.key << "_args, " << k.key << "_argv, halide_set_error_handler,\n"
          << "     halide_copy_to_host, halide_device_free, "
          << (k.target.target.has_feature(Halide::Target::CUDA) ? "&cuda_runtime" : "NULL") << ", "
          << (k.spec.algo == Algo::Winograd ? k.key + "_weight_transform" : std::string("NULL")) << ",\n"
          << "     " << feature_words << ", " << k.key << "_features, halide_can_use_target_features, "
          << k.target.target.natural_vector_size(Halide::Float(32)) * 32 << "},\n";
    }
    c << "};\n\n"
      << "void convgen_register_" << o.bundle << "(void) {\n"
      << "    convgen_register_kernels(kernels, (int)(sizeof kernels / sizeof kernels[0]));\n}\n\n"
      << "__attribute__((constructor)) static void convgen_auto_register(void) { convgen_register_" << o.bundle
      << "(); }\n";
    return c.str();
}

nlohmann::json read_manifest(const std::string &dir, bool missing_ok) {
    const std::string path = dir + "/manifest.json";
    std::ifstream f(path);
    if (!f) {
        if (missing_ok) return nullptr;
        throw SpecError(path + ": cannot open manifest");
    }
    try {
        nlohmann::json j = nlohmann::json::parse(f);
        if (!j.is_object() || !j.contains("kernels") || !j["kernels"].is_array())
            throw SpecError(path + ": not a convgen manifest (no 'kernels' array)");
        return j;
    } catch (const nlohmann::json::exception &e) {
        if (missing_ok) return nullptr;  // a corrupt manifest only disables reuse
        throw SpecError(path + ": invalid manifest: " + e.what());
    }
}

}  // namespace convgen
