// Halide's own autoschedulers over convgen's algorithms (schedule.h apply_autoscheduler), which
// `convgen tune --compare` measures beside the hand and tuned schedules. The plugins ship in the
// Halide wheel beside libHalide.so; the algorithms already carry the estimates they need
// (fixed-shape params and output, generator/algorithms/common.cpp).
//
// Settings keep each search under a minute and a few GB on the suite's largest layers:
// Adams2019's beam search at its default width (32) ran past 120 s (and 4 GB) on R1 (Winograd)
// and R4 (7x7 stride 2 on 224x224) and explodes on the fused dwsep pipeline (7 GB with Halide
// 14), and on a pointwise 256->64 56x56 layer its kernel was 8x slower than the greedy search's
// (17.6 vs 2.1 ms, measured on a Xeon): it runs greedily (beam_size=1).
#include "schedules/schedule.h"

#include <dlfcn.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

namespace convgen {

namespace {

struct Autoscheduler {
    const char *name;    // Halide's name of the plugin's scheduler
    const char *plugin;  // the library in the wheel's lib folder
};
constexpr Autoscheduler kAutoschedulers[] = {
    {"Adams2019", "libautoschedule_adams2019.so"},
    {"Mullapudi2016", "libautoschedule_mullapudi2016.so"},
    {"Li2018", "libautoschedule_li2018.so"},
};

// The folder of the libHalide.so this process runs.
std::filesystem::path halide_lib_dir() {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void *>(&Halide::load_plugin), &info) || !info.dli_fname)
        throw std::runtime_error("autoscheduler: cannot tell where libHalide is loaded from");
    return std::filesystem::path(info.dli_fname).parent_path();
}

const Autoscheduler &find(const std::string &name) {
    for (const Autoscheduler &a : kAutoschedulers)
        if (name == a.name) return a;
    std::string known;
    for (const Autoscheduler &a : kAutoschedulers) known += std::string(known.empty() ? "" : ", ") + a.name;
    throw SpecError("autoscheduler: unknown name '" + name + "' (known: " + known + ")");
}

}  // namespace

std::vector<std::string> autoscheduler_names() {
    std::vector<std::string> names;
    for (const Autoscheduler &a : kAutoschedulers) names.push_back(a.name);
    return names;
}

void apply_autoscheduler(Algorithm &alg, const Halide::Target &target, const TargetFacts &facts,
                         const std::string &name) {
    const Autoscheduler &a = find(name);
    if (target.has_gpu_feature()) throw SpecError("autoscheduler: " + name + " is compared on CPU targets only");
    static std::mutex loading;
    static std::map<std::string, bool> loaded;
    {
        std::lock_guard<std::mutex> lock(loading);
        if (!loaded[a.name]) {
            const std::filesystem::path lib = halide_lib_dir() / a.plugin;
            if (!std::filesystem::exists(lib)) throw std::runtime_error("autoscheduler: " + lib.string() + " is missing");
            Halide::load_plugin(lib.string());
            loaded[a.name] = true;
        }
    }
    std::map<std::string, std::string> extra{{"parallelism", std::to_string(facts.cores)}};
    if (name == "Adams2019") extra["beam_size"] = "1";
    if (name == "Mullapudi2016")
        extra["last_level_cache_size"] = std::to_string(facts.l3_bytes > 0 ? facts.l3_bytes : facts.l2_bytes);
    Halide::Pipeline(alg.output).apply_autoscheduler(target, Halide::AutoschedulerParams(a.name, extra));
}

}  // namespace convgen
