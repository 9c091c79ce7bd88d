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
};

const Family kFamilies[] = {
    {"x86", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && !t.has_gpu_feature(); },
     {x86::schedule_conv, x86::schedule_pointwise, x86::schedule_depthwise, x86::schedule_dwsep}},
    {"arm", [](const Halide::Target &t) { return t.arch == Halide::Target::ARM && t.bits == 64 && !t.has_gpu_feature(); },
     {arm::schedule_conv, arm::schedule_pointwise, arm::schedule_depthwise, arm::schedule_dwsep}},
    {"cuda", [](const Halide::Target &t) { return t.arch == Halide::Target::X86 && t.has_feature(Halide::Target::CUDA); },
     {cuda::schedule_conv, cuda::schedule_pointwise, cuda::schedule_depthwise, cuda::schedule_dwsep}},
};

const Family *family_of(const Halide::Target &t) {
    for (const Family &f : kFamilies)
        if (f.matches(t)) return &f;
    return nullptr;
}

}  // namespace

bool has_hand_schedules(const Halide::Target &target) { return family_of(target) != nullptr; }

ScheduleSource apply_schedule(Algorithm &alg, const Halide::Target &target) {
    // 1. Tuned records: no autotuner yet.
    // 2. Hand schedules, by family.
    if (const Family *f = family_of(target)) {
        f->schedule[int(alg.spec.kind)](alg, target);
        return ScheduleSource::Hand;
    }
    // 3. Autoscheduler: not wired yet; say which family lacks a schedule.
    throw SpecError(std::string("no schedule for target family ") + arch_name(target.arch) +
                    (target.has_gpu_feature() ? " (gpu)" : "") + " (target " + target.to_string() +
                    ")");
}

}  // namespace convgen
