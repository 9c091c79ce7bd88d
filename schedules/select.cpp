// apply_schedule: the one place that chooses where a layer's schedule comes from.
//
// Order (schedule.h): a tuned record for (kernel key, target, Halide version) first, then the
// hand schedule of the target's family, then an autoscheduler. Today only the hand schedules
// exist: x86 (AVX2 / AVX-512) has one per kind in schedules/x86/; other families are an error
// until their folders land (ARM NEON, CUDA).
#include "schedule.h"

#include <string>

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
};

const Family kFamilies[] = {
    {"x86", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && !t.has_gpu_feature(); },
     {x86::schedule_conv, x86::schedule_pointwise, x86::schedule_depthwise, x86::schedule_dwsep},
     x86::schedule_winograd},
    {"arm", [](const Halide::Target &t) { return t.arch == Halide::Target::ARM && t.bits == 64 && !t.has_gpu_feature(); },
     {arm::schedule_conv, arm::schedule_pointwise, arm::schedule_depthwise, arm::schedule_dwsep}, nullptr},
    {"cuda", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && t.has_feature(Halide::Target::CUDA); },
     {cuda::schedule_conv, cuda::schedule_pointwise, cuda::schedule_depthwise, cuda::schedule_dwsep}, nullptr},
};

const Family *family_of(const Halide::Target &t) {
    for (const Family &f : kFamilies)
        if (f.matches(t)) return &f;
    return nullptr;
}

}  // namespace

bool has_hand_schedules(const Halide::Target &target) { return family_of(target) != nullptr; }

// algo=auto -> Winograd (F(4,3) or F(2,3), generator/layer_spec.h winograd_tile) when the shape is eligible (3x3, stride 1, dilation 1, groups 1),
// the target's family has a Winograd schedule (x86 only) and both channel counts are >= 16;
// otherwise direct. Channels: the transforms cost O(c + cout) per tile against the O(c * cout)
// product they shrink, so few channels leave little to save. Measured with convgen_bench
// --threads 1 (README, Benchmark; numbers in schedules/x86/winograd.cpp).
Algo choose_algorithm(const LayerSpec &spec, const Halide::Target &target) {
    if (spec.algo != Algo::Auto) return spec.algo;
    const Family *f = family_of(target);
    const bool wins = spec.c >= 16 && spec.cout >= 16;
    return winograd_eligible(spec) && f && f->winograd && wins ? Algo::Winograd : Algo::Direct;
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
        return ScheduleSource::Hand;
    }
    // 3. Autoscheduler: not wired yet; say which family lacks a schedule.
    throw SpecError(std::string("no schedule for target family ") + arch_name(target.arch) +
                    (target.has_gpu_feature() ? " (gpu)" : "") + " (target " + target.to_string() +
                    ")");
}

}  // namespace convgen
