// apply_schedule: the one place that chooses where a layer's schedule comes from.
//
// Order (schedule.h): a tuned record for (kernel key, target, Halide version) first, then the
// hand schedule of the target's family, then an autoscheduler. Today only the hand schedules
// exist: x86 (AVX2 / AVX-512) has one per kind in schedules/x86/; other families are an error
// until their folders land (ARM NEON, CUDA).
#include "schedules/schedule.h"

#include <map>
#include <string>
#include <vector>

namespace convgen {

const char *to_string(ScheduleSource s) {
    switch (s) {
    case ScheduleSource::Tuned: return "tuned";
    case ScheduleSource::Hand: return "hand";
    case ScheduleSource::Autoscheduler: return "autoscheduler";
    }
    return "unknown";
}

namespace {

const char *arch_name(Halide::Target::Arch a) {
    switch (a) {
    case Halide::Target::X86: return "x86";
    case Halide::Target::ARM: return "arm";
    case Halide::Target::POWERPC: return "powerpc";
    case Halide::Target::WebAssembly: return "wasm";
    case Halide::Target::RISCV: return "riscv";
    default: return "unknown";
    }
}

// The table of target families with hand schedules. Adding a family: its schedules/<family>/
// folder, its declarations in schedule.h, one row here, and its rows in generator/targets.cpp.
struct Family {
    const char *name;
    bool (*matches)(const Halide::Target &t);
    void (*schedule[4])(Algorithm &, const Halide::Target &);  // indexed by Kind
    void (*winograd)(Algorithm &, const Halide::Target &);     // conv with algo=winograd; may be null
    int (*weight_block)(const LayerSpec &, const Halide::Target &);  // LayerSpec::pw_block; may be null (IO)
};

const Family kFamilies[] = {
    {"x86", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && !t.has_gpu_feature(); },
     {x86::schedule_conv, x86::schedule_pointwise, x86::schedule_depthwise, x86::schedule_dwsep},
     x86::schedule_winograd, x86::pointwise_weight_block},
    {"arm", [](const Halide::Target &t) { return t.arch == Halide::Target::ARM && t.bits == 64 && !t.has_gpu_feature(); },
     {arm::schedule_conv, arm::schedule_pointwise, arm::schedule_depthwise, arm::schedule_dwsep}, nullptr, nullptr},
    {"cuda", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && t.has_feature(Halide::Target::CUDA); },
     {cuda::schedule_conv, cuda::schedule_pointwise, cuda::schedule_depthwise, cuda::schedule_dwsep}, nullptr, nullptr},
};

// Layers below this much work run on the calling thread. Each parallel loop costs a fork and a
// join, ~3 us on the shared 2-core Zen4 once Halide's worker has gone to sleep between calls,
// which is the time one core needs for ~0.35 MFLOP; a two-core split saves half the arithmetic.
// Measured (convgen_bench --layers bench/tiny_layers.tsv, us per call, 1 thread vs 2 threads):
// dwsep 0.51 MFLOP 5.3 vs 16.0, conv 0.29 MFLOP 1.6 vs 4.5, depthwise 0.23 MFLOP 2.2 vs 4.4,
// pointwise 0.40 MFLOP 3.7 vs 3.2, pointwise 0.90 MFLOP 8.2 vs 5.1.
constexpr int64_t kMinParallelFlops = 600 * 1000;

// Turns every parallel loop of the pipeline that computes `output` into a serial one, after the
// family's schedule has chosen them (one place instead of a condition at each parallel()).
void run_on_calling_thread(const Halide::Func &output) {
    using namespace Halide::Internal;
    auto serialize = [](StageSchedule schedule) {
        for (Dim &d : schedule.dims())
            if (d.for_type == ForType::Parallel) d.for_type = ForType::Serial;
    };
    // The pipeline's Funcs, and the wrappers that .in() made of them (not in the call graph).
    std::map<std::string, Function> funcs{{output.name(), output.function()}};
    std::vector<Function> todo{output.function()};
    while (!todo.empty()) {
        Function f = todo.back();
        todo.pop_back();
        std::map<std::string, Function> next = find_transitive_calls(f);
        for (const auto &w : f.wrappers()) next.emplace(Function(w.second).name(), Function(w.second));
        for (const auto &[name, g] : next)
            if (funcs.emplace(name, g).second) todo.push_back(g);
    }
    for (auto &[name, f] : funcs) {
        serialize(f.definition().schedule());
        for (int i = 0; i < int(f.updates().size()); i++) serialize(f.update(i).schedule());
    }
}

const Family *family_of(const Halide::Target &t) {
    for (const Family &f : kFamilies)
        if (f.matches(t)) return &f;
    return nullptr;
}

}  // namespace

bool has_hand_schedules(const Halide::Target &target) { return family_of(target) != nullptr; }

// algo=auto -> Winograd (F(4,3) or F(2,3): winograd_tile() in generator/layer_spec.h) when the
// shape is eligible (3x3, stride 1, dilation 1, groups 1), the target's family has a Winograd
// schedule (x86 only) and both channel counts are >= 16; otherwise direct. Channels: the
// transforms cost O(c + cout) per tile against the O(c * cout) product they shrink, so few
// channels leave little to save. Measured with convgen_bench --threads 1 (README, Benchmark;
// numbers in schedules/x86/winograd.cpp).
Algo choose_algorithm(const LayerSpec &spec, const Halide::Target &target) {
    if (spec.algo != Algo::Auto) return spec.algo;
    const Family *f = family_of(target);
    const bool wins = spec.c >= 16 && spec.cout >= 16;
    return winograd_eligible(spec) && f && f->winograd && wins ? Algo::Winograd : Algo::Direct;
}

int choose_weight_block(const LayerSpec &spec, const Halide::Target &target) {
    if (spec.kind != Kind::Pointwise && spec.kind != Kind::Dwsep) return 0;
    const Family *f = family_of(target);
    return f && f->weight_block ? f->weight_block(spec, target) : 0;
}

ScheduleSource apply_schedule(Algorithm &alg, const Halide::Target &target) {
    // 1. Tuned records: no autotuner yet.
    // 2. Hand schedules, by family.
    if (const Family *f = family_of(target)) {
        if (alg.spec.algo == Algo::Winograd) {
            if (!f->winograd)
                throw SpecError(std::string("layer: algo=winograd has no schedule for target family ") + f->name +
                                " (target " + target.to_string() + "); use algo=direct or auto");
            f->winograd(alg, target);
        } else {
            f->schedule[int(alg.spec.kind)](alg, target);
        }
        if (!target.has_gpu_feature() && count(alg.spec).flops < kMinParallelFlops) run_on_calling_thread(alg.output);
        return ScheduleSource::Hand;
    }
    // 3. Autoscheduler: not wired yet; say which family lacks a schedule.
    throw SpecError(std::string("no schedule for target family ") + arch_name(target.arch) +
                    (target.has_gpu_feature() ? " (gpu)" : "") + " (target " + target.to_string() +
                    ")");
}

}  // namespace convgen
