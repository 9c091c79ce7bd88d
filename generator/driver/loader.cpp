// LoadedBundle (see loader.h).
#include "generator/driver/loader.h"

#include "generator/spec/layer_spec.h"
#include "generator/driver/manifest.h"
#include "generator/driver/process.h"
#include "generator/harness/runtime_bridge.h"

#include "Halide.h"

#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace convgen {

struct LoadedBundle::Entry {
    std::string key, target;
    std::vector<std::string> names, layouts;  // storage for args[i].name / .layout
    std::vector<convgen_arg_info> args;
    std::vector<double> weight_transform;  // storage for kernel.weight_transform
    std::vector<uint64_t> features;        // storage for kernel.features
    convgen_kernel kernel{};
};

namespace {

// $CC split at blanks (e.g. "ccache gcc"), else cc.
std::vector<std::string> c_compiler() {
    const char *cc = std::getenv("CC");
    std::vector<std::string> words;
    std::istringstream in(cc ? cc : "");
    for (std::string w; in >> w;) words.push_back(w);
    if (words.empty()) words.push_back("cc");
    return words;
}

}  // namespace

LoadedBundle::LoadedBundle(const std::string &dir) {
    manifest_ = read_manifest(dir);
    const fs::path lib = fs::path(dir) / manifest_.value("library", "");
    const fs::path so = fs::path(dir) / (manifest_.value("bundle", "kernels") + ".so");
    // Relink when the bundle is newer than the shared object (or it does not exist yet).
    std::error_code ec;
    if (!fs::exists(so) || fs::last_write_time(so, ec) < fs::last_write_time(lib, ec)) {
        const std::string tmp = so.string() + ".tmp." + std::to_string(getpid());
        std::vector<std::string> cmd = c_compiler();
        for (const char *arg : {"-shared", "-Wl,-Bsymbolic", "-o"}) cmd.push_back(arg);
        cmd.insert(cmd.end(), {tmp, "-Wl,--whole-archive", lib.string(), "-Wl,--no-whole-archive", "-lpthread",
                               "-ldl", "-lm"});
        const ProcessResult r = run_process(cmd);
        if (!r.ok()) {
            fs::remove(tmp, ec);
            throw ToolError(tool_failure(cmd, r, "linking the kernels into a shared object ($CC)"));
        }
        fs::rename(tmp, so);
    }
    handle_ = dlopen(fs::absolute(so).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) throw SpecError(std::string("loader: dlopen failed: ") + dlerror());
    auto set_handler = reinterpret_cast<convgen_set_error_handler_fn>(dlsym(handle_, "halide_set_error_handler"));
    auto copy_to_host = reinterpret_cast<convgen_halide_buffer_fn>(dlsym(handle_, "halide_copy_to_host"));
    auto device_free = reinterpret_cast<convgen_halide_buffer_fn>(dlsym(handle_, "halide_device_free"));
    auto can_use = reinterpret_cast<int (*)(int, const uint64_t *)>(dlsym(handle_, "halide_can_use_target_features"));

    for (const auto &k : manifest_["kernels"]) {
        auto e = std::make_unique<Entry>();
        e->key = k["key"];
        e->target = k["target"];
        for (const auto &a : k["args"]) {
            e->names.push_back(a["name"]);
            e->layouts.push_back(a["layout"]);
        }
        for (size_t i = 0; i < e->names.size(); i++) {
            convgen_arg_info info{};
            const auto &shape = k["args"][i]["shape"];
            info.name = e->names[i].c_str();
            info.layout = e->layouts[i].c_str();
            info.ndim = int(shape.size());
            for (size_t d = 0; d < shape.size() && d < CONVGEN_MAX_DIMS; d++) info.shape[d] = shape[d];
            e->args.push_back(info);
        }
        const auto &l = k["layer"];
        convgen_layer &L = e->kernel.layer;
        L.kind = convgen_kind(kind_named(l["kind"]));
        L.n = l["n"], L.c = l["c"], L.h = l["h"], L.w = l["w"], L.cout = l["cout"], L.kh = l["kh"], L.kw = l["kw"];
        L.sh = l["sh"], L.sw = l["sw"], L.pad_t = l["pad"][0], L.pad_l = l["pad"][1], L.pad_b = l["pad"][2];
        L.pad_r = l["pad"][3], L.dh = l["dh"], L.dw = l["dw"], L.groups = l["groups"], L.multiplier = l["multiplier"];
        L.bias = l["bias"].get<bool>();
        L.act = convgen_act(act_named(l["act"]));
        // dwsep's depthwise-stage activation, when the manifest names one other than act.
        const Act dw_act = act_named(l.value("dw_act", l["act"].get<std::string>()));
        L.dw_act = int(dw_act) == int(L.act) ? CONVGEN_DW_ACT_SAME : convgen_dw_act(int(dw_act) + 1);
        L.layout = convgen_layout(layout_named(l["layout"]));
        L.algo = l.value("algo", 0);
        e->kernel.key = e->key.c_str();
        e->kernel.target = e->target.c_str();
        e->kernel.num_args = int(e->args.size());
        e->kernel.args = e->args.data();
        e->kernel.argv_fn = reinterpret_cast<int (*)(void **)>(dlsym(handle_, (e->key + "_argv").c_str()));
        e->kernel.set_error_handler = set_handler;
        e->kernel.copy_to_host = copy_to_host;
        e->kernel.device_free = device_free;
        // What the generated registry says of the target (manifest.cpp registry_source): its
        // Halide feature bitmask, checked by the bundle's runtime, and its natural f32 vector width.
        const Halide::Target target(e->target);
        e->features = target_feature_words(target);
        e->kernel.feature_words = int(e->features.size());
        e->kernel.features = e->features.data();
        e->kernel.can_use_target_features = can_use;
        e->kernel.natural_vector_bits = target.natural_vector_size(Halide::Float(32)) * 32;
        if (k.contains("weight_transform")) {
            e->weight_transform = k["weight_transform"].get<std::vector<double>>();
            e->kernel.weight_transform = e->weight_transform.data();
        }
        if (!e->kernel.argv_fn) throw SpecError("loader: " + so.string() + " has no symbol " + e->key + "_argv");
        entries_.push_back(std::move(e));
    }
}

// The library stays loaded: Halide's runtime keeps worker threads parked inside its code, so
// unmapping it while the process runs would pull the code out from under them.
LoadedBundle::~LoadedBundle() = default;

const convgen_kernel *LoadedBundle::find(const std::string &key) const {
    for (const auto &e : entries_)
        if (e->key == key) return &e->kernel;
    return nullptr;
}

}  // namespace convgen
